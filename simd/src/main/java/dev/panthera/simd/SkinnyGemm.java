package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * GEMM for M &lt; 8 (decode, a few tokens): B is read once and never packed; A is copied to a small float array.
 * BF16 weights are widened inside the FMA loops. F16 weights stored one row per output (a Linear weight) go through
 * {@link HalfDots}, two halves per int lane; F16 weights stored [K, N] are first converted piecewise into a float
 * scratch that stays in L1 — inlined into the FMA loops the lane-by-lane conversion went past C2's inlining depth,
 * and the vectors it returned were boxed (hundreds of MB of garbage per GEMV).
 */
final class SkinnyGemm {
    private SkinnyGemm() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /**
     * C[:, j0:j1] += alpha·op(A)·op(B)[:, j0:j1] for M &lt; 8. Without transB, B is streamed four rows per step into
     * float accumulators for the outputs, in column chunks that keep accumulators and B pieces in L1; with transB
     * (a Linear weight [N, K]) each output is a dot product of an A row with a B row, two A rows per B pass, in K
     * chunks that keep the A pieces in L1. alpha is applied once to the finished sums, which are then added to C.
     */
    static void gemm(int kind, boolean ta, boolean tb, int m, int j0, int j1, int k, float alpha,
                     MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                     MemorySegment c, long cOff, int ldc) {
        int w = j1 - j0, L = F.length();
        float[] av = new float[m * k];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) av[i * k + p] = a.getAtIndex(FL, aOff + (ta ? (long) p * lda + i : (long) i * lda + p));
        }
        float[] acc = new float[m * w];
        if (!tb) {
            // columns in chunks whose accumulators and four B row pieces stay in L1 (about 16 KiB)
            int jb = m == 1 ? w : Math.max(64, (4096 / (m + 4)) & ~15);
            for (int jc = 0; jc < w; jc += jb) {
                if (kind == WeightLoads.BF16) streamBf16(m, j0, w, jc, Math.min(w, jc + jb), k, av, acc, b, bOff, ldb);
                else stream(kind, m, j0, w, jc, Math.min(w, jc + jb), k, av, acc, b, bOff, ldb);
            }
        } else {
            // K in chunks so that the M activation pieces stay in L1 (about 24 KiB) while each B row piece passes
            int kb = m <= 2 ? k : Math.max(256, (4096 / m) & ~15);
            for (int pc = 0; pc < k; pc += kb) dots(kind, m, j0, w, pc, Math.min(k, pc + kb), k, av, acc, b, bOff, ldb);
        }
        addScaled(m, w, alpha, acc, c, cOff + j0, ldc);
    }

    /** acc[i][jc:je] += Σ_p av[i][p]·B[p][j0 + jc : j0 + je] over all p, four B rows per step. */
    private static void stream(int kind, int m, int j0, int w, int jc, int je, int k, float[] av, float[] acc,
                               MemorySegment b, long bOff, int ldb) {
        int L = F.length(), wd = je - jc;
        // F16 rows are converted into a small float scratch first (see the class comment); BF16 converts inline
        float[] scratch = kind == WeightLoads.F16 ? new float[4 * wd] : null;
        MemorySegment src = scratch == null ? b : MemorySegment.ofArray(scratch);
        int kd = scratch == null ? kind : WeightLoads.F32;
        {
            int p = 0;
            for (; p + 4 <= k; p += 4) {
                long r0 = bOff + (long) p * ldb + j0, r1 = r0 + ldb, r2 = r1 + ldb, r3 = r2 + ldb;
                if (scratch != null) {
                    WeightLoads.toFloats(kind, b, r0 + jc, wd, scratch, 0);
                    WeightLoads.toFloats(kind, b, r1 + jc, wd, scratch, wd);
                    WeightLoads.toFloats(kind, b, r2 + jc, wd, scratch, 2 * wd);
                    WeightLoads.toFloats(kind, b, r3 + jc, wd, scratch, 3 * wd);
                    r0 = -jc;
                    r1 = wd - jc;
                    r2 = 2L * wd - jc;
                    r3 = 3L * wd - jc;
                }
                for (int i = 0; i < m; i++) {
                    int ai = i * k + p, ci = i * w;
                    float x0 = av[ai], x1 = av[ai + 1], x2 = av[ai + 2], x3 = av[ai + 3];
                    FloatVector v0 = FloatVector.broadcast(F, x0), v1 = FloatVector.broadcast(F, x1);
                    FloatVector v2 = FloatVector.broadcast(F, x2), v3 = FloatVector.broadcast(F, x3);
                    int j = jc;
                    for (; j + L <= je; j += L) {
                        FloatVector s = FloatVector.fromArray(F, acc, ci + j);
                        s = v0.fma(WeightLoads.load(kd, src, r0 + j), s);
                        s = v1.fma(WeightLoads.load(kd, src, r1 + j), s);
                        s = v2.fma(WeightLoads.load(kd, src, r2 + j), s);
                        s = v3.fma(WeightLoads.load(kd, src, r3 + j), s);
                        s.intoArray(acc, ci + j);
                    }
                    for (; j < je; j++) {
                        acc[ci + j] += x0 * WeightLoads.load1(kd, src, r0 + j) + x1 * WeightLoads.load1(kd, src, r1 + j)
                                + x2 * WeightLoads.load1(kd, src, r2 + j) + x3 * WeightLoads.load1(kd, src, r3 + j);
                    }
                }
            }
            for (; p < k; p++) {
                long r0 = bOff + (long) p * ldb + j0;
                if (scratch != null) {
                    WeightLoads.toFloats(kind, b, r0 + jc, wd, scratch, 0);
                    r0 = -jc;
                }
                for (int i = 0; i < m; i++) {
                    float x0 = av[i * k + p];
                    FloatVector v0 = FloatVector.broadcast(F, x0);
                    int ci = i * w, j = jc;
                    for (; j + L <= je; j += L) {
                        v0.fma(WeightLoads.load(kd, src, r0 + j), FloatVector.fromArray(F, acc, ci + j)).intoArray(acc, ci + j);
                    }
                    for (; j < je; j++) acc[ci + j] += x0 * WeightLoads.load1(kd, src, r0 + j);
                }
            }
        }
    }

    /**
     * {@link #stream} for BF16 weights: one int load takes sixteen consecutive BF16 columns, the low halves (even
     * columns) become floats by a left shift, the high halves (odd columns) by masking off the low half. The
     * accumulators of each full block of 16 columns are kept as 8 even then 8 odd columns while the rows stream
     * and put back in column order at the end; the columns past the last full block go one at a time.
     */
    private static void streamBf16(int m, int j0, int w, int jc, int je, int k, float[] av, float[] acc,
                                   MemorySegment b, long bOff, int ldb) {
        int full = jc + (je - jc) / 16 * 16;
        int p = 0;
        for (; p + 4 <= k; p += 4) {
            long r0 = bOff + (long) p * ldb + j0, r1 = r0 + ldb, r2 = r1 + ldb, r3 = r2 + ldb;
            for (int i = 0; i < m; i++) {
                int ai = i * k + p, ci = i * w;
                float x0 = av[ai], x1 = av[ai + 1], x2 = av[ai + 2], x3 = av[ai + 3];
                FloatVector v0 = FloatVector.broadcast(F, x0), v1 = FloatVector.broadcast(F, x1);
                FloatVector v2 = FloatVector.broadcast(F, x2), v3 = FloatVector.broadcast(F, x3);
                for (int j = jc; j < full; j += 16) {
                    IntVector b0 = IntVector.fromMemorySegment(I, b, (r0 + j) * 2, NO), b1 = IntVector.fromMemorySegment(I, b, (r1 + j) * 2, NO);
                    IntVector b2 = IntVector.fromMemorySegment(I, b, (r2 + j) * 2, NO), b3 = IntVector.fromMemorySegment(I, b, (r3 + j) * 2, NO);
                    FloatVector e = FloatVector.fromArray(F, acc, ci + j), o = FloatVector.fromArray(F, acc, ci + j + 8);
                    e = v0.fma(even(b0), e);
                    o = v0.fma(odd(b0), o);
                    e = v1.fma(even(b1), e);
                    o = v1.fma(odd(b1), o);
                    e = v2.fma(even(b2), e);
                    o = v2.fma(odd(b2), o);
                    e = v3.fma(even(b3), e);
                    o = v3.fma(odd(b3), o);
                    e.intoArray(acc, ci + j);
                    o.intoArray(acc, ci + j + 8);
                }
                for (int j = full; j < je; j++) {
                    acc[ci + j] += x0 * WeightLoads.load1(WeightLoads.BF16, b, r0 + j) + x1 * WeightLoads.load1(WeightLoads.BF16, b, r1 + j)
                            + x2 * WeightLoads.load1(WeightLoads.BF16, b, r2 + j) + x3 * WeightLoads.load1(WeightLoads.BF16, b, r3 + j);
                }
            }
        }
        for (; p < k; p++) {
            long r0 = bOff + (long) p * ldb + j0;
            for (int i = 0; i < m; i++) {
                float x0 = av[i * k + p];
                FloatVector v0 = FloatVector.broadcast(F, x0);
                int ci = i * w;
                for (int j = jc; j < full; j += 16) {
                    IntVector b0 = IntVector.fromMemorySegment(I, b, (r0 + j) * 2, NO);
                    v0.fma(even(b0), FloatVector.fromArray(F, acc, ci + j)).intoArray(acc, ci + j);
                    v0.fma(odd(b0), FloatVector.fromArray(F, acc, ci + j + 8)).intoArray(acc, ci + j + 8);
                }
                for (int j = full; j < je; j++) acc[ci + j] += x0 * WeightLoads.load1(WeightLoads.BF16, b, r0 + j);
            }
        }
        float[] block = new float[16];
        for (int i = 0; i < m; i++) {
            for (int j = i * w + jc, end = i * w + full; j < end; j += 16) {
                System.arraycopy(acc, j, block, 0, 16);
                for (int l = 0; l < 8; l++) {
                    acc[j + 2 * l] = block[l];
                    acc[j + 2 * l + 1] = block[8 + l];
                }
            }
        }
    }

    /** The BF16 values in the low halves of the lanes (the even columns of a 16-column block) as floats. */
    private static FloatVector even(IntVector v) { return v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(); }

    /** The BF16 values in the high halves of the lanes (the odd columns) as floats. */
    private static FloatVector odd(IntVector v) { return v.and(0xFFFF0000).reinterpretAsFloats(); }

    /** acc[i][j] += Σ_{p in [pc, pe)} av[i][p]·B[j0 + j][p] (B stored transposed: one row per output column). */
    private static void dots(int kind, int m, int j0, int w, int pc, int pe, int k, float[] av, float[] acc,
                             MemorySegment b, long bOff, int ldb) {
        if (kind == WeightLoads.F16) {
            dotsHalf(m, j0, w, pc, pe, k, av, acc, b, bOff, ldb);
            return;
        }
        // Each row pair and the odd row get their own small method: one method holding every inlined load would
        // pass C2's inlining budget, and a vector returned from a call left un-inlined is boxed on the heap.
        for (int j = 0; j < w; j++) {
            long bRow = bOff + (long) (j0 + j) * ldb;
            int i = 0;
            for (; i + 2 <= m; i += 2) dot2(kind, av, i * k, k, b, bRow, pc, pe, acc, i * w + j, (i + 1) * w + j);
            if (i < m) acc[i * w + j] += dot1(kind, av, i * k, b, bRow, pc, pe);
        }
    }

    /**
     * {@link #dots} for F16 weights: the activation pieces are reordered once for {@link HalfDots}, which converts two
     * halves per int lane; a B row holding inf or NaN (HalfDots answers NaN) is summed again with the exact scalar
     * conversion.
     */
    private static void dotsHalf(int m, int j0, int w, int pc, int pe, int k, float[] av, float[] acc,
                                 MemorySegment b, long bOff, int ldb) {
        int len = pe - pc;
        float[] split = new float[m * len];
        for (int i = 0; i < m; i++) HalfDots.splitEvenOdd(av, i * k + pc, split, i * len, len);
        for (int j = 0; j < w; j++) {
            long bRow = bOff + (long) (j0 + j) * ldb + pc;
            for (int i = 0; i < m; i++) {
                float d = HalfDots.dot(split, i * len, b, bRow, len);
                if (Float.isNaN(d)) {
                    d = 0;
                    for (int p = 0; p < len; p++) d += av[i * k + pc + p] * WeightLoads.load1(WeightLoads.F16, b, bRow + p);
                }
                acc[i * w + j] += d;
            }
        }
    }

    /** Rows a0 and a0 + k of A against one B row, four independent FMA chains, each B vector loaded once. */
    private static void dot2(int kind, float[] av, int a0, int k, MemorySegment b, long bRow, int pc, int pe,
                             float[] acc, int o0, int o1) {
        int L = F.length(), a1 = a0 + k;
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), t0 = FloatVector.zero(F), t1 = FloatVector.zero(F);
        int p = pc;
        for (; p + 2 * L <= pe; p += 2 * L) {
            FloatVector x = WeightLoads.load(kind, b, bRow + p), y = WeightLoads.load(kind, b, bRow + p + L);
            s0 = FloatVector.fromArray(F, av, a0 + p).fma(x, s0);
            s1 = FloatVector.fromArray(F, av, a0 + p + L).fma(y, s1);
            t0 = FloatVector.fromArray(F, av, a1 + p).fma(x, t0);
            t1 = FloatVector.fromArray(F, av, a1 + p + L).fma(y, t1);
        }
        float d0 = s0.add(s1).reduceLanes(VectorOperators.ADD), d1 = t0.add(t1).reduceLanes(VectorOperators.ADD);
        for (; p < pe; p++) {
            float x = WeightLoads.load1(kind, b, bRow + p);
            d0 += av[a0 + p] * x;
            d1 += av[a1 + p] * x;
        }
        acc[o0] += d0;
        acc[o1] += d1;
    }

    /** One row of A against one B row: four independent FMA chains over 32 floats per step. */
    private static float dot1(int kind, float[] av, int a0, MemorySegment b, long bRow, int pc, int pe) {
        int L = F.length();
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
        int p = pc;
        for (; p + 4 * L <= pe; p += 4 * L) {
            s0 = FloatVector.fromArray(F, av, a0 + p).fma(WeightLoads.load(kind, b, bRow + p), s0);
            s1 = FloatVector.fromArray(F, av, a0 + p + L).fma(WeightLoads.load(kind, b, bRow + p + L), s1);
            s2 = FloatVector.fromArray(F, av, a0 + p + 2 * L).fma(WeightLoads.load(kind, b, bRow + p + 2 * L), s2);
            s3 = FloatVector.fromArray(F, av, a0 + p + 3 * L).fma(WeightLoads.load(kind, b, bRow + p + 3 * L), s3);
        }
        float d = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        for (; p < pe; p++) d += av[a0 + p] * WeightLoads.load1(kind, b, bRow + p);
        return d;
    }

    /** C[i][0:w] += alpha·acc[i][0:w]; {@code cOff} points at the first column of this range. */
    private static void addScaled(int m, int w, float alpha, float[] acc, MemorySegment c, long cOff, int ldc) {
        int L = F.length();
        for (int i = 0; i < m; i++) {
            long cRow = cOff + (long) i * ldc;
            int ci = i * w, j = 0;
            for (; j + L <= w; j += L) {
                FloatVector.fromArray(F, acc, ci + j).fma(FloatVector.broadcast(F, alpha), FloatVector.fromMemorySegment(F, c, (cRow + j) * 4, NO))
                        .intoMemorySegment(c, (cRow + j) * 4, NO);
            }
            for (; j < w; j++) c.setAtIndex(FL, cRow + j, c.getAtIndex(FL, cRow + j) + alpha * acc[ci + j]);
        }
    }
}
