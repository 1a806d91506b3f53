package dev.panthera.nn;

/** Entry point of the nn module; layers, adapters and optimizers arrive with the nn issue. */
public final class Nn {
    private Nn() {}
}
