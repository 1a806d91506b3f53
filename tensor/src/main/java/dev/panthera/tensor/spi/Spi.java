package dev.panthera.tensor.spi;

final class Spi { private Spi() {} }
