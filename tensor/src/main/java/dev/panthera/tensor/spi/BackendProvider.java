package dev.panthera.tensor.spi;

/** Found with {@link java.util.ServiceLoader}: makes a backend available when its requirements are met. */
public interface BackendProvider {
    /** A short name such as "reference", "simd" or "cuda". */
    String name();
    /** Higher wins among available providers for the same device. */
    int priority();
    /** Whether this provider can work in this JVM (for example the Vector API module is present). */
    boolean isAvailable();
}
