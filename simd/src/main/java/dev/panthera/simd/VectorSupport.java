package dev.panthera.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** What the Vector API offers on this machine. */
public final class VectorSupport {
    private VectorSupport() {}

    /** The preferred float species (8 lanes on AVX2, 16 on AVX-512). */
    public static final VectorSpecies<Float> FLOAT = FloatVector.SPECIES_PREFERRED;

    /** Float lanes per preferred vector. */
    public static int floatLanes() {
        return FLOAT.length();
    }
}
