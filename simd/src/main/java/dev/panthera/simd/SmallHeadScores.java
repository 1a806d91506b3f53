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
 * element. Each score is the FMA chain over e in
 * order, then the product with scale, lane or scalar alike.
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

    /** Per-thread scratch: the query rows, the key block as copied, the key block transposed, and the scores. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[4][0]);

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
        if (sc[1].length < bk * d) {
            sc[1] = new float[bk * d];
            sc[2] = new float[bk * d];
        }
        float[] qa = sc[0], kb = sc[1], kt = sc[2];
        for (int r = 0; r < bq; r++) MemorySegment.copy(q, FL, (qOff + r * qLd) * 4, qa, r * d, d);
        if (kLd == d) MemorySegment.copy(k, FL, kOff * 4, kb, 0, bk * d);
        else for (int j = 0; j < bk; j++) MemorySegment.copy(k, FL, (kOff + j * kLd) * 4, kb, j * d, d);
        int[] across = ACROSS[d];
        int full = bk / F.length() * F.length();
        for (int e = 0; e < d; e++) {
            int j = 0;
            for (; j < full; j += F.length())
                FloatVector.fromArray(F, kb, j * d + e, across, 0).intoArray(kt, e * bk + j);
            for (; j < bk; j++) kt[e * bk + j] = kb[j * d + e];
        }
        int L = F.length();
        for (int r = 0; r < bq; r++) {
            int qr = r * d, sr = r * bk;
            int j = 0;
            for (; j + 4 * L <= bk; j += 4 * L) { // four independent FMA chains: one would wait on FMA latency
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                for (int e = 0; e < d; e++) {
                    FloatVector qe = FloatVector.broadcast(F, qa[qr + e]);
                    int o = e * bk + j;
                    a0 = FloatVector.fromArray(F, kt, o).fma(qe, a0);
                    a1 = FloatVector.fromArray(F, kt, o + L).fma(qe, a1);
                    a2 = FloatVector.fromArray(F, kt, o + 2 * L).fma(qe, a2);
                    a3 = FloatVector.fromArray(F, kt, o + 3 * L).fma(qe, a3);
                }
                a0.mul(scale).intoArray(s, sr + j);
                a1.mul(scale).intoArray(s, sr + j + L);
                a2.mul(scale).intoArray(s, sr + j + 2 * L);
                a3.mul(scale).intoArray(s, sr + j + 3 * L);
            }
            for (; j + L <= bk; j += L) {
                FloatVector acc = FloatVector.zero(F);
                for (int e = 0; e < d; e++)
                    acc = FloatVector.fromArray(F, kt, e * bk + j).fma(FloatVector.broadcast(F, qa[qr + e]), acc);
                acc.mul(scale).intoArray(s, sr + j);
            }
            for (; j < bk; j++) {
                float a = 0;
                for (int e = 0; e < d; e++) a = Math.fma(kt[e * bk + j], qa[qr + e], a);
                s[sr + j] = a * scale;
            }
        }
    }
}
