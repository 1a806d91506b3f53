package dev.panthera.quant;

import dev.panthera.simd.LaneSum;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Integer dots of one quantized weight row with an 8-bit activation row ({@link Q8Activation}), reading the weight
 * blocks in place, as llama.cpp's {@code ggml_vec_dot_q8_0_q8_0}, {@code _q4_0_q8_0}, {@code _q4_K_q8_K} and
 * {@code _q6_K_q8_K} compute them: within a block (or a K-quant super-block) the products of weight quants and
 * activation quants are summed exactly in int lanes, the K-quant sub-block scales multiply those integer sums, and
 * the float scales (weight d times activation d) are applied once per block with an FMA; the K-quant mins enter
 * through the activation's 16-sums (dmin·Σ m_s·bsum), not per element.
 *
 * <p>The weight quants are widened to int lanes (byte to int, one {@code vpmovsxbd}) and multiplied by the
 * activation's quants, already widened once per token; the alternatives (bytes to shorts with a short multiply, or
 * float lanes) were measured beside this one in {@code IntDotWideningBench} (BENCHMARKS.md).
 *
 * <p>Overflow: a Q8_0 lane sums at most 32/L products of |q| ≤ 128 by |a| ≤ 127; a Q4_K lane at most 8 sub-blocks ×
 * 32/L products of 15·127 times a 6-bit scale (≤ 7.7·10⁶); a Q6_K lane 256/L products of 32·127 times |sc| ≤ 128
 * (≤ 3.4·10⁷): all far inside int32. Species are static finals of width {@link QuantLanes#F} (see {@link GgmlDot}).
 */
final class IntDot {
    private IntDot() {}

    private static final ValueLayout.OfShort LE_I16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final VectorSpecies<Float> F = QuantLanes.F;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final int L = F.length();
    private static final VectorSpecies<Byte> B =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    private static final boolean MASKED = B.length() > L;
    private static final VectorMask<Byte> FIRST = VectorMask.fromLong(B, (1L << L) - 1);

    /** {@code L} bytes at {@code at} sign-extended to int lanes (part 0 a literal, see {@link KQuantDot}). */
    private static IntVector ints(MemorySegment seg, long at) {
        ByteVector q = MASKED
                ? ByteVector.fromMemorySegment(B, seg, at, ByteOrder.LITTLE_ENDIAN, FIRST)
                : ByteVector.fromMemorySegment(B, seg, at, ByteOrder.LITTLE_ENDIAN);
        return (IntVector) q.convertShape(VectorOperators.B2I, I, 0);
    }

    private static FloatVector toFloat(IntVector v) {
        return (FloatVector) v.convert(VectorOperators.I2F, 0);
    }

    /** Byte {@code j} (0..3) of {@code v}. */
    private static int byteOf(int v, int j) {
        return (v >>> (8 * j)) & 0xFF;
    }

    /** Σ w·a over a Q8_0 row at byte {@code ro} with the Q8_0 activation {@code a}. */
    static float q8_0(MemorySegment seg, long ro, Q8Activation a) {
        int[] q = a.wide;
        float[] ad = a.d;
        // blocks alternate between two FMA chains around one call site (see GgmlDot.q8_0: two or three inlined
        // sites of the block step put the method past C2's inlining node limit, and the lane sum ran out of line)
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (int b = 0; b < a.k / 32; b++) {
            long at = ro + 34L * b;
            FloatVector t = toFloat(q8Block(seg, at + 2, q, 32 * b)).fma(scale(seg, at, ad[b]), s1);
            s1 = s0;
            s0 = t;
        }
        return LaneSum.sum(s0.add(s1));
    }

    /** The fp16 weight scale at {@code at} times the activation block's d, in every lane. */
    private static FloatVector scale(MemorySegment seg, long at, float ad) {
        return FloatVector.broadcast(F, Float.float16ToFloat(seg.get(LE_I16, at)) * ad);
    }

    private static IntVector q8Block(MemorySegment seg, long qs, int[] q, int qo) {
        IntVector acc = ints(seg, qs).mul(IntVector.fromArray(I, q, qo));
        for (int j = L; j < 32; j += L) acc = acc.add(ints(seg, qs + j).mul(IntVector.fromArray(I, q, qo + j)));
        return acc;
    }

    /** Σ w·a over a Q4_0 row (w = (nibble - 8)·d; byte j holds weights j and j + 16) with a Q8_0 activation. */
    static float q4_0(MemorySegment seg, long ro, Q8Activation a) {
        int[] q = a.wide;
        float[] ad = a.d;
        FloatVector s0 = FloatVector.zero(F), s1 = s0; // two chains around one call site, as in q8_0
        for (int b = 0; b < a.k / 32; b++) {
            long at = ro + 18L * b;
            FloatVector t = toFloat(q4Block(seg, at + 2, q, 32 * b)).fma(scale(seg, at, ad[b]), s1);
            s1 = s0;
            s0 = t;
        }
        return LaneSum.sum(s0.add(s1));
    }

    private static IntVector q4Block(MemorySegment seg, long qs, int[] q, int qo) {
        IntVector acc = IntVector.zero(I);
        for (int j = 0; j < 16; j += L) {
            IntVector w = ints(seg, qs + j);
            IntVector lo = w.and(15).sub(8),
                    hi = w.lanewise(VectorOperators.LSHR, 4).and(15).sub(8);
            acc = acc.add(lo.mul(IntVector.fromArray(I, q, qo + j)))
                    .add(hi.mul(IntVector.fromArray(I, q, qo + 16 + j)));
        }
        return acc;
    }

    /**
     * Σ w·a over a Q4_K row with a Q8_K activation. Sub-block s (32 weights) is d·sc_s·q - dmin·m_s, so a super-block
     * gives d_w·d_a·Σ_s sc_s·Σ q·a - dmin_w·d_a·Σ_s m_s·(bsum_2s + bsum_2s+1), both sums in integers.
     */
    static float q4K(MemorySegment seg, long ro, Q8Activation a) {
        int[] q = a.wide, bs = a.bsums;
        float[] ad = a.d;
        FloatVector sum = FloatVector.zero(F);
        float mins = 0;
        for (int b = 0; b < a.k / 256; b++) {
            long at = ro + 144L * b;
            float da = ad[b];
            float d = Float.float16ToFloat(seg.get(LE_I16, at)) * da;
            float dmin = Float.float16ToFloat(seg.get(LE_I16, at + 2)) * da;
            long lo = seg.get(LE_I64, at + 4);
            int s0 = (int) lo, s4 = (int) (lo >>> 32), hi = seg.get(LE_I32, at + 12);
            int sc03 = KQuantDot.low6(s0), m03 = KQuantDot.low6(s4);
            int sc47 = KQuantDot.scales47(s0, hi), m47 = KQuantDot.mins47(s4, hi);
            int bo = 16 * b, m = 0;
            for (int j = 0; j < 4; j++) {
                m += byteOf(m03, j) * (bs[bo + 2 * j] + bs[bo + 2 * j + 1]);
                m += byteOf(m47, j) * (bs[bo + 8 + 2 * j] + bs[bo + 9 + 2 * j]);
            }
            mins = Math.fma(dmin, m, mins);
            IntVector acc = IntVector.zero(I);
            for (int ch = 0; ch < 4; ch++) { // 32 bytes: low nibbles are sub-block 2ch, high nibbles 2ch + 1
                long qs = at + 16 + 32L * ch;
                int qo = 256 * b + 64 * ch;
                IntVector accLo = IntVector.zero(I), accHi = accLo;
                for (int j = 0; j < 32; j += L) {
                    IntVector w = ints(seg, qs + j);
                    accLo = accLo.add(w.and(15).mul(IntVector.fromArray(I, q, qo + j)));
                    accHi = accHi.add(
                            w.lanewise(VectorOperators.LSHR, 4).and(15).mul(IntVector.fromArray(I, q, qo + 32 + j)));
                }
                int sw = ch < 2 ? sc03 : sc47;
                acc = acc.add(accLo.mul(byteOf(sw, (2 * ch) & 3))).add(accHi.mul(byteOf(sw, (2 * ch + 1) & 3)));
            }
            sum = toFloat(acc).fma(FloatVector.broadcast(F, d), sum);
        }
        return LaneSum.sum(sum) - mins;
    }

    /**
     * Σ w·a over a Q6_K row with a Q8_K activation: in each half of 128 weights, byte l of ql/qh gives weights l,
     * l+32, l+64, l+96 (low 4 bits from ql, 2 high bits from qh, minus 32); each 16-weight sub-block's integer sum is
     * multiplied by its int8 scale, and the super-block's sum by d_w·d_a.
     */
    static float q6K(MemorySegment seg, long ro, Q8Activation a) {
        int[] q = a.wide;
        float[] ad = a.d;
        FloatVector sum = FloatVector.zero(F);
        for (int b = 0; b < a.k / 256; b++) {
            long at = ro + 210L * b;
            float d = Float.float16ToFloat(seg.get(LE_I16, at + 208)) * ad[b];
            IntVector acc = IntVector.zero(I);
            for (int half = 0; half < 2; half++) {
                long ql = at + 64L * half, qh = at + 128 + 32L * half, sc = at + 192 + 8L * half;
                int qo = 256 * b + 128 * half;
                for (int l = 0; l < 32; l += L) { // at most 16 lanes: a step never crosses a 16-weight sub-block
                    int is = l / 16;
                    IntVector x = ints(seg, ql + l), c = ints(seg, ql + 32 + l), h = ints(seg, qh + l);
                    IntVector q1 = x.and(15)
                            .or(h.lanewise(VectorOperators.LSHL, 4).and(0x30))
                            .sub(32);
                    IntVector q2 = c.and(15)
                            .or(h.lanewise(VectorOperators.LSHL, 2).and(0x30))
                            .sub(32);
                    IntVector q3 = x.lanewise(VectorOperators.LSHR, 4)
                            .and(15)
                            .or(h.and(0x30))
                            .sub(32);
                    IntVector q4 = c.lanewise(VectorOperators.LSHR, 4)
                            .and(15)
                            .or(h.lanewise(VectorOperators.LSHR, 2).and(0x30))
                            .sub(32);
                    int xi = qo + l;
                    acc = acc.add(q1.mul(IntVector.fromArray(I, q, xi)).mul(seg.get(ValueLayout.JAVA_BYTE, sc + is)))
                            .add(q2.mul(IntVector.fromArray(I, q, xi + 32))
                                    .mul(seg.get(ValueLayout.JAVA_BYTE, sc + is + 2)))
                            .add(q3.mul(IntVector.fromArray(I, q, xi + 64))
                                    .mul(seg.get(ValueLayout.JAVA_BYTE, sc + is + 4)))
                            .add(q4.mul(IntVector.fromArray(I, q, xi + 96))
                                    .mul(seg.get(ValueLayout.JAVA_BYTE, sc + is + 6)));
                }
            }
            sum = toFloat(acc).fma(FloatVector.broadcast(F, d), sum);
        }
        return LaneSum.sum(sum);
    }
}
