package dev.panthera.models;

/** Entry point of the models module; loaders and tokenizers arrive with their issue. */
public final class Models {
    private Models() {}
}
