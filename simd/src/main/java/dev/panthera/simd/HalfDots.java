package dev.panthera.simd;

import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dot products of F32 activations with 16-bit weight rows (F16, and BF16 in {@link #dot2Bf16}), converting the
 * weights in registers two halves per int lane.
 *
 * <p>An int vector holds twice as many consecutive halves as it has lanes (32 in sixteen lanes where the machine has
 * 512-bit vectors, else 16 in eight): the low halves are the even-indexed elements, the high halves the odd-indexed
 * ones. Each half is moved so that its sign lands on the float sign bit and its 5 exponent and 10 mantissa bits on the
 * float's low exponent bits and top mantissa bits; multiplied by 2^112 that float is the half's value, exact for
 * normals, subnormals and zeros (IEEE binary16 → binary32 differs only in the exponent bias, 127 − 15 = 112). The
 * activations are reordered to match: each full block becomes its even then its odd elements ({@link #splitEvenOdd}).
 * This is two shifts, an and and a multiply per vector of weights, against the 14 vector operations of a lane-by-lane
 * conversion with inf/NaN selects. Sixteen lanes issue half as many conversion operations per weight byte as
 * eight. Where every activation is below 2^15 in magnitude ({@link #scalable}, nearly always) the multiply moves to
 * the activations, once per product instead of once per weight vector, and the sums keep their bits.
 *
 * <p>Exponent 31 (inf, NaN) would come out finite, so every block also keeps the largest magnitude bits seen (a
 * 16-bit max over {@code h & 0x7FFF}, at least 0x7C00 only for exponent 31); a flagged pair of rows is reported and
 * the caller recomputes it with the exact scalar conversion. {@link #rows} is the decode's loop over output rows that
 * drives them; the forms for several activation rows at once are in {@link HalfDotsBatch}.
 */
final class HalfDots {
    private HalfDots() {}

    /** Sixteen lanes where the machine's width ({@link Lanes#PACKED}) has them, else eight. */
    static final VectorSpecies<Float> F = Lanes.PACKED;

    static final VectorSpecies<Integer> I = F.withLanes(int.class);
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    /** Elements per block: the halves one int vector holds (twice its lanes). */
    static final int BLOCK = 2 * F.length();

    static final int HALF = F.length();

    /**
     * dst[d0 + ...] = src[s0 + ...] with every full {@link #BLOCK} reordered to its even then its odd elements and
     * multiplied by {@code scale} (a power of two); the elements after the last full block are copied as they are.
     */
    static void splitEvenOdd(float[] src, int s0, float[] dst, int d0, int n, float scale) {
        int p = 0;
        for (; p + BLOCK <= n; p += BLOCK) {
            for (int i = 0; i < HALF; i++) {
                dst[d0 + p + i] = src[s0 + p + 2 * i] * scale;
                dst[d0 + p + HALF + i] = src[s0 + p + 2 * i + 1] * scale;
            }
        }
        for (; p < n; p++) dst[d0 + p] = src[s0 + p];
    }

    /**
     * Whether the F16 dots may take activations pre-multiplied by 2^112 ({@link #F16_SCALE}) and leave the weights'
     * bias multiply out: when every |x| is below 2^15, x·2^112 is finite and exact, and x·2^112 times the weight's
     * bits placed in a float (its value times 2^-112, exact too, subnormal for the half's smallest values) is the
     * exact product x·w, so each FMA rounds the same real number it rounds unscaled. False for inf and NaN.
     */
    static boolean scalable(float[] x, int x0, int n) {
        float max = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, Math.abs(x[x0 + i]));
        return max < 0x1p15f; // false for NaN too
    }

    /** What {@link #scalable} activations are multiplied by before an F16 dot. */
    static final float F16_SCALE = 0x1p112f;

    /**
     * Two F16 weight rows (element offsets r0, r1) against one split activation piece of n elements: out[0], out[1]
     * receive the sums; false, with nothing written, when a full block of either row holds an inf or NaN. Each
     * activation vector is loaded once for both rows, and the two rows are two streams from memory. {@code scaled}:
     * the full blocks of x were multiplied by {@link #F16_SCALE} ({@link #scalable}), so the weights skip the bias
     * multiply; the sums are the same bits either way.
     */
    static boolean dot2(float[] x, int x0, MemorySegment w, long r0, long r1, int n, boolean scaled, float[] out) {
        // even/odd sums of row r0 (s) and r1 (t)
        FloatVector sE = FloatVector.zero(F), sO = sE, tE = sE, tO = sE;
        ShortVector flag = ShortVector.zero(S);
        long ra = r0, rb = r1;
        int p = 0;
        for (; p + BLOCK <= n; p += BLOCK) {
            FloatVector xe = FloatVector.fromArray(F, x, x0 + p), xo = FloatVector.fromArray(F, x, x0 + p + HALF);
            // the two rows through one parsed body, swapping rows and sums: C2 unrolls these two steps, but parses
            // and inlines the Vector API calls once. Written out per row, the method passed C2's node limit for
            // inlining (NodeCountInliningCutoff) and the lane sums below ran out of line on boxed vectors.
            for (int r = 0; r < 2; r++) {
                IntVector v = IntVector.fromMemorySegment(I, w, (ra + p) * 2, NO);
                // the largest |half| bits seen: exponent 31 (inf, NaN) is 0x7C00 and above
                flag = flag.max(v.reinterpretAsShorts().and((short) 0x7FFF));
                FloatVector lo = lowBits(v), hi = highBits(v);
                if (!scaled) {
                    lo = lo.mul(F16_SCALE);
                    hi = hi.mul(F16_SCALE);
                }
                FloatVector e = xe.fma(lo, sE), o = xo.fma(hi, sO);
                sE = tE;
                sO = tO;
                tE = e;
                tO = o;
                long q = ra;
                ra = rb;
                rb = q;
            }
        }
        if (flag.compare(VectorOperators.GE, (short) 0x7C00).anyTrue()) return false;
        float d0 = LaneSum.sum(sE.add(sO)), d1 = LaneSum.sum(tE.add(tO));
        for (; p < n; p++) {
            d0 += x[x0 + p]
                    * Float.float16ToFloat(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, r0 + p));
            d1 += x[x0 + p]
                    * Float.float16ToFloat(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, r1 + p));
        }
        out[0] = d0;
        out[1] = d1;
        return true;
    }

    /**
     * {@link #dot2} over four rows (element offsets r0..r3) with each activation vector loaded once for all four: for
     * rows long enough that one activation piece and two rows do not fit the L1 cache together (each activation
     * vector would otherwise come back from L2 for every row pair, in the way of the weight streams). Each row's sum is
     * formed exactly as dot2 forms it, so the bits are dot2's; false, with nothing written, when a full block of any of
     * the four rows holds an inf or NaN.
     */
    static boolean dot4(
            float[] x,
            int x0,
            MemorySegment w,
            long r0,
            long r1,
            long r2,
            long r3,
            int n,
            boolean scaled,
            float[] out) {
        // rows a..d, even/odd sums each; the four rows go through one parsed body, rotating rows and sums (see dot2)
        FloatVector aE = FloatVector.zero(F), aO = aE, bE = aE, bO = aE, cE = aE, cO = aE, dE = aE, dO = aE;
        ShortVector flag = ShortVector.zero(S);
        long ra = r0, rb = r1, rc = r2, rd = r3;
        int p = 0;
        for (; p + BLOCK <= n; p += BLOCK) {
            FloatVector xe = FloatVector.fromArray(F, x, x0 + p), xo = FloatVector.fromArray(F, x, x0 + p + HALF);
            for (int r = 0; r < 4; r++) {
                IntVector v = IntVector.fromMemorySegment(I, w, (ra + p) * 2, NO);
                flag = flag.max(v.reinterpretAsShorts().and((short) 0x7FFF));
                FloatVector lo = lowBits(v), hi = highBits(v);
                if (!scaled) {
                    lo = lo.mul(F16_SCALE);
                    hi = hi.mul(F16_SCALE);
                }
                FloatVector e = xe.fma(lo, aE), o = xo.fma(hi, aO);
                aE = bE;
                aO = bO;
                bE = cE;
                bO = cO;
                cE = dE;
                cO = dO;
                dE = e;
                dO = o;
                long q = ra;
                ra = rb;
                rb = rc;
                rc = rd;
                rd = q;
            }
        }
        if (flag.compare(VectorOperators.GE, (short) 0x7C00).anyTrue()) return false;
        out[0] = LaneSum.sum(aE.add(aO));
        out[1] = LaneSum.sum(bE.add(bO));
        out[2] = LaneSum.sum(cE.add(cO));
        out[3] = LaneSum.sum(dE.add(dO));
        halfTails(x, x0, w, p, n, r0, r1, r2, r3, out);
        return true;
    }

    /** The elements from p to n of rows r0..r3, added to out[0..3] one at a time, as dot2's tail adds them. */
    private static void halfTails(
            float[] x, int x0, MemorySegment w, int p, int n, long r0, long r1, long r2, long r3, float[] out) {
        for (; p < n; p++) {
            float xv = x[x0 + p];
            out[0] +=
                    xv * Float.float16ToFloat(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, r0 + p));
            out[1] +=
                    xv * Float.float16ToFloat(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, r1 + p));
            out[2] +=
                    xv * Float.float16ToFloat(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, r2 + p));
            out[3] +=
                    xv * Float.float16ToFloat(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, r3 + p));
        }
    }

    /** {@link #dot4} for BF16 rows: each row's sums formed as {@link #dot2Bf16} forms them (its bits). */
    static void dot4Bf16(float[] x, int x0, MemorySegment w, long r0, long r1, long r2, long r3, int n, float[] out) {
        // each row's sums A (first block of a step, and single blocks) and B (second block), rotated as in dot4
        FloatVector aA = FloatVector.zero(F), aB = aA, bA = aA, bB = aA, cA = aA, cB = aA, dA = aA, dB = aA;
        long ra = r0, rb = r1, rc = r2, rd = r3;
        int p = 0;
        for (; p + 2 * BLOCK <= n; p += 2 * BLOCK) {
            FloatVector xe = FloatVector.fromArray(F, x, x0 + p), xo = FloatVector.fromArray(F, x, x0 + p + HALF);
            FloatVector ye = FloatVector.fromArray(F, x, x0 + p + BLOCK),
                    yo = FloatVector.fromArray(F, x, x0 + p + BLOCK + HALF);
            for (int r = 0; r < 4; r++) {
                FloatVector a = bf16(IntVector.fromMemorySegment(I, w, (ra + p) * 2, NO), xe, xo, aA);
                FloatVector b = bf16(IntVector.fromMemorySegment(I, w, (ra + p + BLOCK) * 2, NO), ye, yo, aB);
                aA = bA;
                aB = bB;
                bA = cA;
                bB = cB;
                cA = dA;
                cB = dB;
                dA = a;
                dB = b;
                long q = ra;
                ra = rb;
                rb = rc;
                rc = rd;
                rd = q;
            }
        }
        for (; p + BLOCK <= n; p += BLOCK) {
            FloatVector xe = FloatVector.fromArray(F, x, x0 + p), xo = FloatVector.fromArray(F, x, x0 + p + HALF);
            for (int r = 0; r < 4; r++) {
                FloatVector a = bf16(IntVector.fromMemorySegment(I, w, (ra + p) * 2, NO), xe, xo, aA);
                aA = bA;
                bA = cA;
                cA = dA;
                dA = a;
                long q = ra;
                ra = rb;
                rb = rc;
                rc = rd;
                rd = q;
            }
        }
        out[0] = LaneSum.sum(aA.add(aB));
        out[1] = LaneSum.sum(bA.add(bB));
        out[2] = LaneSum.sum(cA.add(cB));
        out[3] = LaneSum.sum(dA.add(dB));
        for (; p < n; p++) {
            float xv = x[x0 + p];
            out[0] += xv * bf16At(w, r0 + p);
            out[1] += xv * bf16At(w, r1 + p);
            out[2] += xv * bf16At(w, r2 + p);
            out[3] += xv * bf16At(w, r3 + p);
        }
    }

    static float bf16At(MemorySegment w, long at) {
        return Float.intBitsToFloat(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, at) << 16);
    }

    /** {@link #dot2} for BF16 rows (a shift or a mask per half; every BF16 pattern converts, so it always succeeds). */
    static void dot2Bf16(float[] x, int x0, MemorySegment w, long r0, long r1, int n, float[] out) {
        // row r0's sums sA (first block of a step, and single blocks) and sB (second block); row r1's tA and tB. The
        // two rows go through one parsed body, swapping rows and sums, as in dot2
        FloatVector sA = FloatVector.zero(F), sB = sA, tA = sA, tB = sA;
        long ra = r0, rb = r1;
        int p = 0;
        for (; p + 2 * BLOCK <= n; p += 2 * BLOCK) { // two blocks per row per step: 128 bytes of weights
            FloatVector xe = FloatVector.fromArray(F, x, x0 + p), xo = FloatVector.fromArray(F, x, x0 + p + HALF);
            FloatVector ye = FloatVector.fromArray(F, x, x0 + p + BLOCK),
                    yo = FloatVector.fromArray(F, x, x0 + p + BLOCK + HALF);
            for (int r = 0; r < 2; r++) {
                FloatVector a = bf16(IntVector.fromMemorySegment(I, w, (ra + p) * 2, NO), xe, xo, sA);
                FloatVector b = bf16(IntVector.fromMemorySegment(I, w, (ra + p + BLOCK) * 2, NO), ye, yo, sB);
                sA = tA;
                sB = tB;
                tA = a;
                tB = b;
                long q = ra;
                ra = rb;
                rb = q;
            }
        }
        for (; p + BLOCK <= n; p += BLOCK) {
            FloatVector xe = FloatVector.fromArray(F, x, x0 + p), xo = FloatVector.fromArray(F, x, x0 + p + HALF);
            for (int r = 0; r < 2; r++) {
                FloatVector a = bf16(IntVector.fromMemorySegment(I, w, (ra + p) * 2, NO), xe, xo, sA);
                sA = tA;
                tA = a;
                long q = ra;
                ra = rb;
                rb = q;
            }
        }
        float d0 = LaneSum.sum(sA.add(sB)), d1 = LaneSum.sum(tA.add(tB));
        for (; p < n; p++) {
            d0 += x[x0 + p] * bf16At(w, r0 + p);
            d1 += x[x0 + p] * bf16At(w, r1 + p);
        }
        out[0] = d0;
        out[1] = d1;
    }

    /** acc + xe·(even BF16 halves of v) + xo·(odd halves), the even product first. */
    private static FloatVector bf16(IntVector v, FloatVector xe, FloatVector xo, FloatVector acc) {
        return xo.fma(
                v.and(0xFFFF0000).reinterpretAsFloats(),
                xe.fma(v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), acc));
    }

    /** The even-indexed halves (low 16 bits of each lane) as floats; not for exponent 31. */
    static FloatVector low(IntVector v) {
        return lowBits(v).mul(F16_SCALE);
    }

    /** The odd-indexed halves (high 16 bits of each lane) as floats; not for exponent 31. */
    static FloatVector high(IntVector v) {
        return highBits(v).mul(F16_SCALE);
    }

    /** The even-indexed halves' sign, exponent and mantissa moved into float bits: each half's value times 2^-112. */
    static FloatVector lowBits(IntVector v) {
        return v.lanewise(VectorOperators.LSHL, 16)
                .lanewise(VectorOperators.ASHR, 3)
                .and(0x8FFFE000)
                .reinterpretAsFloats();
    }

    /** {@link #lowBits} for the odd-indexed halves. */
    static FloatVector highBits(IntVector v) {
        return v.lanewise(VectorOperators.ASHR, 3).and(0x8FFFE000).reinterpretAsFloats();
    }

    /**
     * acc[i][j] += Σ_{p in [pc, pe)} av[i][p]·B[j0 + j][p] for 16-bit B rows (SkinnyGemm's decode dots): the activation
     * pieces are reordered once into {@code split} ({@link #splitEvenOdd}), then two B rows (outputs) per pass (F16:
     * against four activation rows at a time, {@link HalfDotsBatch#dot2x4}, then two, {@link HalfDotsBatch#dot2x2};
     * BF16 four at a time, {@link HalfDotsBatch#dot2x4Bf16}, then one), or four for one activation row and rows longer
     * than {@link #LONG_ROWS}; a pair or quad holding an F16 inf or NaN is summed again with the exact scalar
     * conversion. {@code split} holds at least m·(pe − pc) floats; {@code pair}, {@code outs} and {@code lanes} are
     * scratch of two, eight and {@link HalfDotsBatch#LANES}.
     */
    static void rows(
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
            float[] split,
            float[] pair,
            float[] outs,
            float[] lanes) {
        int len = pe - pc;
        boolean half = kind == DType.F16;
        boolean scaled = half;
        for (int i = 0; i < m && scaled; i++) scaled = scalable(av, i * k + pc, len);
        float scale = scaled ? F16_SCALE : 1f;
        for (int i = 0; i < m; i++) splitEvenOdd(av, i * k + pc, split, i * len, len, scale);
        int from = 0;
        if (m == 1 && len > LONG_ROWS) from = quads(kind, w, j0, len, av, pc, split, acc, b, bOff, ldb, scaled, outs);
        // rows j and j + half go together: two streams far apart in memory rather than two neighbouring rows
        int rest = w - from, half2 = (rest + 1) / 2;
        for (int jj = 0; jj < half2; jj++) {
            int j = from + jj;
            int j1 = j + half2 < w ? j + half2 : j; // an odd middle column pairs with itself
            long row0 = bOff + (long) (j0 + j) * ldb + pc, row1 = bOff + (long) (j0 + j1) * ldb + pc;
            int i = 0;
            if (half) // four activation rows per pass: each weight vector converted once for the four
            for (; i + 4 <= m; i += 4) {
                    if (!HalfDotsBatch.dot2x4(split, i * len, len, b, row0, row1, len, scaled, outs, lanes))
                        exactPairs(kind, av, i, 4, k, pc, b, row0, row1, len, outs);
                    addPairs(acc, i, 4, w, j, j1, outs);
                }
            if (half) // then two
            for (; i + 2 <= m; i += 2) {
                    if (!HalfDotsBatch.dot2x2(split, i * len, (i + 1) * len, b, row0, row1, len, scaled, outs, lanes))
                        exactPairs(kind, av, i, 2, k, pc, b, row0, row1, len, outs);
                    addPairs(acc, i, 2, w, j, j1, outs);
                }
            if (!half) // BF16: four activation rows per pass, then one
            for (; i + 4 <= m; i += 4) {
                    HalfDotsBatch.dot2x4Bf16(split, i * len, len, b, row0, row1, len, outs, lanes);
                    addPairs(acc, i, 4, w, j, j1, outs);
                }
            for (; i < m; i++) {
                boolean ok = true;
                if (half) ok = dot2(split, i * len, b, row0, row1, len, scaled, pair);
                else dot2Bf16(split, i * len, b, row0, row1, len, pair);
                if (!ok) exactPairs(kind, av, i, 1, k, pc, b, row0, row1, len, pair);
                addPairs(acc, i, 1, w, j, j1, pair);
            }
        }
    }

    /**
     * out[2t], out[2t + 1] for t < count: activation row i + t's piece against B rows row0 and row1, each weight
     * converted exactly ({@link #exactRow}), for a pass whose vector dot met an F16 inf or NaN.
     */
    private static void exactPairs(
            DType kind,
            float[] av,
            int i,
            int count,
            int k,
            int pc,
            MemorySegment b,
            long row0,
            long row1,
            int len,
            float[] out) {
        for (int t = 0; t < count; t++) {
            out[2 * t] = exactRow(kind, av, (i + t) * k + pc, b, row0, len);
            out[2 * t + 1] = exactRow(kind, av, (i + t) * k + pc, b, row1, len);
        }
    }

    /** acc[(i + t)·w + j] += out[2t] and acc[(i + t)·w + j1] += out[2t + 1] for t < count (once where j1 = j). */
    private static void addPairs(float[] acc, int i, int count, int w, int j, int j1, float[] out) {
        for (int t = 0; t < count; t++) {
            acc[(i + t) * w + j] += out[2 * t];
            if (j1 != j) acc[(i + t) * w + j1] += out[2 * t + 1];
        }
    }

    /**
     * Row pieces longer than this many 16-bit weights take {@link #quads} in decode: with one activation piece (4 bytes
     * an element, split) and two weight rows (2 bytes an element each) past 32 KiB, the activation no longer stays in
     * a 32 KiB L1 from one row pair to the next.
     */
    static final int LONG_ROWS = 4096;

    /**
     * The first 4·⌊w/4⌋ outputs of a one-row 16-bit decode product four rows per pass, rows j, j + q, j + 2q and j + 3q
     * (four streams far apart; each activation vector loaded once for the outs, {@link #dot4}); returns how
     * many outputs it did. A quad holding an F16 inf or NaN is summed again with the exact scalar conversion.
     */
    private static int quads(
            DType kind,
            int w,
            int j0,
            int len,
            float[] av,
            int pc,
            float[] split,
            float[] acc,
            MemorySegment b,
            long bOff,
            int ldb,
            boolean scaled,
            float[] outs) {
        int q = w / 4;
        for (int j = 0; j < q; j++) {
            long r0 = bOff + (long) (j0 + j) * ldb + pc, r1 = r0 + (long) q * ldb;
            long r2 = r1 + (long) q * ldb, r3 = r2 + (long) q * ldb;
            boolean ok = true;
            if (kind == DType.F16) ok = dot4(split, 0, b, r0, r1, r2, r3, len, scaled, outs);
            else dot4Bf16(split, 0, b, r0, r1, r2, r3, len, outs);
            if (!ok) {
                outs[0] = exactRow(kind, av, pc, b, r0, len);
                outs[1] = exactRow(kind, av, pc, b, r1, len);
                outs[2] = exactRow(kind, av, pc, b, r2, len);
                outs[3] = exactRow(kind, av, pc, b, r3, len);
            }
            for (int r = 0; r < 4; r++) acc[j + r * q] += outs[r];
        }
        return 4 * q;
    }

    /**
     * Σ av[a0 + p]·B[row + p] over p < len with each weight converted exactly (inf and NaN included), summed in order:
     * the sum for a pair or quad of rows the vector dots refused.
     */
    private static float exactRow(DType kind, float[] av, int a0, MemorySegment b, long row, int len) {
        float s = 0;
        for (int p = 0; p < len; p++) s += av[a0 + p] * WeightLoads.load1(kind, b, row + p);
        return s;
    }
}
