package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention scores S[r][j] = scale · Σ_e Q[r][e]·K[j][e] for head dimensions of at most {@link #MAX_D}, with the keys
 * across the vector lanes: the block of keys is copied into the heap and transposed ([e][j], one gather per vector
 * of keys and dimension), then each query row is d broadcast FMAs per vector of keys. SGEMM's skinny path takes the
 * head dimension as its dot length instead, which below the vector width is a scalar loop with a segment access per
 * element. Each score is the FMA chain over e in order, then the product with scale.
 */
final class SmallHeadScores {
    private SmallHeadScores() {}

    /** The largest head dimension served here; larger ones go through SGEMM. */
    static final int MAX_D = 16;

    private static final VectorSpecies<Float> F = Lanes.F;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** ACROSS[d][l] = l·d: a gather of one element from each of F.length() consecutive rows of d elements. */
    private static final int[][] ACROSS = new int[MAX_D + 1][];

    static {
        for (int d = 1; d <= MAX_D; d++) {
            ACROSS[d] = new int[F.length()];
            for (int l = 0; l < F.length(); l++) ACROSS[d][l] = l * d;
        }
    }

    /**
     * Per-thread scratch: the query rows, the key block as copied, the key block transposed, and the scores. Sized at
     * first use for blocks up to 512 keys at d = 16, so that a growing decode does not take the growth branches (a
     * branch never taken while a method was profiled is compiled as a trap, and taking it deoptimises the method).
     */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(
            () -> new float[][] {new float[1024], new float[8192], new float[8192], new float[8192]});

    /**
     * s[r·bk + j] = scale · Σ_{e &lt; d} q[qOff + r·qLd + e] · k[kOff + j·kLd + e] for r &lt; bq, j &lt; bk (elements,
     * F32; each row's d elements contiguous).
     */
    static void scores(
            int bq,
            int bk,
            int d,
            float scale,
            MemorySegment q,
            long qOff,
            long qLd,
            MemorySegment k,
            long kOff,
            long kLd,
            MemorySegment s) {
        float[][] sc = SCRATCH.get();
        if (sc[3].length < bq * bk) sc[3] = new float[bq * bk];
        scores(bq, bk, d, scale, q, qOff, qLd, k, kOff, kLd, sc[3]);
        MemorySegment.copy(sc[3], 0, s, FL, 0, bq * bk);
    }

    /** {@link #scores(int, int, int, float, MemorySegment, long, long, MemorySegment, long, long, MemorySegment)} into an array. */
    static void scores(
            int bq,
            int bk,
            int d,
            float scale,
            MemorySegment q,
            long qOff,
            long qLd,
            MemorySegment k,
            long kOff,
            long kLd,
            float[] s) {
        if (d < 1 || d > MAX_D) throw new IllegalArgumentException("attention scores: head dimension " + d);
        float[][] sc = SCRATCH.get();
        if (sc[0].length < bq * d) sc[0] = new float[bq * d];
        int L = F.length(), ld = (bk + L - 1) / L * L; // kt's row stride: whole vectors, the padding lanes zero
        // kb padded to whole vectors of keys too: a masked gather checks the indices of its unset lanes as well
        if (sc[1].length < ld * d) sc[1] = new float[ld * d];
        if (sc[2].length < ld * d) sc[2] = new float[ld * d];
        float[] qa = sc[0], kb = sc[1], kt = sc[2];
        for (int r = 0; r < bq; r++) MemorySegment.copy(q, FL, (qOff + r * qLd) * 4, qa, r * d, d);
        if (kLd == d) MemorySegment.copy(k, FL, kOff * 4, kb, 0, bk * d);
        else for (int j = 0; j < bk; j++) MemorySegment.copy(k, FL, (kOff + j * kLd) * 4, kb, j * d, d);
        // every loop runs its vector body, the last vector masked, for any bk: a loop a decode's first short rows
        // never enter is compiled as an uncommon trap, and the longer rows that follow would deoptimise it
        int[] across = ACROSS[d];
        for (int e = 0; e < d; e++) {
            for (int j = 0; j < bk; j += L)
                FloatVector.fromArray(F, kb, j * d + e, across, 0, F.indexInRange(j, bk))
                        .intoArray(kt, e * ld + j);
        }
        for (int r = 0; r < bq; r++) {
            int qr = r * d, sr = r * bk;
            for (int j = 0; j < bk; j += L) {
                FloatVector acc = FloatVector.zero(F);
                for (int e = 0; e < d; e++)
                    acc = FloatVector.fromArray(F, kt, e * ld + j).fma(FloatVector.broadcast(F, qa[qr + e]), acc);
                acc.mul(scale).intoArray(s, sr + j, F.indexInRange(j, bk));
            }
        }
    }
}
