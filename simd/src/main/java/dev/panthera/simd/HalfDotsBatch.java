package dev.panthera.simd;

import static dev.panthera.simd.HalfDots.BLOCK;
import static dev.panthera.simd.HalfDots.F;
import static dev.panthera.simd.HalfDots.F16_SCALE;
import static dev.panthera.simd.HalfDots.HALF;
import static dev.panthera.simd.HalfDots.I;
import static dev.panthera.simd.HalfDots.S;
import static dev.panthera.simd.HalfDots.bf16At;
import static dev.panthera.simd.HalfDots.highBits;
import static dev.panthera.simd.HalfDots.lowBits;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * {@link HalfDots}' two-row dots for several activation rows at once (a batch's decode step): each 16-bit weight
 * vector is loaded and converted once for two or four activation rows, and each (activation, row) sum is formed as
 * the one-activation dot ({@link HalfDots#dot2}, {@link HalfDots#dot2Bf16}) forms it, so it has that dot's bits.
 */
final class HalfDotsBatch {
    private HalfDotsBatch() {}

    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /** Scratch floats {@link #dot2x2}, {@link #dot2x4} and {@link #dot2x4Bf16} store their sums' vector in. */
    static final int LANES = HALF;

    /*
     * Several vectors' lane sums at once (dot2x2's four, dot2x4's and dot2x4Bf16's eight), each in LaneSum.sum's
     * halving-tree order, so with its bits: at the level that adds lanes h apart, two vectors X and Y whose lanes are
     * grouped in blocks of 2h go into one, X's blocks' lower halves beside Y's upper halves, plus the same with X and
     * Y exchanged and each block's halves swapped: lane i of the result is X_i + X_{i+h} or Y_i + Y_{i−h}, the
     * additions the tree makes (IEEE addition commutes). Pairs of vectors halve their number each level; once one is
     * left, the remaining levels add lanes h apart within it (q + q swapped). dot2x2, dot2x4 and dot2x4Bf16 write it
     * out: in kernels this large a helper is left out of line, its vectors boxed, and calling sums8 there measured
     * slower (BENCHMARKS.md, "F32 batches"); the smaller FloatDotsBatch kernel calls sums8, which C2 inlines.
     */
    private static final VectorMask<Float> MASK_A = upperHalves(HALF / 2),
            MASK_B = upperHalves(HALF / 4),
            MASK_C = upperHalves(Math.max(1, HALF / 8));
    private static final VectorShuffle<Float> SWAP_A = swap(HALF / 2),
            SWAP_B = swap(HALF / 4),
            SWAP_C = swap(Math.max(1, HALF / 8)),
            SWAP_D = swap(Math.max(1, HALF / 16));
    /** The lane of the last vector that holds sum t: dot2x2's out[t], and dot2x4's and dot2x4Bf16's. */
    private static final int[] SUM_LANE4 = sumLanes(4), SUM_LANE8 = sumLanes(8);

    /** out[t] = the lane sum of vector t (LaneSum's tree, its bits), the eight formed together as described above. */
    static void sums8(
            FloatVector s0,
            FloatVector s1,
            FloatVector s2,
            FloatVector s3,
            FloatVector s4,
            FloatVector s5,
            FloatVector s6,
            FloatVector s7,
            float[] lanes,
            float[] out) {
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
    }

    private static VectorMask<Float> upperHalves(int h) {
        boolean[] m = new boolean[HALF];
        for (int i = 0; i < HALF; i++) m[i] = i % (2 * h) >= h;
        return VectorMask.fromArray(F, m, 0);
    }

    private static VectorShuffle<Float> swap(int h) {
        return VectorShuffle.fromOp(F, i -> i ^ h);
    }

    /** Follows count sums' lanes through the pairing levels (labels in place of values). */
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
     * {@link HalfDots#dot2} for two activation pieces at once (x from x0 and from x1) against the same two F16 rows:
     * each weight vector is loaded and converted once for both. out[0], out[1] receive x0's sums with r0 and r1,
     * out[2], out[3] x1's; each sum is formed exactly as dot2 forms it (its bits); false, with nothing written, when a
     * full block of either row holds an inf or NaN. {@code lanes}: scratch of {@link #LANES} floats.
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
     * {@link HalfDots#dot2} for four activation pieces at once (from x0, x0 + xs, x0 + 2·xs, x0 + 3·xs) against the
     * same two F16 rows: each weight vector is loaded and converted once for the four. out[2t], out[2t + 1] receive
     * piece t's sums with r0 and r1; each sum is formed exactly as dot2 forms it (its bits); false, with nothing
     * written, when a full block of either row holds an inf or NaN. {@code lanes}: scratch of {@link #LANES} floats.
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
     * {@link HalfDots#dot2Bf16} for four activation pieces at once (from x0, x0 + xs, x0 + 2·xs, x0 + 3·xs) against
     * the same two BF16 rows: each weight vector is loaded and converted once for the four. out[2t], out[2t + 1]
     * receive piece t's sums with r0 and r1, each formed as dot2Bf16 forms it (its bits: the even-numbered blocks into
     * one sum, the odd-numbered into another, each block's even product first). {@code lanes}: scratch of
     * {@link #LANES} floats.
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
}
