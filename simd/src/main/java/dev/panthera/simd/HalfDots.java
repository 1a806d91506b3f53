package dev.panthera.simd;

import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
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
 * drives them.
 */
final class HalfDots {
    private HalfDots() {}

    /** Sixteen lanes where the machine's width ({@link Lanes#PACKED}) has them, else eight. */
    private static final VectorSpecies<Float> F = Lanes.PACKED;

    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    /** Elements per block: the halves one int vector holds (twice its lanes). */
    static final int BLOCK = 2 * F.length();

    private static final int HALF = F.length();

    /** Scratch floats {@link #dot2x2}, {@link #dot2x4} and {@link #dot2x4Bf16} store their sums' vector in. */
    static final int LANES = HALF;

    /*
     * Several vectors' lane sums at once (dot2x2's four, dot2x4's and dot2x4Bf16's eight), each in LaneSum.sum's
     * halving-tree order, so with its bits: at the level that adds lanes h apart, two vectors X and Y whose lanes are
     * grouped in blocks of 2h go into one, X's blocks' lower halves beside Y's upper halves, plus the same with X and
     * Y exchanged and each block's halves swapped: lane i of the result is X_i + X_{i+h} or Y_i + Y_{i−h}, the
     * additions the tree makes (IEEE addition commutes). Pairs of vectors halve their number each level; once one is
     * left, the remaining levels add lanes h apart within it (q + q swapped). Written out in each kernel: a helper
     * method would be left out of line in kernels this large, its vectors boxed.
     */
    private static final VectorMask<Float> MASK_A = upperHalves(HALF / 2),
            MASK_B = upperHalves(HALF / 4),
            MASK_C = upperHalves(Math.max(1, HALF / 8));
    private static final VectorShuffle<Float> SWAP_A = swap(HALF / 2),
            SWAP_B = swap(HALF / 4),
            SWAP_C = swap(Math.max(1, HALF / 8)),
            SWAP_D = swap(Math.max(1, HALF / 16));
    /** The lane of the last vector holding sum t, t indexing dot2x2's out and dot2x4's out. */
    private static final int[] SUM_LANE4 = sumLanes(4), SUM_LANE8 = sumLanes(8);

    private static VectorMask<Float> upperHalves(int h) {
        boolean[] m = new boolean[HALF];
        for (int i = 0; i < HALF; i++) m[i] = i % (2 * h) >= h;
        return VectorMask.fromArray(F, m, 0);
    }

    private static VectorShuffle<Float> swap(int h) {
        return VectorShuffle.fromOp(F, i -> i ^ h);
    }

    /** Follows n sums' lanes through the pairing levels (labels in place of values). */
    private static int[] sumLanes(int count) {
        int[][] v = new int[count][HALF];
        for (int t = 0; t < count; t++) java.util.Arrays.fill(v[t], t);
        int n = count;
        for (int h = HALF / 2; n > 1; h /= 2, n /= 2) {
            int[][] next = new int[n / 2][HALF];
            for (int g = 0; g < n / 2; g++)
                for (int i = 0; i < HALF; i++) next[g][i] = i % (2 * h) >= h ? v[2 * g + 1][i] : v[2 * g][i];
            v = next;
        }
        int[] lane = new int[count];
        for (int t = 0; t < count; t++) {
            int i = 0;
            while (v[0][i] != t) i++;
            lane[t] = i;
        }
        return lane;
    }

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
     * {@link #dot2} for two activation pieces at once (x from x0 and from x1) against the same two F16 rows: each
     * weight vector is loaded and converted once for both. out[0], out[1] receive x0's sums with r0 and r1, out[2],
     * out[3] x1's; each sum is formed exactly as dot2 forms it (its bits); false, with nothing written, when a full
     * block of either row holds an inf or NaN. {@code lanes}: scratch of {@link #LANES} floats.
     */
    static boolean dot2x2(
            float[] x,
            int x0,
            int x1,
            MemorySegment w,
            long r0,
            long r1,
            int n,
            boolean scaled,
            float[] out,
            float[] lanes) {
        // x0's even/odd sums with row r0 (s) and r1 (t), x1's with r0 (u) and r1 (v); rows rotate as in dot2
        FloatVector sE = FloatVector.zero(F), sO = sE, tE = sE, tO = sE, uE = sE, uO = sE, vE = sE, vO = sE;
        ShortVector flag = ShortVector.zero(S);
        long ra = r0, rb = r1;
        int p = 0;
        for (; p + BLOCK <= n; p += BLOCK) {
            FloatVector xe = FloatVector.fromArray(F, x, x0 + p), xo = FloatVector.fromArray(F, x, x0 + p + HALF);
            FloatVector ye = FloatVector.fromArray(F, x, x1 + p), yo = FloatVector.fromArray(F, x, x1 + p + HALF);
            for (int r = 0; r < 2; r++) {
                IntVector v = IntVector.fromMemorySegment(I, w, (ra + p) * 2, NO);
                flag = flag.max(v.reinterpretAsShorts().and((short) 0x7FFF));
                FloatVector lo = lowBits(v), hi = highBits(v);
                if (!scaled) {
                    lo = lo.mul(F16_SCALE);
                    hi = hi.mul(F16_SCALE);
                }
                FloatVector e = xe.fma(lo, sE), o = xo.fma(hi, sO), f = ye.fma(lo, uE), g = yo.fma(hi, uO);
                sE = tE;
                sO = tO;
                tE = e;
                tO = o;
                uE = vE;
                uO = vO;
                vE = f;
                vO = g;
                long q = ra;
                ra = rb;
                rb = q;
            }
        }
        if (flag.compare(VectorOperators.GE, (short) 0x7C00).anyTrue()) return false;
        FloatVector s = sE.add(sO), t = tE.add(tO), u = uE.add(uO), z = vE.add(vO);
        FloatVector m0 = s.blend(t, MASK_A).add(t.blend(s, MASK_A).rearrange(SWAP_A));
        FloatVector m1 = u.blend(z, MASK_A).add(z.blend(u, MASK_A).rearrange(SWAP_A));
        FloatVector q = m0.blend(m1, MASK_B).add(m1.blend(m0, MASK_B).rearrange(SWAP_B));
        q = q.add(q.rearrange(SWAP_C));
        if (HALF == 16) q = q.add(q.rearrange(SWAP_D));
        q.intoArray(lanes, 0);
        float a = lanes[SUM_LANE4[0]], b = lanes[SUM_LANE4[1]], c = lanes[SUM_LANE4[2]], d = lanes[SUM_LANE4[3]];
        for (; p < n; p++) {
            float w0 = Float.float16ToFloat(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, r0 + p));
            float w1 = Float.float16ToFloat(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, r1 + p));
            a += x[x0 + p] * w0;
            b += x[x0 + p] * w1;
            c += x[x1 + p] * w0;
            d += x[x1 + p] * w1;
        }
        out[0] = a;
        out[1] = b;
        out[2] = c;
        out[3] = d;
        return true;
    }

    /**
     * {@link #dot2} for four activation pieces at once (from x0, x0 + xs, x0 + 2·xs, x0 + 3·xs) against the same two
     * F16 rows: each weight vector is loaded and converted once for the four. out[2t], out[2t + 1] receive piece t's
     * sums with r0 and r1; each sum is formed exactly as dot2 forms it (its bits); false, with nothing written, when a
     * full block of either row holds an inf or NaN. {@code lanes}: scratch of {@link #LANES} floats.
     */
    static boolean dot2x4(
            float[] x,
            int x0,
            int xs,
            MemorySegment w,
            long r0,
            long r1,
            int n,
            boolean scaled,
            float[] out,
            float[] lanes) {
        // piece t's even/odd sums with the current row (a) and the other row (b); rows rotate as in dot2
        FloatVector a0e = FloatVector.zero(F),
                a0o = a0e,
                a1e = a0e,
                a1o = a0e,
                a2e = a0e,
                a2o = a0e,
                a3e = a0e,
                a3o = a0e;
        FloatVector b0e = a0e, b0o = a0e, b1e = a0e, b1o = a0e, b2e = a0e, b2o = a0e, b3e = a0e, b3o = a0e;
        ShortVector flag = ShortVector.zero(S);
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
        long ra = r0, rb = r1;
        int p = 0;
        for (; p + BLOCK <= n; p += BLOCK) {
            FloatVector p0e = FloatVector.fromArray(F, x, x0 + p), p0o = FloatVector.fromArray(F, x, x0 + p + HALF);
            FloatVector p1e = FloatVector.fromArray(F, x, x1 + p), p1o = FloatVector.fromArray(F, x, x1 + p + HALF);
            FloatVector p2e = FloatVector.fromArray(F, x, x2 + p), p2o = FloatVector.fromArray(F, x, x2 + p + HALF);
            FloatVector p3e = FloatVector.fromArray(F, x, x3 + p), p3o = FloatVector.fromArray(F, x, x3 + p + HALF);
            for (int r = 0; r < 2; r++) {
                IntVector v = IntVector.fromMemorySegment(I, w, (ra + p) * 2, NO);
                flag = flag.max(v.reinterpretAsShorts().and((short) 0x7FFF));
                FloatVector lo = lowBits(v), hi = highBits(v);
                if (!scaled) {
                    lo = lo.mul(F16_SCALE);
                    hi = hi.mul(F16_SCALE);
                }
                FloatVector n0e = p0e.fma(lo, a0e),
                        n0o = p0o.fma(hi, a0o),
                        n1e = p1e.fma(lo, a1e),
                        n1o = p1o.fma(hi, a1o),
                        n2e = p2e.fma(lo, a2e),
                        n2o = p2o.fma(hi, a2o),
                        n3e = p3e.fma(lo, a3e),
                        n3o = p3o.fma(hi, a3o);
                a0e = b0e;
                a0o = b0o;
                a1e = b1e;
                a1o = b1o;
                a2e = b2e;
                a2o = b2o;
                a3e = b3e;
                a3o = b3o;
                b0e = n0e;
                b0o = n0o;
                b1e = n1e;
                b1o = n1o;
                b2e = n2e;
                b2o = n2o;
                b3e = n3e;
                b3o = n3o;
                long q = ra;
                ra = rb;
                rb = q;
            }
        }
        if (flag.compare(VectorOperators.GE, (short) 0x7C00).anyTrue()) return false;
        // after an even number of rotations a holds row r0's sums and b row r1's; each lane sum is LaneSum's tree
        FloatVector s0 = a0e.add(a0o), t0 = b0e.add(b0o), s1 = a1e.add(a1o), t1 = b1e.add(b1o);
        FloatVector s2 = a2e.add(a2o), t2 = b2e.add(b2o), s3 = a3e.add(a3o), t3 = b3e.add(b3o);
        FloatVector m0 = s0.blend(t0, MASK_A).add(t0.blend(s0, MASK_A).rearrange(SWAP_A));
        FloatVector m1 = s1.blend(t1, MASK_A).add(t1.blend(s1, MASK_A).rearrange(SWAP_A));
        FloatVector m2 = s2.blend(t2, MASK_A).add(t2.blend(s2, MASK_A).rearrange(SWAP_A));
        FloatVector m3 = s3.blend(t3, MASK_A).add(t3.blend(s3, MASK_A).rearrange(SWAP_A));
        FloatVector n0 = m0.blend(m1, MASK_B).add(m1.blend(m0, MASK_B).rearrange(SWAP_B));
        FloatVector n1 = m2.blend(m3, MASK_B).add(m3.blend(m2, MASK_B).rearrange(SWAP_B));
        FloatVector q = n0.blend(n1, MASK_C).add(n1.blend(n0, MASK_C).rearrange(SWAP_C));
        if (HALF == 16) q = q.add(q.rearrange(SWAP_D));
        q.intoArray(lanes, 0);
        for (int t = 0; t < 8; t++) out[t] = lanes[SUM_LANE8[t]];
        for (; p < n; p++) {
            float w0 = Float.float16ToFloat(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, r0 + p));
            float w1 = Float.float16ToFloat(w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, r1 + p));
            for (int t = 0; t < 4; t++) {
                out[2 * t] += x[x0 + t * xs + p] * w0;
                out[2 * t + 1] += x[x0 + t * xs + p] * w1;
            }
        }
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

    private static float bf16At(MemorySegment w, long at) {
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

    /**
     * {@link #dot2Bf16} for four activation pieces at once (from x0, x0 + xs, x0 + 2·xs, x0 + 3·xs) against the same
     * two BF16 rows: each weight vector is loaded and converted once for the four. out[2t], out[2t + 1] receive piece
     * t's sums with r0 and r1, each formed as dot2Bf16 forms it (its bits: the even-numbered blocks into one sum, the
     * odd-numbered into another, each block's even product first). {@code lanes}: scratch of {@link #LANES} floats.
     */
    static void dot2x4Bf16(
            float[] x, int x0, int xs, MemorySegment w, long r0, long r1, int n, float[] out, float[] lanes) {
        // this block's sums (u: the current row, v: the other) and the next block's (g, h), per piece; rows rotate
        // within a block as in dot2, and the two block sums trade places after each block
        FloatVector u0 = FloatVector.zero(F), u1 = u0, u2 = u0, u3 = u0, v0 = u0, v1 = u0, v2 = u0, v3 = u0;
        FloatVector g0 = u0, g1 = u0, g2 = u0, g3 = u0, h0 = u0, h1 = u0, h2 = u0, h3 = u0;
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
        long ra = r0, rb = r1;
        int p = 0;
        for (; p + BLOCK <= n; p += BLOCK) {
            FloatVector p0e = FloatVector.fromArray(F, x, x0 + p), p0o = FloatVector.fromArray(F, x, x0 + p + HALF);
            FloatVector p1e = FloatVector.fromArray(F, x, x1 + p), p1o = FloatVector.fromArray(F, x, x1 + p + HALF);
            FloatVector p2e = FloatVector.fromArray(F, x, x2 + p), p2o = FloatVector.fromArray(F, x, x2 + p + HALF);
            FloatVector p3e = FloatVector.fromArray(F, x, x3 + p), p3o = FloatVector.fromArray(F, x, x3 + p + HALF);
            for (int r = 0; r < 2; r++) {
                IntVector wv = IntVector.fromMemorySegment(I, w, (ra + p) * 2, NO);
                FloatVector lo = wv.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                FloatVector hi = wv.and(0xFFFF0000).reinterpretAsFloats();
                FloatVector n0 = p0o.fma(hi, p0e.fma(lo, u0)), n1 = p1o.fma(hi, p1e.fma(lo, u1));
                FloatVector n2 = p2o.fma(hi, p2e.fma(lo, u2)), n3 = p3o.fma(hi, p3e.fma(lo, u3));
                u0 = v0;
                u1 = v1;
                u2 = v2;
                u3 = v3;
                v0 = n0;
                v1 = n1;
                v2 = n2;
                v3 = n3;
                long q = ra;
                ra = rb;
                rb = q;
            }
            FloatVector t0 = u0, t1 = u1, t2 = u2, t3 = u3;
            u0 = g0;
            u1 = g1;
            u2 = g2;
            u3 = g3;
            g0 = t0;
            g1 = t1;
            g2 = t2;
            g3 = t3;
            t0 = v0;
            t1 = v1;
            t2 = v2;
            t3 = v3;
            v0 = h0;
            v1 = h1;
            v2 = h2;
            v3 = h3;
            h0 = t0;
            h1 = t1;
            h2 = t2;
            h3 = t3;
        }
        // each (piece, row) sum: even blocks' plus odd blocks' (row r0's in u and g, row r1's in v and h)
        FloatVector s0 = u0.add(g0), s1 = v0.add(h0), s2 = u1.add(g1), s3 = v1.add(h1);
        FloatVector s4 = u2.add(g2), s5 = v2.add(h2), s6 = u3.add(g3), s7 = v3.add(h3);
        FloatVector m0 = s0.blend(s1, MASK_A).add(s1.blend(s0, MASK_A).rearrange(SWAP_A));
        FloatVector m1 = s2.blend(s3, MASK_A).add(s3.blend(s2, MASK_A).rearrange(SWAP_A));
        FloatVector m2 = s4.blend(s5, MASK_A).add(s5.blend(s4, MASK_A).rearrange(SWAP_A));
        FloatVector m3 = s6.blend(s7, MASK_A).add(s7.blend(s6, MASK_A).rearrange(SWAP_A));
        FloatVector e0 = m0.blend(m1, MASK_B).add(m1.blend(m0, MASK_B).rearrange(SWAP_B));
        FloatVector e1 = m2.blend(m3, MASK_B).add(m3.blend(m2, MASK_B).rearrange(SWAP_B));
        FloatVector q = e0.blend(e1, MASK_C).add(e1.blend(e0, MASK_C).rearrange(SWAP_C));
        if (HALF == 16) q = q.add(q.rearrange(SWAP_D));
        q.intoArray(lanes, 0);
        for (int t = 0; t < 8; t++) out[t] = lanes[SUM_LANE8[t]];
        for (; p < n; p++) {
            float w0 = bf16At(w, r0 + p), w1 = bf16At(w, r1 + p);
            for (int t = 0; t < 4; t++) {
                out[2 * t] += x[x0 + t * xs + p] * w0;
                out[2 * t + 1] += x[x0 + t * xs + p] * w1;
            }
        }
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
    private static FloatVector lowBits(IntVector v) {
        return v.lanewise(VectorOperators.LSHL, 16)
                .lanewise(VectorOperators.ASHR, 3)
                .and(0x8FFFE000)
                .reinterpretAsFloats();
    }

    /** {@link #lowBits} for the odd-indexed halves. */
    private static FloatVector highBits(IntVector v) {
        return v.lanewise(VectorOperators.ASHR, 3).and(0x8FFFE000).reinterpretAsFloats();
    }

    /**
     * acc[i][j] += Σ_{p in [pc, pe)} av[i][p]·B[j0 + j][p] for 16-bit B rows (SkinnyGemm's decode dots): the activation
     * pieces are reordered once into {@code split} ({@link #splitEvenOdd}), then two B rows (outputs) per pass (F16:
     * against four activation rows at a time, {@link #dot2x4}, then two, {@link #dot2x2}; BF16 four at a time,
     * {@link #dot2x4Bf16}, then one), or four for one activation row and rows longer than
     * {@link #LONG_ROWS}; a pair or quad holding an F16 inf or NaN
     * is summed again with the exact scalar conversion. {@code split} holds at least m·(pe − pc) floats; {@code pair},
     * {@code outs} and {@code lanes} are scratch of two, eight and {@link #LANES}.
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
                    if (!dot2x4(split, i * len, len, b, row0, row1, len, scaled, outs, lanes)) {
                        for (int t = 0; t < 4; t++) {
                            outs[2 * t] = exactRow(kind, av, (i + t) * k + pc, b, row0, len);
                            outs[2 * t + 1] = exactRow(kind, av, (i + t) * k + pc, b, row1, len);
                        }
                    }
                    for (int t = 0; t < 4; t++) {
                        acc[(i + t) * w + j] += outs[2 * t];
                        if (j1 != j) acc[(i + t) * w + j1] += outs[2 * t + 1];
                    }
                }
            if (half) // then two
            for (; i + 2 <= m; i += 2) {
                    if (!dot2x2(split, i * len, (i + 1) * len, b, row0, row1, len, scaled, outs, lanes)) {
                        for (int t = 0; t < 2; t++) {
                            outs[2 * t] = exactRow(kind, av, (i + t) * k + pc, b, row0, len);
                            outs[2 * t + 1] = exactRow(kind, av, (i + t) * k + pc, b, row1, len);
                        }
                    }
                    for (int t = 0; t < 2; t++) {
                        acc[(i + t) * w + j] += outs[2 * t];
                        if (j1 != j) acc[(i + t) * w + j1] += outs[2 * t + 1];
                    }
                }
            if (!half) // BF16: four activation rows per pass, then one
            for (; i + 4 <= m; i += 4) {
                    dot2x4Bf16(split, i * len, len, b, row0, row1, len, outs, lanes);
                    for (int t = 0; t < 4; t++) {
                        acc[(i + t) * w + j] += outs[2 * t];
                        if (j1 != j) acc[(i + t) * w + j1] += outs[2 * t + 1];
                    }
                }
            for (; i < m; i++) {
                boolean ok = true;
                if (half) ok = dot2(split, i * len, b, row0, row1, len, scaled, pair);
                else dot2Bf16(split, i * len, b, row0, row1, len, pair);
                if (!ok) {
                    pair[0] = exactRow(kind, av, i * k + pc, b, row0, len);
                    pair[1] = exactRow(kind, av, i * k + pc, b, row1, len);
                }
                acc[i * w + j] += pair[0];
                if (j1 != j) acc[i * w + j1] += pair[1];
            }
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
