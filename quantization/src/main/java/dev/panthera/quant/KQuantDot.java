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
 * Vector API dots of an F32 activation row with one K-quant weight row (Q4_K, Q5_K, Q6_K, Q8_K: super-blocks of 256
 * weights), reading the blocks in place. A super-block's packed sub-block scales are decoded once into scalars; its
 * quants are loaded as bytes, sign-extended to int lanes (one {@code vpmovsxbd}), split into nibbles and high bits
 * with int shifts and masks (x86 has no byte shifts), converted to float and multiplied into a per-sub-block
 * accumulator that joins the row's sum with one FMA by its scale. The min terms of Q4_K/Q5_K (dmin·m_s·Σx over a
 * sub-block) use the activation's 32-element sums, computed once per activation row ({@link #groupSums}).
 *
 * <p>Every species is a static final of the width {@link QuantLanes#F} (the machine's, or {@code panthera.simd.bits}):
 * the Vector API compiles to vector instructions only when a kernel's species are constants (see {@link GgmlDot}).
 * Tests run the other widths in JVMs started with that property.
 */
final class KQuantDot {
    private KQuantDot() {}

    private static final ValueLayout.OfShort LE_I16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final VectorSpecies<Float> F = QuantLanes.F;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final int L = F.length();

    /**
     * Bytes loaded at a time: as many as float lanes, at least 8 (the narrowest byte vector). At four float lanes the
     * load is masked to its first four bytes, so it never reads past a block.
     */
    private static final VectorSpecies<Byte> B =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));

    private static final boolean MASKED = B.length() > L;

    /** A K-quant super-block's first 16 bytes, loaded at once. */
    private static final VectorSpecies<Byte> HEAD = ByteVector.SPECIES_128;

    private static final VectorMask<Byte> FIRST = VectorMask.fromLong(B, (1L << L) - 1);

    /** The float lanes these kernels run at. */
    static int lanes() {
        return L;
    }

    /** Sums of {@code x[xo ..]} over consecutive groups of 32, {@code k / 32} of them (Q4_K/Q5_K min terms). */
    static float[] groupSums(float[] x, int xo, int k) {
        float[] s = new float[k / 32];
        for (int g = 0; g < s.length; g++) {
            FloatVector acc = FloatVector.zero(F);
            for (int j = 0; j < 32; j += L) acc = acc.add(FloatVector.fromArray(F, x, xo + 32 * g + j));
            s[g] = LaneSum.sum(acc);
        }
        return s;
    }

    /**
     * {@code L} bytes at {@code at} sign-extended to int lanes. Part 0 is a literal: the Vector API compiles a
     * conversion to one instruction only when its part is a constant while the method is parsed.
     */
    private static IntVector ints(MemorySegment seg, long at) {
        ByteVector q = MASKED
                ? ByteVector.fromMemorySegment(B, seg, at, ByteOrder.LITTLE_ENDIAN, FIRST)
                : ByteVector.fromMemorySegment(B, seg, at, ByteOrder.LITTLE_ENDIAN);
        return (IntVector) q.convertShape(VectorOperators.B2I, I, 0);
    }

    /**
     * A Q4_K/Q5_K header's packed sub-block scales and mins (ggml's get_scale_min_k4), four 6-bit values a word, one a
     * byte. Scales (mins) of sub-blocks 0..3: the low 6 bits of header bytes s0..s3 (s4..s7).
     */
    static int low6(int w) {
        return w & 0x3F3F3F3F;
    }

    /** Scales of sub-blocks 4..7: the low nibbles of s8..s11 under the top 2 bits of s0..s3. */
    static int scales47(int s0to3, int s8to11) {
        return (s8to11 & 0x0F0F0F0F) | ((s0to3 >>> 2) & 0x30303030);
    }

    /** Mins of sub-blocks 4..7: the high nibbles of s8..s11 under the top 2 bits of s4..s7. */
    static int mins47(int s4to7, int s8to11) {
        return ((s8to11 >>> 4) & 0x0F0F0F0F) | ((s4to7 >>> 2) & 0x30303030);
    }

    /**
     * Σ_s m_s·xs[at + s] over a super-block's eight sub-blocks: the mins m_0..3 are the bytes of {@code m03}, m_4..7
     * those of {@code m47}; written out, so the byte positions are constants.
     */
    private static float minSum(int m03, int m47, float[] xs, int at) {
        float m = byteOf(m03, 0) * xs[at] + byteOf(m03, 1) * xs[at + 1];
        m += byteOf(m03, 2) * xs[at + 2] + byteOf(m03, 3) * xs[at + 3];
        m += byteOf(m47, 0) * xs[at + 4] + byteOf(m47, 1) * xs[at + 5];
        return m + byteOf(m47, 2) * xs[at + 6] + byteOf(m47, 3) * xs[at + 7];
    }

    /** Byte {@code j} (0..3) of {@code v}. */
    private static int byteOf(int v, int j) {
        return (v >>> (8 * j)) & 0xFF;
    }

    /**
     * Σ_k x[xo + k]·w[k] over a Q4_K row of {@code k} weights at byte {@code ro}. Sub-block s (32 weights) is
     * d·sc_s·q - dmin·m_s, so its share is d·sc_s·Σq·x - dmin·m_s·xs[s], with {@code xs} from {@link #groupSums}.
     */
    static float q4K(MemorySegment seg, long ro, float[] x, int xo, float[] xs, int xso, int k) {
        FloatVector sumA = FloatVector.zero(F), sumB = FloatVector.zero(F);
        float mins = 0;
        for (int b = 0; b < k / 256; b++) {
            long at = ro + 144L * b;
            // the 16 header bytes (d, dmin, s0..s11) as four int lanes of one vector load (see q5K)
            IntVector head = ByteVector.fromMemorySegment(HEAD, seg, at, ByteOrder.LITTLE_ENDIAN)
                    .reinterpretAsInts();
            int dd = head.lane(0);
            float d = Float.float16ToFloat((short) dd), dmin = Float.float16ToFloat((short) (dd >>> 16));
            int a = head.lane(1), c4 = head.lane(2), hi = head.lane(3);
            int sc03 = low6(a), m03 = low6(c4);
            int sc47 = scales47(a, hi), m47 = mins47(c4, hi);
            mins = Math.fma(dmin, minSum(m03, m47, xs, xso + 8 * b), mins);
            // two passes of two 32-byte chunks (sub-blocks 0-3 from sc03, 4-7 from sc47), so the scale byte positions
            // are constants; the chunks of a pass go to different sums to halve the FMA chain. Written as a loop, not
            // four calls: four inlined chunks passed C2's node-count inlining cutoff
            for (int h = 0; h < 2; h++) {
                int sw = h == 0 ? sc03 : sc47;
                long qs = at + 16 + 64L * h;
                int xl = xo + 256 * b + 128 * h;
                sumA = q4KChunk(seg, qs, x, xl, d * byteOf(sw, 0), d * byteOf(sw, 1), sumA);
                sumB = q4KChunk(seg, qs + 32, x, xl + 64, d * byteOf(sw, 2), d * byteOf(sw, 3), sumB);
            }
        }
        return LaneSum.sum(sumA.add(sumB)) - mins;
    }

    /**
     * sum + sLo·Σ lo·x + sHi·Σ hi·x over one Q4_K chunk of 32 quant bytes at {@code q}: low nibbles are weights
     * xl..xl+31, high nibbles xl+32..xl+63.
     */
    private static FloatVector q4KChunk(
            MemorySegment seg, long q, float[] x, int xl, float sLo, float sHi, FloatVector sum) {
        FloatVector accLo = FloatVector.zero(F), accHi = accLo;
        for (int j = 0; j < 32; j += L) {
            IntVector v = ints(seg, q + j);
            FloatVector fl = (FloatVector) v.and(15).convert(VectorOperators.I2F, 0);
            FloatVector fh =
                    (FloatVector) v.lanewise(VectorOperators.LSHR, 4).and(15).convert(VectorOperators.I2F, 0);
            accLo = fl.fma(FloatVector.fromArray(F, x, xl + j), accLo);
            accHi = fh.fma(FloatVector.fromArray(F, x, xl + 32 + j), accHi);
        }
        return accHi.fma(FloatVector.broadcast(F, sHi), accLo.fma(FloatVector.broadcast(F, sLo), sum));
    }

    /** Σ_k x[xo + k]·w[k] over a Q5_K row: as Q4_K, with bit 2c (low nibbles) or 2c+1 (high) of qh[l] adding 16. */
    static float q5K(MemorySegment seg, long ro, float[] x, int xo, float[] xs, int xso, int k) {
        FloatVector sumLo = FloatVector.zero(F), sumHi = FloatVector.zero(F);
        float mins = 0;
        for (int b = 0; b < k / 256; b++) {
            long at = ro + 176L * b;
            // the 16 header bytes (d, dmin, s0..s11) as four int lanes of one vector load: scalar segment reads here
            // kept their liveness and bounds checks inside the loop (see GgmlDot.scaleBits)
            IntVector head = ByteVector.fromMemorySegment(HEAD, seg, at, ByteOrder.LITTLE_ENDIAN)
                    .reinterpretAsInts();
            int dd = head.lane(0);
            float d = Float.float16ToFloat((short) dd), dmin = Float.float16ToFloat((short) (dd >>> 16));
            // get_scale_min_k4 for all eight sub-blocks from the 12 packed bytes s0..s11: sub-blocks 0..3 take the low
            // 6 bits of s0..s3 (scales) and s4..s7 (mins); 4..7 take a nibble of s8..s11 and the top 2 bits of s0..s7
            int a = head.lane(1), c4 = head.lane(2), hi = head.lane(3);
            int sc03 = low6(a), m03 = low6(c4);
            int sc47 = scales47(a, hi), m47 = mins47(c4, hi);
            mins = Math.fma(dmin, minSum(m03, m47, xs, xso + 8 * b), mins);
            long qs = at + 48, qh = at + 16;
            for (int ch = 0; ch < 4; ch++) { // 32 bytes: low nibbles are sub-block 2ch, high nibbles 2ch+1
                int xl = xo + 256 * b + 64 * ch;
                FloatVector accLo = FloatVector.zero(F), accHi = accLo;
                for (int j = 0; j < 32; j += L) {
                    IntVector q = ints(seg, qs + 32L * ch + j);
                    IntVector hb = ints(seg, qh + j).lanewise(VectorOperators.LSHR, 2 * ch);
                    IntVector l4 =
                            q.and(15).or(hb.lanewise(VectorOperators.LSHL, 4).and(16));
                    IntVector h4 = q.lanewise(VectorOperators.LSHR, 4)
                            .and(15)
                            .or(hb.lanewise(VectorOperators.LSHL, 3).and(16));
                    FloatVector fl = (FloatVector) l4.convert(VectorOperators.I2F, 0);
                    FloatVector fh = (FloatVector) h4.convert(VectorOperators.I2F, 0);
                    accLo = fl.fma(FloatVector.fromArray(F, x, xl + j), accLo);
                    accHi = fh.fma(FloatVector.fromArray(F, x, xl + 32 + j), accHi);
                }
                int scLo = byteOf(ch < 2 ? sc03 : sc47, (2 * ch) & 3);
                int scHi = byteOf(ch < 2 ? sc03 : sc47, (2 * ch + 1) & 3);
                sumLo = accLo.fma(FloatVector.broadcast(F, d * scLo), sumLo);
                sumHi = accHi.fma(FloatVector.broadcast(F, d * scHi), sumHi);
            }
        }
        return LaneSum.sum(sumLo.add(sumHi)) - mins;
    }

    /**
     * Σ_k x[xo + k]·w[k] over a Q6_K row: in each half of 128 weights, byte l of ql/qh gives weights l, l+32, l+64,
     * l+96 (low 4 bits from ql, 2 high bits from qh, minus 32); a 16-weight sub-block joins with its int8 scale·d.
     */
    static float q6K(MemorySegment seg, long ro, float[] x, int xo, int k) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int b = 0; b < k / 256; b++) {
            long at = ro + 210L * b;
            float d = Float.float16ToFloat(seg.get(LE_I16, at + 208));
            for (int half = 0; half < 2; half++) {
                long ql = at + 64L * half, qh = at + 128 + 32L * half;
                // the half's eight int8 scales in one read: each inlined MemorySegment.get adds enough nodes that
                // four of them per step put this method past C2's inlining limit before its lane sum
                long sc = seg.get(LE_I64, at + 192 + 8L * half);
                int xb = xo + 256 * b + 128 * half;
                for (int l = 0; l < 32; l += L) { // at most 16 lanes: a step never crosses a 16-weight sub-block
                    int is = l / 16;
                    IntVector a = ints(seg, ql + l), c = ints(seg, ql + 32 + l);
                    // the four quants of byte l, in turn: low nibbles of a, of c, high nibbles of a, of c, each under
                    // two bits of h ((h << 4), (h << 2), h, (h >> 2), masked to 0x30), into s0..s3 with scales
                    // is, is + 2, is + 4, is + 6. One parsed body rotates the sources and the sums: written out four
                    // times it passed C2's inlining node limit before the lane sum
                    IntVector src = a, next = c, hb = ints(seg, qh + l).lanewise(VectorOperators.LSHL, 4);
                    long scales = sc >>> (8 * is);
                    int xi = xb + l;
                    for (int t = 0; t < 4; t++) {
                        IntVector q = src.and(15).or(hb.and(0x30));
                        FloatVector f = (FloatVector) q.sub(32).convert(VectorOperators.I2F, 0);
                        float dt = d * (byte) scales;
                        FloatVector u = f.mul(FloatVector.fromArray(F, x, xi)).fma(FloatVector.broadcast(F, dt), s0);
                        s0 = s1;
                        s1 = s2;
                        s2 = s3;
                        s3 = u;
                        IntVector was = src;
                        src = next;
                        next = was.lanewise(VectorOperators.LSHR, 4);
                        hb = hb.lanewise(VectorOperators.LSHR, 2);
                        scales >>>= 16;
                        xi += 32;
                    }
                }
            }
        }
        return LaneSum.sum(s0.add(s1).add(s2.add(s3)));
    }

    /** Σ_k x[xo + k]·w[k] over a Q8_K row: 256 int8 q and an fp32 d per super-block (the bsums are not needed). */
    static float q8K(MemorySegment seg, long ro, float[] x, int xo, int k) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (int b = 0; b < k / 256; b++) {
            long at = ro + 292L * b;
            int xb = xo + 256 * b;
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (int j = 0; j < 256; j += 2 * L) {
                FloatVector q0 = (FloatVector) ints(seg, at + 4 + j).convert(VectorOperators.I2F, 0);
                FloatVector q1 = (FloatVector) ints(seg, at + 4 + j + L).convert(VectorOperators.I2F, 0);
                a0 = q0.fma(FloatVector.fromArray(F, x, xb + j), a0);
                a1 = q1.fma(FloatVector.fromArray(F, x, xb + j + L), a1);
            }
            FloatVector d = FloatVector.broadcast(F, seg.get(LE_F32, at));
            s0 = a0.fma(d, s0);
            s1 = a1.fma(d, s1);
        }
        return LaneSum.sum(s0.add(s1));
    }

    /**
     * Dequantizes {@code k} weights of a Q4_K row at byte {@code ro} to floats from index {@code at} of {@code dst}, with the scalar decoder's arithmetic (d·sc, dmin·m, then (d·sc)·q - dmin·m, two roundings), so the floats
     * are the reference decoder's bit for bit.
     */
    static void dequantQ4K(MemorySegment seg, long ro, int k, float[] dst, int at) {
        for (int b = 0; b < k / 256; b++) {
            long bo = ro + 144L * b;
            int o = at + 256 * b;
            float d = Float.float16ToFloat(seg.get(LE_I16, bo)), dmin = Float.float16ToFloat(seg.get(LE_I16, bo + 2));
            long lo = seg.get(LE_I64, bo + 4);
            int a = (int) lo, c4 = (int) (lo >>> 32), hi = seg.get(LE_I32, bo + 12);
            int sc03 = low6(a), m03 = low6(c4);
            int sc47 = scales47(a, hi), m47 = mins47(c4, hi);
            for (int ch = 0; ch < 4; ch++) {
                int sw = ch < 2 ? sc03 : sc47, mw = ch < 2 ? m03 : m47;
                FloatVector d1 = FloatVector.broadcast(F, d * byteOf(sw, (2 * ch) & 3));
                FloatVector m1 = FloatVector.broadcast(F, dmin * byteOf(mw, (2 * ch) & 3));
                FloatVector d2 = FloatVector.broadcast(F, d * byteOf(sw, (2 * ch + 1) & 3));
                FloatVector m2 = FloatVector.broadcast(F, dmin * byteOf(mw, (2 * ch + 1) & 3));
                for (int j = 0; j < 32; j += L) {
                    IntVector q = ints(seg, bo + 16 + 32L * ch + j);
                    FloatVector fl = (FloatVector) q.and(15).convert(VectorOperators.I2F, 0);
                    FloatVector fh = (FloatVector)
                            q.lanewise(VectorOperators.LSHR, 4).and(15).convert(VectorOperators.I2F, 0);
                    int y = o + 64 * ch + j;
                    d1.mul(fl).sub(m1).intoArray(dst, y);
                    d2.mul(fh).sub(m2).intoArray(dst, y + 32);
                }
            }
        }
    }

    /** Dequantizes a Q6_K row as {@link #dequantQ4K} does: (d·sc)·(q - 32), the scalar decoder's arithmetic. */
    static void dequantQ6K(MemorySegment seg, long ro, int k, float[] dst, int at) {
        for (int b = 0; b < k / 256; b++) {
            long bo = ro + 210L * b;
            float d = Float.float16ToFloat(seg.get(LE_I16, bo + 208));
            for (int half = 0; half < 2; half++) {
                long ql = bo + 64L * half, qh = bo + 128 + 32L * half, sc = bo + 192 + 8L * half;
                int o = at + 256 * b + 128 * half;
                for (int l = 0; l < 32; l += L) {
                    int is = l / 16;
                    IntVector a = ints(seg, ql + l), c = ints(seg, ql + 32 + l), h = ints(seg, qh + l);
                    IntVector q1 =
                            a.and(15).or(h.lanewise(VectorOperators.LSHL, 4).and(0x30));
                    IntVector q2 =
                            c.and(15).or(h.lanewise(VectorOperators.LSHL, 2).and(0x30));
                    IntVector q3 = a.lanewise(VectorOperators.LSHR, 4).and(15).or(h.and(0x30));
                    IntVector q4 = c.lanewise(VectorOperators.LSHR, 4)
                            .and(15)
                            .or(h.lanewise(VectorOperators.LSHR, 2).and(0x30));
                    int y = o + l;
                    FloatVector.broadcast(F, d * seg.get(ValueLayout.JAVA_BYTE, sc + is))
                            .mul((FloatVector) q1.sub(32).convert(VectorOperators.I2F, 0))
                            .intoArray(dst, y);
                    FloatVector.broadcast(F, d * seg.get(ValueLayout.JAVA_BYTE, sc + is + 2))
                            .mul((FloatVector) q2.sub(32).convert(VectorOperators.I2F, 0))
                            .intoArray(dst, y + 32);
                    FloatVector.broadcast(F, d * seg.get(ValueLayout.JAVA_BYTE, sc + is + 4))
                            .mul((FloatVector) q3.sub(32).convert(VectorOperators.I2F, 0))
                            .intoArray(dst, y + 64);
                    FloatVector.broadcast(F, d * seg.get(ValueLayout.JAVA_BYTE, sc + is + 6))
                            .mul((FloatVector) q4.sub(32).convert(VectorOperators.I2F, 0))
                            .intoArray(dst, y + 96);
                }
            }
        }
    }

    /**
     * Dequantizes a Q4_0 row as {@link #dequantQ4K} does: ((q & 15) - 8)·d for the first 16 weights of a block and
     * ((q >> 4) - 8)·d for the last 16, the scalar decoder's arithmetic.
     */
    static void dequantQ4_0(MemorySegment seg, long ro, int k, float[] dst, int at) {
        for (int b = 0; b < k / 32; b++) {
            long bo = ro + 18L * b;
            int o = at + 32 * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(seg.get(LE_I16, bo)));
            for (int j = 0; j < 16; j += L) {
                IntVector q = ints(seg, bo + 2 + j);
                FloatVector lo = (FloatVector) q.and(15).sub(8).convert(VectorOperators.I2F, 0);
                FloatVector hi = (FloatVector)
                        q.lanewise(VectorOperators.LSHR, 4).and(15).sub(8).convert(VectorOperators.I2F, 0);
                lo.mul(d).intoArray(dst, o + j);
                hi.mul(d).intoArray(dst, o + 16 + j);
            }
        }
    }

    /** Dequantizes a Q8_0 row as {@link #dequantQ4K} does: q·d, the scalar decoder's arithmetic. */
    static void dequantQ8_0(MemorySegment seg, long ro, int k, float[] dst, int at) {
        for (int b = 0; b < k / 32; b++) {
            long bo = ro + 34L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(seg.get(LE_I16, bo)));
            for (int j = 0; j < 32; j += L) {
                ((FloatVector) ints(seg, bo + 2 + j).convert(VectorOperators.I2F, 0))
                        .mul(d)
                        .intoArray(dst, at + 32 * b + j);
            }
        }
    }
}
