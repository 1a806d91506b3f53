package dev.panthera.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one place this module picks its float species: the machine's preferred width, or {@code panthera.simd.bits}
 * (128, 256 or 512, at most the preferred width) as the simd module reads it. Kernels also take a species argument so
 * tests run every width on one machine.
 */
final class QuantLanes {
    private QuantLanes() {}

    static final VectorSpecies<Float> F = chosen();

    private static VectorSpecies<Float> chosen() {
        String bits = System.getProperty("panthera.simd.bits");
        VectorSpecies<Float> preferred = FloatVector.SPECIES_PREFERRED;
        if (bits == null || bits.isBlank()) return preferred;
        int b;
        try {
            b = Integer.parseInt(bits.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("panthera.simd.bits: expected 128, 256 or 512, got '" + bits + "'");
        }
        if ((b != 128 && b != 256 && b != 512) || b > preferred.vectorBitSize()) {
            throw new IllegalArgumentException("panthera.simd.bits: expected 128, 256 or 512 up to this machine's "
                    + preferred.vectorBitSize() + " bits, got " + b);
        }
        return VectorSpecies.of(float.class, VectorShape.forBitSize(b));
    }
}
