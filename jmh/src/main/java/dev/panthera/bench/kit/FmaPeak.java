package dev.panthera.bench.kit;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The FMA-peak anchor's kernel: twelve independent chains of fused multiply-adds on registers only (no memory
 * traffic; twelve chains cover the FMA latency on two FMA ports), {@link #STEPS} steps per call with the preferred
 * vector width. A compute-bound kernel's GFLOP/s over this loop's, measured in the same run, is the figure to compare
 * across machines.
 */
public final class FmaPeak {
    private FmaPeak() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Steps of the twelve chains per call. */
    public static final int STEPS = 100_000;

    /** Flops of one call on each of {@code threads} threads: threads · STEPS · 12 chains · lanes · 2. */
    public static double flops(int threads) {
        return (double) threads * STEPS * 12 * F.length() * 2;
    }

    /** One call: the chains started from {@code seed} (vary it per call so nothing is hoisted); returns their sum. */
    public static float chains(float seed) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f), a = FloatVector.broadcast(F, 1e-7f);
        FloatVector c0 = FloatVector.broadcast(F, seed),
                c1 = c0.add(1),
                c2 = c0.add(2),
                c3 = c0.add(3),
                c4 = c0.add(4),
                c5 = c0.add(5);
        FloatVector c6 = c0.add(6), c7 = c0.add(7), c8 = c0.add(8), c9 = c0.add(9), c10 = c0.add(10), c11 = c0.add(11);
        for (int i = 0; i < STEPS; i++) {
            // the chain value is the addend, as in a GEMM accumulator (c·m + a with c the multiplicand compiled to
            // half this rate here)
            c0 = m.fma(a, c0);
            c1 = m.fma(a, c1);
            c2 = m.fma(a, c2);
            c3 = m.fma(a, c3);
            c4 = m.fma(a, c4);
            c5 = m.fma(a, c5);
            c6 = m.fma(a, c6);
            c7 = m.fma(a, c7);
            c8 = m.fma(a, c8);
            c9 = m.fma(a, c9);
            c10 = m.fma(a, c10);
            c11 = m.fma(a, c11);
        }
        return c0.add(c1)
                .add(c2)
                .add(c3)
                .add(c4)
                .add(c5)
                .add(c6)
                .add(c7)
                .add(c8)
                .add(c9)
                .add(c10)
                .add(c11)
                .reduceLanes(VectorOperators.ADD);
    }
}
