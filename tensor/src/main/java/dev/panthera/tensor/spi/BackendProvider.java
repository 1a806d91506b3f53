package dev.panthera.tensor.spi;

import dev.panthera.tensor.Device;

/**
 * Found with {@link java.util.ServiceLoader}: makes a backend available when its requirements are met. For each
 * device kind, the available provider with the highest priority serves {@code Tensor} ops.
 */
public interface BackendProvider {
    /** A short name such as "reference", "simd" or "cuda". */
    String name();

    /** Higher wins among available providers for the same device. The reference backend has priority 0. */
    int priority();

    /** The device kind this provider serves. */
    Device.Kind deviceKind();

    /**
     * Whether this provider can work in this JVM. When it cannot, it logs one warning saying why (for example the
     * exact missing flag) and returns false; it never throws.
     */
    boolean isAvailable();

    /** The backend for {@code device}; called only when {@link #isAvailable()}. */
    Backend create(Device device);
}
