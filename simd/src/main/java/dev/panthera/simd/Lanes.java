package dev.panthera.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one place the vector species are chosen. {@link #F} is the width every width-generic kernel runs at: the
 * preferred species of the machine, or the width set by the system property {@code panthera.simd.bits} (128, 256 or
 * 512, at most the preferred width) so tests can run the kernels at a narrower width. {@link #F256} and {@link #I256}
 * are for the GEMM kernels, whose register blocks are written for eight float lanes.
 */
final class Lanes {
    private Lanes() {}

    /** The float species of the width-generic kernels. */
    static final VectorSpecies<Float> F = chosen();

    /** Eight float lanes, for the GEMM micro-kernels and 16-bit weight conversions. */
    static final VectorSpecies<Float> F256 = FloatVector.SPECIES_256;

    /** Eight int lanes, beside {@link #F256}. */
    static final VectorSpecies<Integer> I256 = IntVector.SPECIES_256;

    /** Doubles in vectors of {@link #F}'s width (half its lanes). */
    static final VectorSpecies<Double> D = F.withLanes(double.class);

    /** Floats in vectors of half {@link #F}'s width: as many lanes as {@link #D}, widened to it in one step. */
    static final VectorSpecies<Float> H = VectorSpecies.of(float.class, VectorShape.forBitSize(F.vectorBitSize() / 2));

    /** The packed GEMM kernel's species: sixteen lanes where {@link #F} has them, else eight. */
    static final VectorSpecies<Float> PACKED = F.length() >= 16 ? FloatVector.SPECIES_512 : F256;

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
        if (b != 128 && b != 256 && b != 512)
            throw new IllegalArgumentException("panthera.simd.bits: expected 128, 256 or 512, got " + b);
        if (b > preferred.vectorBitSize())
            throw new IllegalArgumentException("panthera.simd.bits: " + b + " is wider than this machine's "
                    + preferred.vectorBitSize() + "-bit vectors");
        return VectorSpecies.of(float.class, VectorShape.forBitSize(b));
    }
}
