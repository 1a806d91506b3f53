package dev.panthera.simd;

import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * GEMM for M &lt; 8 (decode, a few tokens): B is read once and never packed; A is copied to a small float array.
 * 16-bit weights are widened inside the FMA loops, two halves per int lane (BF16 by a shift or a mask, F16 as
 * {@link HalfDots} does it), which keeps the FMA loops small enough for C2 to inline every vector call; a vector
 * returned from a call that is not inlined is boxed on the heap.
 */
final class SkinnyGemm {
    private SkinnyGemm() {}

    private static final VectorSpecies<Float> F = Lanes.F256;
    /** The decode dot's width: sixteen lanes where the machine has them (one instruction per 64 weight bytes). */
    private static final VectorSpecies<Float> WIDE = HeapRows.F;

    private static final VectorSpecies<Integer> I = Lanes.I256;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /**
     * C[:, j0:j1] += alpha·op(A)·op(B)[:, j0:j1] for M &lt; 8. Without transB, B is streamed eight rows per step into
     * float accumulators for the outputs, in column chunks that keep accumulators and B pieces in L1; with transB (a
     * Linear weight [N, K]) each output is a dot product of an A row with a B row: for M = 1, for 16-bit weights and
     * for four or more F32 A rows, two B rows per pass, rows j and j + N/2 (four, j + i·N/4, for 16-bit rows longer
     * than {@link HalfDots#LONG_ROWS} and one A row), against one, two or four A rows at a time
     * ({@link HalfDotsBatch}, {@link FloatDotsBatch}), each B row read whole; for two or three F32 A rows two A rows
     * per B pass (three: in K chunks that keep the A pieces in L1). alpha is applied once to the finished sums, which
     * are then added to C.
     */
    static void gemm(
            DType kind,
            boolean ta,
            boolean tb,
            int m,
            int j0,
            int j1,
            int k,
            float alpha,
            MemorySegment a,
            long aOff,
            int lda,
            MemorySegment b,
            long bOff,
            int ldb,
            MemorySegment c,
            long cOff,
            int ldc) {
        int w = j1 - j0;
        Scratch sc = Scratch.take();
        try {
            float[] av = sc.av(m * k);
            for (int i = 0; i < m; i++) {
                if (!ta) { // a row of A is contiguous: one bulk copy, its checks made once, not per element
                    MemorySegment.copy(a, FL, (aOff + (long) i * lda) * 4, av, i * k, k);
                    continue;
                }
                for (int p = 0; p < k; p++) av[i * k + p] = a.getAtIndex(FL, aOff + (long) p * lda + i);
            }
            float[] acc = sc.acc(m * w);
            if (!tb) {
                // columns in chunks whose accumulators and the B row pieces of a step stay in L1
                int jb = m == 1 ? w : Math.max(64, (4096 / (m + 4)) & ~15);
                for (int jc = 0; jc < w; jc += jb) {
                    if (kind != DType.F32) stream16(kind, m, j0, w, jc, Math.min(w, jc + jb), k, av, acc, b, bOff, ldb);
                    else stream(m, j0, w, jc, Math.min(w, jc + jb), k, av, acc, b, bOff, ldb);
                }
            } else {
                // Three F32 rows: K in chunks so that the activation pieces stay in L1 (about 24 KiB) while each B row
                // piece passes. Other rows are read whole: a row read in pieces starts a new stream from memory at
                // each piece, and the several-activation kernels lost up to half their speed to that (BENCHMARKS.md,
                // "16-bit rows read whole", "F32 batches")
                int kb = m != 3 || kind != DType.F32 ? k : Math.max(256, (4096 / m) & ~15);
                for (int pc = 0; pc < k; pc += kb)
                    dots(kind, m, j0, w, pc, Math.min(k, pc + kb), k, av, acc, b, bOff, ldb, sc);
            }
            addScaled(m, w, alpha, acc, c, cOff + j0, ldc);
        } finally {
            sc.busy = false;
        }
    }

    /** acc[i][jc:je] += Σ_p av[i][p]·B[p][j0 + jc : j0 + je] over all p, F32 B, eight rows per step (then four, then one). */
    private static void stream(
            int m, int j0, int w, int jc, int je, int k, float[] av, float[] acc, MemorySegment b, long bOff, int ldb) {
        int L = F.length();
        DType kind = DType.F32;
        int p = 0;
        for (; p + 8 <= k; p += 8) {
            long r0 = bOff + (long) p * ldb + j0;
            for (int i = 0; i < m; i++) rows8(av, i * k + p, acc, i * w, jc, je, b, r0, ldb);
        }
        for (; p + 4 <= k; p += 4) {
            long r0 = bOff + (long) p * ldb + j0, r1 = r0 + ldb, r2 = r1 + ldb, r3 = r2 + ldb;
            for (int i = 0; i < m; i++) {
                int ai = i * k + p, ci = i * w;
                float x0 = av[ai], x1 = av[ai + 1], x2 = av[ai + 2], x3 = av[ai + 3];
                FloatVector v0 = FloatVector.broadcast(F, x0), v1 = FloatVector.broadcast(F, x1);
                FloatVector v2 = FloatVector.broadcast(F, x2), v3 = FloatVector.broadcast(F, x3);
                int j = jc;
                for (; j + L <= je; j += L) {
                    FloatVector s = FloatVector.fromArray(F, acc, ci + j);
                    s = v0.fma(WeightLoads.load(kind, b, r0 + j), s);
                    s = v1.fma(WeightLoads.load(kind, b, r1 + j), s);
                    s = v2.fma(WeightLoads.load(kind, b, r2 + j), s);
                    s = v3.fma(WeightLoads.load(kind, b, r3 + j), s);
                    s.intoArray(acc, ci + j);
                }
                for (; j < je; j++) {
                    acc[ci + j] += x0 * WeightLoads.load1(kind, b, r0 + j)
                            + x1 * WeightLoads.load1(kind, b, r1 + j)
                            + x2 * WeightLoads.load1(kind, b, r2 + j)
                            + x3 * WeightLoads.load1(kind, b, r3 + j);
                }
            }
        }
        for (; p < k; p++) {
            long r0 = bOff + (long) p * ldb + j0;
            for (int i = 0; i < m; i++) {
                float x0 = av[i * k + p];
                FloatVector v0 = FloatVector.broadcast(F, x0);
                int ci = i * w, j = jc;
                for (; j + L <= je; j += L) {
                    v0.fma(WeightLoads.load(kind, b, r0 + j), FloatVector.fromArray(F, acc, ci + j))
                            .intoArray(acc, ci + j);
                }
                for (; j < je; j++) acc[ci + j] += x0 * WeightLoads.load1(kind, b, r0 + j);
            }
        }
    }

    /** acc[ci + jc .. ci + je) += Σ_{t<8} av[ai + t]·B row (r0 + t·ldb), F32 (eight rows per pass over acc). */
    private static void rows8(
            float[] av, int ai, float[] acc, int ci, int jc, int je, MemorySegment b, long r0, int ldb) {
        int L = F.length();
        FloatVector v0 = FloatVector.broadcast(F, av[ai]), v1 = FloatVector.broadcast(F, av[ai + 1]);
        FloatVector v2 = FloatVector.broadcast(F, av[ai + 2]), v3 = FloatVector.broadcast(F, av[ai + 3]);
        FloatVector v4 = FloatVector.broadcast(F, av[ai + 4]), v5 = FloatVector.broadcast(F, av[ai + 5]);
        FloatVector v6 = FloatVector.broadcast(F, av[ai + 6]), v7 = FloatVector.broadcast(F, av[ai + 7]);
        long st = (long) ldb * 4;
        int j = jc;
        for (; j + L <= je; j += L) {
            long at = (r0 + j) * 4;
            FloatVector s = FloatVector.fromArray(F, acc, ci + j);
            FloatVector u = v0.mul(FloatVector.fromMemorySegment(F, b, at, NO));
            s = v1.fma(FloatVector.fromMemorySegment(F, b, at + st, NO), s);
            u = v2.fma(FloatVector.fromMemorySegment(F, b, at + 2 * st, NO), u);
            s = v3.fma(FloatVector.fromMemorySegment(F, b, at + 3 * st, NO), s);
            u = v4.fma(FloatVector.fromMemorySegment(F, b, at + 4 * st, NO), u);
            s = v5.fma(FloatVector.fromMemorySegment(F, b, at + 5 * st, NO), s);
            u = v6.fma(FloatVector.fromMemorySegment(F, b, at + 6 * st, NO), u);
            s = v7.fma(FloatVector.fromMemorySegment(F, b, at + 7 * st, NO), s);
            s.add(u).intoArray(acc, ci + j);
        }
        for (; j < je; j++) {
            float t = 0;
            for (int q = 0; q < 8; q++) t += av[ai + q] * b.getAtIndex(FL, r0 + (long) q * ldb + j);
            acc[ci + j] += t;
        }
    }

    /**
     * {@link #stream} for 16-bit weights, eight rows per step: one int load takes sixteen consecutive columns, the low halves (even
     * columns) and the high halves (odd columns) become floats in registers — BF16 by a shift or a mask, F16 as
     * {@link HalfDots} does it. The accumulators of each full block of 16 columns are kept as 8 even then 8 odd
     * columns while the rows stream and put back in column order at the end; the columns past the last full block go
     * one at a time. F16 rows holding inf or NaN (which the register conversion does not cover) are found by a check
     * before each step and taken one element at a time with the exact conversion. The last k mod 8 rows go one at a time.
     */
    private static void stream16(
            DType kind,
            int m,
            int j0,
            int w,
            int jc,
            int je,
            int k,
            float[] av,
            float[] acc,
            MemorySegment b,
            long bOff,
            int ldb) {
        boolean half = kind == DType.F16;
        int full = jc + (je - jc) / 16 * 16;
        int p = 0;
        for (; p + 8 <= k; p += 8) {
            long r0 = bOff + (long) p * ldb + j0;
            if (half) {
                boolean anySpecial = false;
                for (int q = 0; q < 8 && !anySpecial; q++) anySpecial = special(b, r0 + (long) q * ldb, jc, full);
                if (anySpecial) {
                    for (int q = 0; q < 8; q++) exactRow(m, w, jc, je, full, k, p + q, av, acc, b, r0 + (long) q * ldb);
                    continue;
                }
            }
            for (int i = 0; i < m; i++) {
                int ai = i * k + p, ci = i * w;
                if (half) blocks8F16(av, ai, acc, ci, jc, full, b, r0, ldb);
                else blocks8Bf16(av, ai, acc, ci, jc, full, b, r0, ldb);
                for (int j = full; j < je; j++) {
                    float t = 0;
                    for (int q = 0; q < 8; q++) t += av[ai + q] * WeightLoads.load1(kind, b, r0 + (long) q * ldb + j);
                    acc[ci + j] += t;
                }
            }
        }
        for (; p < k; p++) {
            long r0 = bOff + (long) p * ldb + j0;
            if (half && special(b, r0, jc, full)) {
                exactRow(m, w, jc, je, full, k, p, av, acc, b, r0);
                continue;
            }
            for (int i = 0; i < m; i++) {
                float x0 = av[i * k + p];
                FloatVector v0 = FloatVector.broadcast(F, x0);
                int ci = i * w;
                for (int j = jc; j < full; j += 16) {
                    IntVector b0 = IntVector.fromMemorySegment(I, b, (r0 + j) * 2, NO);
                    v0.fma(half ? HalfDots.low(b0) : bf16Even(b0), FloatVector.fromArray(F, acc, ci + j))
                            .intoArray(acc, ci + j);
                    v0.fma(half ? HalfDots.high(b0) : bf16Odd(b0), FloatVector.fromArray(F, acc, ci + j + 8))
                            .intoArray(acc, ci + j + 8);
                }
                for (int j = full; j < je; j++) acc[ci + j] += x0 * WeightLoads.load1(kind, b, r0 + j);
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

    /** Whether F16 columns [jc, full) of the row starting at element {@code row} hold an inf or NaN (exponent 31). */
    private static boolean special(MemorySegment b, long row, int jc, int full) {
        IntVector flag = IntVector.zero(I);
        for (int j = jc; j < full; j += 16) {
            flag = flag.or(IntVector.fromMemorySegment(I, b, (row + j) * 2, NO)
                    .and(0x7C007C00)
                    .add(0x04000400));
        }
        return !flag.and(0x80008000).compare(VectorOperators.EQ, 0).allTrue();
    }

    /** One F16 B row p added into the block-permuted accumulators element by element, with the exact conversion. */
    private static void exactRow(
            int m, int w, int jc, int je, int full, int k, int p, float[] av, float[] acc, MemorySegment b, long row) {
        for (int i = 0; i < m; i++) {
            float x = av[i * k + p];
            int ci = i * w;
            for (int j = jc; j < je; j++) {
                int t = j - jc, at = j < full ? jc + (t & ~15) + ((t & 1) == 0 ? (t & 15) / 2 : 8 + (t & 15) / 2) : j;
                acc[ci + at] += x * WeightLoads.load1(DType.F16, b, row + j);
            }
        }
    }

    // The block loops are one small method per weight type, the eight rows an inner loop, so that every vector call
    // in them stays within C2's inlining budget (a vector returned from a call that is not inlined is boxed).

    /**
     * acc[ci + jc .. ci + full) (block-permuted: 8 even then 8 odd columns per 16) += Σ_{q<8} av[ai + q]·B row
     * (r0 + q·ldb), BF16; the accumulators are loaded once per eight rows.
     */
    private static void blocks8Bf16(
            float[] av, int ai, float[] acc, int ci, int jc, int full, MemorySegment b, long r0, int ldb) {
        long st = (long) ldb * 2;
        for (int j = jc; j < full; j += 16) {
            long at = (r0 + j) * 2;
            FloatVector e = FloatVector.fromArray(F, acc, ci + j), o = FloatVector.fromArray(F, acc, ci + j + 8);
            for (int q = 0; q < 8; q++) {
                IntVector x = IntVector.fromMemorySegment(I, b, at + q * st, NO);
                FloatVector v = FloatVector.broadcast(F, av[ai + q]);
                e = v.fma(bf16Even(x), e);
                o = v.fma(bf16Odd(x), o);
            }
            e.intoArray(acc, ci + j);
            o.intoArray(acc, ci + j + 8);
        }
    }

    /** {@link #blocks8Bf16} for eight F16 rows free of inf and NaN. */
    private static void blocks8F16(
            float[] av, int ai, float[] acc, int ci, int jc, int full, MemorySegment b, long r0, int ldb) {
        long st = (long) ldb * 2;
        for (int j = jc; j < full; j += 16) {
            long at = (r0 + j) * 2;
            FloatVector e = FloatVector.fromArray(F, acc, ci + j), o = FloatVector.fromArray(F, acc, ci + j + 8);
            for (int q = 0; q < 8; q++) {
                IntVector x = IntVector.fromMemorySegment(I, b, at + q * st, NO);
                FloatVector v = FloatVector.broadcast(F, av[ai + q]);
                e = v.fma(HalfDots.low(x), e);
                o = v.fma(HalfDots.high(x), o);
            }
            e.intoArray(acc, ci + j);
            o.intoArray(acc, ci + j + 8);
        }
    }

    /** The BF16 values in the low halves of the lanes (the even columns of a 16-column block) as floats. */
    private static FloatVector bf16Even(IntVector v) {
        return v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** The BF16 values in the high halves of the lanes (the odd columns) as floats. */
    private static FloatVector bf16Odd(IntVector v) {
        return v.and(0xFFFF0000).reinterpretAsFloats();
    }

    /** acc[i][j] += Σ_{p in [pc, pe)} av[i][p]·B[j0 + j][p] (B stored transposed: one row per output column). */
    private static void dots(
            DType kind,
            int m,
            int j0,
            int w,
            int pc,
            int pe,
            int k,
            float[] av,
            float[] acc,
            MemorySegment b,
            long bOff,
            int ldb,
            Scratch sc) {
        if (kind != DType.F32) {
            HalfDots.rows(
                    kind,
                    m,
                    j0,
                    w,
                    pc,
                    pe,
                    k,
                    av,
                    acc,
                    b,
                    bOff,
                    ldb,
                    sc.split(m * (pe - pc)),
                    sc.pair,
                    sc.outs,
                    sc.lanes);
            return;
        }
        if (m == 1) {
            // decode: B rows j and j + half in one pass (two far-apart streams, as in HalfDots.rows)
            int half = (w + 1) / 2;
            float[] pair = sc.pair;
            int head = RowHeads.alignedHead(b, bOff + (long) j0 * ldb + pc, 4, ldb, pe - pc, WIDE.vectorByteSize());
            boolean[] masks = sc.masks;
            RowHeads.masks(WIDE.length(), pe - pc, head, masks);
            long first = bOff + (long) j0 * ldb;
            long[] heap = (pe - pc) % 2 == 0 && ldb % 2 == 0 && pe - pc >= WIDE.length()
                    ? HeapRows.array(b, first + pc, 4)
                    : null;
            if (heap != null) { // rows in a long[]: their own loop (head is 0 on the heap, RowHeads.alignedHead)
                long at = b.address() / 4 + first; // row j0's element 0 in the array
                for (int j = 0; j < half; j++) {
                    int j1 = j + half < w ? j + half : j;
                    HeapRows.dot2(
                            av,
                            heap,
                            Math.toIntExact(at + (long) j * ldb),
                            Math.toIntExact(at + (long) j1 * ldb),
                            pc,
                            pe,
                            masks,
                            pair);
                    acc[j] += pair[0];
                    if (j1 != j) acc[j1] += pair[1];
                }
                return;
            }
            for (int j = 0; j < half; j++) {
                int j1 = j + half < w ? j + half : j;
                dotRows2(av, b, bOff + (long) (j0 + j) * ldb, bOff + (long) (j0 + j1) * ldb, pc, pe, head, masks, pair);
                acc[j] += pair[0];
                if (j1 != j) acc[j1] += pair[1];
            }
            return;
        }
        if (kind == DType.F32 && m >= 4) {
            // four activation rows per pass of rows j and j + half (two streams, as the one-row decode reads them)
            int half = (w + 1) / 2;
            float[] outs = sc.outs;
            for (int j = 0; j < half; j++) {
                int j1 = j + half < w ? j + half : j;
                long row0 = bOff + (long) (j0 + j) * ldb, row1 = bOff + (long) (j0 + j1) * ldb;
                int i = 0;
                for (; i + 4 <= m; i += 4) {
                    FloatDotsBatch.dot2x4(av, i * k, k, b, row0, row1, pc, pe, outs, sc.lanes);
                    for (int t = 0; t < 4; t++) {
                        acc[(i + t) * w + j] += outs[2 * t];
                        if (j1 != j) acc[(i + t) * w + j1] += outs[2 * t + 1];
                    }
                }
                for (; i < m; i++) {
                    acc[i * w + j] += dot1(kind, av, i * k, b, row0, pc, pe);
                    if (j1 != j) acc[i * w + j1] += dot1(kind, av, i * k, b, row1, pc, pe);
                }
            }
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
     * The one A row (from av[0]) against F32 B rows r0 and r1 over [pc, pe): out[0], out[1]. The full vectors start
     * {@code head} elements in ({@link RowHeads#alignedHead}); the elements before them and after the last are summed
     * from one whole vector each at pc and at pe − L, blended by {@link RowHeads#masks} so that each element counts
     * once.
     */
    private static void dotRows2(
            float[] av, MemorySegment b, long r0, long r1, int pc, int pe, int head, boolean[] masks, float[] out) {
        int L = WIDE.length();
        if (pe - pc < L) {
            float d0 = 0, d1 = 0;
            for (int p = pc; p < pe; p++) {
                d0 += av[p] * b.getAtIndex(FL, r0 + p);
                d1 += av[p] * b.getAtIndex(FL, r1 + p);
            }
            out[0] = d0;
            out[1] = d1;
            return;
        }
        FloatVector s0 = FloatVector.zero(WIDE),
                s1 = FloatVector.zero(WIDE),
                t0 = FloatVector.zero(WIDE),
                t1 = FloatVector.zero(WIDE);
        int p = pc + head;
        for (; p + 2 * L <= pe; p += 2 * L) {
            FloatVector x = FloatVector.fromArray(WIDE, av, p), y = FloatVector.fromArray(WIDE, av, p + L);
            s0 = x.fma(FloatVector.fromMemorySegment(WIDE, b, (r0 + p) * 4, NO), s0);
            s1 = y.fma(FloatVector.fromMemorySegment(WIDE, b, (r0 + p + L) * 4, NO), s1);
            t0 = x.fma(FloatVector.fromMemorySegment(WIDE, b, (r1 + p) * 4, NO), t0);
            t1 = y.fma(FloatVector.fromMemorySegment(WIDE, b, (r1 + p + L) * 4, NO), t1);
        }
        if (p + L <= pe) {
            FloatVector x = FloatVector.fromArray(WIDE, av, p);
            s0 = x.fma(FloatVector.fromMemorySegment(WIDE, b, (r0 + p) * 4, NO), s0);
            t0 = x.fma(FloatVector.fromMemorySegment(WIDE, b, (r1 + p) * 4, NO), t0);
            p += L;
        }
        for (int c = 0; c < 2; c++) { // the head vector at pc, then the tail vector at pe - L
            if (c == 0 ? head == 0 : p == pe) continue;
            int at = c == 0 ? pc : pe - L;
            VectorMask<Float> keep = VectorMask.fromArray(WIDE, masks, c * L);
            FloatVector x = FloatVector.fromArray(WIDE, av, at);
            s1 = s1.blend(x.fma(FloatVector.fromMemorySegment(WIDE, b, (r0 + at) * 4, NO), s1), keep);
            t1 = t1.blend(x.fma(FloatVector.fromMemorySegment(WIDE, b, (r1 + at) * 4, NO), t1), keep);
        }
        float d0 = LaneSum.sum(s0.add(s1)), d1 = LaneSum.sum(t0.add(t1));
        out[0] = d0;
        out[1] = d1;
    }

    /** Rows a0 and a0 + k of A against one B row, four independent FMA chains, each B vector loaded once. */
    private static void dot2(
            DType kind,
            float[] av,
            int a0,
            int k,
            MemorySegment b,
            long bRow,
            int pc,
            int pe,
            float[] acc,
            int o0,
            int o1) {
        int L = F.length(), a1 = a0 + k;
        FloatVector s0 = FloatVector.zero(F),
                s1 = FloatVector.zero(F),
                t0 = FloatVector.zero(F),
                t1 = FloatVector.zero(F);
        int p = pc;
        for (; p + 2 * L <= pe; p += 2 * L) {
            FloatVector x = WeightLoads.load(kind, b, bRow + p), y = WeightLoads.load(kind, b, bRow + p + L);
            s0 = FloatVector.fromArray(F, av, a0 + p).fma(x, s0);
            s1 = FloatVector.fromArray(F, av, a0 + p + L).fma(y, s1);
            t0 = FloatVector.fromArray(F, av, a1 + p).fma(x, t0);
            t1 = FloatVector.fromArray(F, av, a1 + p + L).fma(y, t1);
        }
        float d0 = LaneSum.sum(s0.add(s1)), d1 = LaneSum.sum(t0.add(t1));
        for (; p < pe; p++) {
            float x = WeightLoads.load1(kind, b, bRow + p);
            d0 += av[a0 + p] * x;
            d1 += av[a1 + p] * x;
        }
        acc[o0] += d0;
        acc[o1] += d1;
    }

    /** One row of A against one B row: four independent FMA chains over 32 floats per step. */
    private static float dot1(DType kind, float[] av, int a0, MemorySegment b, long bRow, int pc, int pe) {
        int L = F.length();
        FloatVector s0 = FloatVector.zero(F),
                s1 = FloatVector.zero(F),
                s2 = FloatVector.zero(F),
                s3 = FloatVector.zero(F);
        int p = pc;
        for (; p + 4 * L <= pe; p += 4 * L) {
            s0 = FloatVector.fromArray(F, av, a0 + p).fma(WeightLoads.load(kind, b, bRow + p), s0);
            s1 = FloatVector.fromArray(F, av, a0 + p + L).fma(WeightLoads.load(kind, b, bRow + p + L), s1);
            s2 = FloatVector.fromArray(F, av, a0 + p + 2 * L).fma(WeightLoads.load(kind, b, bRow + p + 2 * L), s2);
            s3 = FloatVector.fromArray(F, av, a0 + p + 3 * L).fma(WeightLoads.load(kind, b, bRow + p + 3 * L), s3);
        }
        float d = LaneSum.sum(s0.add(s1).add(s2.add(s3)));
        for (; p < pe; p++) d += av[a0 + p] * WeightLoads.load1(kind, b, bRow + p);
        return d;
    }

    /**
     * A thread's arrays for {@link #gemm}: the A rows, the accumulators (zeroed when handed out), the reordered
     * activation pieces of 16-bit weights and a two-row dot's pair of sums. A decode step makes dozens of these
     * products on each thread; fresh arrays for each came to most of a small model's garbage per token (a 32000-row
     * head alone takes 128 KiB of accumulators). Arrays above {@link #KEPT} floats are not kept, and a product
     * started while its thread's scratch is in use (one nested in another's range) takes fresh ones.
     */
    static final class Scratch {
        /** The most floats one array keeps between products (4 MiB). */
        static final int KEPT = 1 << 20;

        private static final ThreadLocal<Scratch> MINE = ThreadLocal.withInitial(Scratch::new);

        private float[] av = new float[4096], acc = new float[4096], split = new float[4096];
        final float[] pair = new float[2];
        final float[] outs = new float[8];
        final float[] lanes = new float[HalfDotsBatch.LANES];
        /** The head and tail lane masks of the F32 row dots ({@link RowHeads#masks}). */
        final boolean[] masks = new boolean[2 * WIDE.length()];

        boolean busy;

        /** This thread's scratch, marked busy, or fresh arrays when it already is. */
        static Scratch take() {
            Scratch s = MINE.get();
            if (s.busy) s = new Scratch();
            s.busy = true;
            return s;
        }

        float[] av(int n) {
            return n > KEPT ? new float[n] : (av = atLeast(av, n));
        }

        float[] acc(int n) {
            float[] a = n > KEPT ? new float[n] : (acc = atLeast(acc, n));
            java.util.Arrays.fill(a, 0, n, 0f);
            return a;
        }

        float[] split(int n) {
            return n > KEPT ? new float[n] : (split = atLeast(split, n));
        }

        private static float[] atLeast(float[] a, int n) {
            return a.length >= n ? a : new float[Math.max(n, 2 * a.length)];
        }
    }

    /** C[i][0:w] += alpha·acc[i][0:w]; {@code cOff} points at the first column of this range. */
    private static void addScaled(int m, int w, float alpha, float[] acc, MemorySegment c, long cOff, int ldc) {
        int L = F.length();
        for (int i = 0; i < m; i++) {
            long cRow = cOff + (long) i * ldc;
            int ci = i * w, j = 0;
            for (; j + L <= w; j += L) {
                FloatVector.fromArray(F, acc, ci + j)
                        .fma(FloatVector.broadcast(F, alpha), FloatVector.fromMemorySegment(F, c, (cRow + j) * 4, NO))
                        .intoMemorySegment(c, (cRow + j) * 4, NO);
            }
            for (; j < w; j++) c.setAtIndex(FL, cRow + j, c.getAtIndex(FL, cRow + j) + alpha * acc[ci + j]);
        }
    }
}
