package dev.panthera.quant;

import dev.panthera.quant.ggml.GgmlQuants;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API dots of an F32 activation row with one quantized weight row, reading the blocks in place: each block's
 * quants are widened to float lanes in registers (B2F), multiplied into a per-block accumulator, and the block's scale
 * is applied once per block (or sub-block) with an FMA. Q8_0, Q4_0, Q4_K and Q6_K here; the other types go through a
 * dequantized tile ({@link QuantizedMatmul}). Float lanes 4, 8 or 16.
 */
final class GgmlDot {
    private GgmlDot() {}

    private static final ValueLayout.OfShort LE_I16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * The species of the preferred width as static finals. The Vector API compiles to vector instructions only when a
     * kernel's species are compile-time constants; a species passed down as an argument (which C2 does not inline
     * into a large compiled kernel) leaves every vector boxed on the heap, about 50× slower (Q8_0 GEMV 0.3 vs 17 GB/s
     * on a Zen 5). So Q8_0 and Q4_0 have kernels written against these constants for the preferred width, and the
     * species-argument kernels serve the other widths (tests) and the K-quants.
     */
    private static final VectorSpecies<Float> F = QuantLanes.F;

    private static final VectorSpecies<Byte> BYTES = bytesFor(F);

    /** Whether a byte vector of the preferred width widens to exactly one float vector (8 or 16 float lanes). */
    private static final boolean ONE_PART = BYTES.length() == F.length();

    /** Bytes loaded at a time: as many as float lanes, but at least 8 (the narrowest byte vector). */
    private static VectorSpecies<Byte> bytesFor(VectorSpecies<Float> fs) {
        return VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, fs.length() * 8)));
    }

    /** Σ_k x[xo + k]·w[k] over a Q8_0 row of {@code k} weights at byte {@code ro} of {@code seg}. */
    static float dotQ8_0(VectorSpecies<Float> fs, MemorySegment seg, long ro, float[] x, int xo, int k) {
        return fs == QuantLanes.F && ONE_PART ? q8_0(seg, ro, x, xo, k) : dotQ8_0(fs, bytesFor(fs), seg, ro, x, xo, k);
    }

    /** dotQ8_0 at the preferred width with the species as constants (see {@link #BYTES}); 8 or 16 float lanes. */
    private static float q8_0(MemorySegment seg, long ro, float[] x, int xo, int k) {
        FloatVector sum = FloatVector.zero(F);
        for (int b = 0; b < k / 32; b++) {
            long at = ro + 34L * b;
            FloatVector blk = FloatVector.zero(F);
            for (int j = 0; j < 32; j += F.length()) {
                ByteVector q = ByteVector.fromMemorySegment(BYTES, seg, at + 2 + j, ByteOrder.LITTLE_ENDIAN);
                blk = ((FloatVector) q.castShape(F, 0)).fma(FloatVector.fromArray(F, x, xo + 32 * b + j), blk);
            }
            float d = Float.float16ToFloat(seg.get(LE_I16, at));
            sum = blk.fma(FloatVector.broadcast(F, d), sum);
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    private static float dotQ8_0(
            VectorSpecies<Float> fs, VectorSpecies<Byte> bs, MemorySegment seg, long ro, float[] x, int xo, int k) {
        int lanes = fs.length(), parts = bs.length() / lanes;
        FloatVector sum = FloatVector.zero(fs);
        for (int b = 0; b < k / 32; b++) {
            long at = ro + 34L * b;
            FloatVector blk = FloatVector.zero(fs);
            for (int j = 0; j < 32; j += bs.length()) {
                ByteVector q = ByteVector.fromMemorySegment(bs, seg, at + 2 + j, ByteOrder.LITTLE_ENDIAN);
                for (int p = 0; p < parts; p++) {
                    FloatVector qf = (FloatVector) q.castShape(fs, p);
                    blk = qf.fma(FloatVector.fromArray(fs, x, xo + 32 * b + j + p * lanes), blk);
                }
            }
            float d = Float.float16ToFloat(seg.get(LE_I16, at));
            sum = blk.fma(FloatVector.broadcast(fs, d), sum);
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    /** Σ_k x[xo + k]·w[k] over a Q4_0 row: byte j of a block holds weight j (low nibble) and j + 16 (high). */
    static float dotQ4_0(VectorSpecies<Float> fs, MemorySegment seg, long ro, float[] x, int xo, int k) {
        return fs == QuantLanes.F && ONE_PART ? q4_0(seg, ro, x, xo, k) : dotQ4_0(fs, bytesFor(fs), seg, ro, x, xo, k);
    }

    /** dotQ4_0 at the preferred width with the species as constants (see {@link #BYTES}); 8 or 16 float lanes. */
    private static float q4_0(MemorySegment seg, long ro, float[] x, int xo, int k) {
        FloatVector sum = FloatVector.zero(F);
        for (int b = 0; b < k / 32; b++) {
            long at = ro + 18L * b;
            int xb = xo + 32 * b;
            FloatVector blk = FloatVector.zero(F);
            for (int j = 0; j < 16; j += F.length()) {
                ByteVector q = ByteVector.fromMemorySegment(BYTES, seg, at + 2 + j, ByteOrder.LITTLE_ENDIAN);
                FloatVector l = (FloatVector) q.and((byte) 0xF).sub((byte) 8).castShape(F, 0);
                FloatVector h = (FloatVector)
                        q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).castShape(F, 0);
                blk = l.fma(FloatVector.fromArray(F, x, xb + j), blk);
                blk = h.fma(FloatVector.fromArray(F, x, xb + 16 + j), blk);
            }
            float d = Float.float16ToFloat(seg.get(LE_I16, at));
            sum = blk.fma(FloatVector.broadcast(F, d), sum);
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    private static float dotQ4_0(
            VectorSpecies<Float> fs, VectorSpecies<Byte> bs, MemorySegment seg, long ro, float[] x, int xo, int k) {
        int lanes = fs.length(), parts = bs.length() / lanes;
        int step = Math.min(16, bs.length());
        FloatVector sum = FloatVector.zero(fs);
        for (int b = 0; b < k / 32; b++) {
            long at = ro + 18L * b;
            int xb = xo + 32 * b;
            FloatVector blk = FloatVector.zero(fs);
            for (int j = 0; j < 16; j += step) {
                ByteVector q = ByteVector.fromMemorySegment(bs, seg, at + 2 + j, ByteOrder.LITTLE_ENDIAN);
                ByteVector lo = q.and((byte) 0xF).sub((byte) 8);
                ByteVector hi = q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
                for (int p = 0; p < parts; p++) {
                    if (j + p * lanes >= 16) break; // a 16-byte load at 16 lanes holds exactly one block's qs
                    FloatVector l = (FloatVector) lo.castShape(fs, p);
                    FloatVector h = (FloatVector) hi.castShape(fs, p);
                    blk = l.fma(FloatVector.fromArray(fs, x, xb + j + p * lanes), blk);
                    blk = h.fma(FloatVector.fromArray(fs, x, xb + 16 + j + p * lanes), blk);
                }
            }
            float d = Float.float16ToFloat(seg.get(LE_I16, at));
            sum = blk.fma(FloatVector.broadcast(fs, d), sum);
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    private static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    /**
     * Σ_k x[xo + k]·w[k] over a Q4_K row. A sub-block s of 32 weights is d·sc_s·q - dmin·m_s, so its share of the dot
     * is d·sc_s·Σ q·x - dmin·m_s·Σ x: both sums stay in lanes and join the accumulator with two FMAs per sub-block.
     */
    static float dotQ4_K(VectorSpecies<Float> fs, MemorySegment seg, long ro, float[] x, int xo, int k) {
        return fs == F && ONE_PART ? q4_K(seg, ro, x, xo, k) : dotQ4_K(fs, bytesFor(fs), seg, ro, x, xo, k);
    }

    private static float dotQ4_K(
            VectorSpecies<Float> fs, VectorSpecies<Byte> bs, MemorySegment seg, long ro, float[] x, int xo, int k) {
        int lanes = fs.length(), parts = bs.length() / lanes;
        FloatVector sum = FloatVector.zero(fs);
        for (int b = 0; b < k / 256; b++) {
            long at = ro + 144L * b;
            float d = Float.float16ToFloat(seg.get(LE_I16, at)), dmin = Float.float16ToFloat(seg.get(LE_I16, at + 2));
            for (int c = 0; c < 4; c++) { // 32 bytes: low nibbles are sub-block 2c, high nibbles 2c+1
                int xl = xo + 256 * b + 64 * c, xh = xl + 32;
                FloatVector qxl = FloatVector.zero(fs), qxh = qxl, sxl = qxl, sxh = qxl;
                for (int j = 0; j < 32; j += bs.length()) {
                    ByteVector q =
                            ByteVector.fromMemorySegment(bs, seg, at + 16 + 32L * c + j, ByteOrder.LITTLE_ENDIAN);
                    ByteVector lo = q.and((byte) 0xF), hi = q.lanewise(VectorOperators.LSHR, 4);
                    for (int p = 0; p < parts; p++) {
                        FloatVector a = FloatVector.fromArray(fs, x, xl + j + p * lanes);
                        FloatVector h = FloatVector.fromArray(fs, x, xh + j + p * lanes);
                        qxl = ((FloatVector) lo.castShape(fs, p)).fma(a, qxl);
                        qxh = ((FloatVector) hi.castShape(fs, p)).fma(h, qxh);
                        sxl = sxl.add(a);
                        sxh = sxh.add(h);
                    }
                }
                long sc = at + 4;
                sum = qxl.fma(FloatVector.broadcast(fs, d * GgmlQuants.scaleMinK4(seg, sc, 2 * c, 0)), sum);
                sum = sxl.fma(FloatVector.broadcast(fs, -dmin * GgmlQuants.scaleMinK4(seg, sc, 2 * c, 1)), sum);
                sum = qxh.fma(FloatVector.broadcast(fs, d * GgmlQuants.scaleMinK4(seg, sc, 2 * c + 1, 0)), sum);
                sum = sxh.fma(FloatVector.broadcast(fs, -dmin * GgmlQuants.scaleMinK4(seg, sc, 2 * c + 1, 1)), sum);
            }
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    /** dotQ4_K at the preferred width with the species as constants (see {@link #BYTES}); 8 or 16 float lanes. */
    private static float q4_K(MemorySegment seg, long ro, float[] x, int xo, int k) {
        int lanes = F.length(), parts = 1;
        FloatVector sum = FloatVector.zero(F);
        for (int b = 0; b < k / 256; b++) {
            long at = ro + 144L * b;
            float d = Float.float16ToFloat(seg.get(LE_I16, at)), dmin = Float.float16ToFloat(seg.get(LE_I16, at + 2));
            for (int c = 0; c < 4; c++) { // 32 bytes: low nibbles are sub-block 2c, high nibbles 2c+1
                int xl = xo + 256 * b + 64 * c, xh = xl + 32;
                FloatVector qxl = FloatVector.zero(F), qxh = qxl, sxl = qxl, sxh = qxl;
                for (int j = 0; j < 32; j += BYTES.length()) {
                    ByteVector q =
                            ByteVector.fromMemorySegment(BYTES, seg, at + 16 + 32L * c + j, ByteOrder.LITTLE_ENDIAN);
                    ByteVector lo = q.and((byte) 0xF), hi = q.lanewise(VectorOperators.LSHR, 4);
                    for (int p = 0; p < parts; p++) {
                        FloatVector a = FloatVector.fromArray(F, x, xl + j);
                        FloatVector h = FloatVector.fromArray(F, x, xh + j);
                        qxl = ((FloatVector) lo.castShape(F, 0)).fma(a, qxl);
                        qxh = ((FloatVector) hi.castShape(F, 0)).fma(h, qxh);
                        sxl = sxl.add(a);
                        sxh = sxh.add(h);
                    }
                }
                long sc = at + 4;
                sum = qxl.fma(FloatVector.broadcast(F, d * GgmlQuants.scaleMinK4(seg, sc, 2 * c, 0)), sum);
                sum = sxl.fma(FloatVector.broadcast(F, -dmin * GgmlQuants.scaleMinK4(seg, sc, 2 * c, 1)), sum);
                sum = qxh.fma(FloatVector.broadcast(F, d * GgmlQuants.scaleMinK4(seg, sc, 2 * c + 1, 0)), sum);
                sum = sxh.fma(FloatVector.broadcast(F, -dmin * GgmlQuants.scaleMinK4(seg, sc, 2 * c + 1, 1)), sum);
            }
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Σ_k x[xo + k]·w[k] over a Q6_K row: in each half of 128 weights, byte l of ql/qh gives weights l, l+32, l+64,
     * l+96 (low 4 bits from ql, 2 high bits from qh, minus 32); a 16-weight sub-block joins with its int8 scale·d.
     */
    static float dotQ6_K(VectorSpecies<Float> fs, MemorySegment seg, long ro, float[] x, int xo, int k) {
        return fs == F && ONE_PART ? q6_K(seg, ro, x, xo, k) : dotQ6_K(fs, bytesFor(fs), seg, ro, x, xo, k);
    }

    private static float dotQ6_K(
            VectorSpecies<Float> fs, VectorSpecies<Byte> bs, MemorySegment seg, long ro, float[] x, int xo, int k) {
        int lanes = fs.length(), parts = bs.length() / lanes, step = Math.min(16, bs.length());
        FloatVector sum = FloatVector.zero(fs);
        for (int b = 0; b < k / 256; b++) {
            long at = ro + 210L * b;
            float d = Float.float16ToFloat(seg.get(LE_I16, at + 208));
            for (int half = 0; half < 2; half++) {
                long ql = at + 64L * half, qh = at + 128 + 32L * half, sc = at + 192 + 8L * half;
                int xb = xo + 256 * b + 128 * half;
                for (int l = 0; l < 32; l += step) { // a step never crosses a 16-weight sub-block
                    ByteVector a = ByteVector.fromMemorySegment(bs, seg, ql + l, ByteOrder.LITTLE_ENDIAN);
                    ByteVector c = ByteVector.fromMemorySegment(bs, seg, ql + 32 + l, ByteOrder.LITTLE_ENDIAN);
                    ByteVector h = ByteVector.fromMemorySegment(bs, seg, qh + l, ByteOrder.LITTLE_ENDIAN);
                    ByteVector[] q = {
                        a.and((byte) 0xF).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4)),
                        c.and((byte) 0xF)
                                .or(h.lanewise(VectorOperators.LSHR, 2)
                                        .and((byte) 3)
                                        .lanewise(VectorOperators.LSHL, 4)),
                        a.lanewise(VectorOperators.LSHR, 4)
                                .or(h.lanewise(VectorOperators.LSHR, 4)
                                        .and((byte) 3)
                                        .lanewise(VectorOperators.LSHL, 4)),
                        c.lanewise(VectorOperators.LSHR, 4)
                                .or(h.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4))
                    };
                    for (int g = 0; g < 4; g++) {
                        ByteVector qg = q[g].sub((byte) 32);
                        FloatVector acc = FloatVector.zero(fs);
                        for (int p = 0; p < parts; p++) {
                            FloatVector xv = FloatVector.fromArray(fs, x, xb + 32 * g + l + p * lanes);
                            acc = ((FloatVector) qg.castShape(fs, p)).fma(xv, acc);
                        }
                        float s = d * seg.get(ValueLayout.JAVA_BYTE, sc + l / 16 + 2 * g);
                        sum = acc.fma(FloatVector.broadcast(fs, s), sum);
                    }
                }
            }
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    /** dotQ6_K at the preferred width with the species as constants (see {@link #BYTES}); 8 or 16 float lanes. */
    private static float q6_K(MemorySegment seg, long ro, float[] x, int xo, int k) {
        int lanes = F.length(), parts = 1, step = Math.min(16, BYTES.length());
        FloatVector sum = FloatVector.zero(F);
        for (int b = 0; b < k / 256; b++) {
            long at = ro + 210L * b;
            float d = Float.float16ToFloat(seg.get(LE_I16, at + 208));
            for (int half = 0; half < 2; half++) {
                long ql = at + 64L * half, qh = at + 128 + 32L * half, sc = at + 192 + 8L * half;
                int xb = xo + 256 * b + 128 * half;
                for (int l = 0; l < 32; l += step) { // a step never crosses a 16-weight sub-block
                    ByteVector a = ByteVector.fromMemorySegment(BYTES, seg, ql + l, ByteOrder.LITTLE_ENDIAN);
                    ByteVector c = ByteVector.fromMemorySegment(BYTES, seg, ql + 32 + l, ByteOrder.LITTLE_ENDIAN);
                    ByteVector h = ByteVector.fromMemorySegment(BYTES, seg, qh + l, ByteOrder.LITTLE_ENDIAN);
                    ByteVector[] q = {
                        a.and((byte) 0xF).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4)),
                        c.and((byte) 0xF)
                                .or(h.lanewise(VectorOperators.LSHR, 2)
                                        .and((byte) 3)
                                        .lanewise(VectorOperators.LSHL, 4)),
                        a.lanewise(VectorOperators.LSHR, 4)
                                .or(h.lanewise(VectorOperators.LSHR, 4)
                                        .and((byte) 3)
                                        .lanewise(VectorOperators.LSHL, 4)),
                        c.lanewise(VectorOperators.LSHR, 4)
                                .or(h.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4))
                    };
                    for (int g = 0; g < 4; g++) {
                        ByteVector qg = q[g].sub((byte) 32);
                        FloatVector acc = FloatVector.zero(F);
                        for (int p = 0; p < parts; p++) {
                            FloatVector xv = FloatVector.fromArray(F, x, xb + 32 * g + l);
                            acc = ((FloatVector) qg.castShape(F, 0)).fma(xv, acc);
                        }
                        float s = d * seg.get(ValueLayout.JAVA_BYTE, sc + l / 16 + 2 * g);
                        sum = acc.fma(FloatVector.broadcast(F, s), sum);
                    }
                }
            }
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    /** Σ_i a[ao + i]·b[bo + i] for i < n, two vector accumulators and a scalar tail. */
    static float dot(VectorSpecies<Float> fs, float[] a, int ao, float[] b, int bo, int n) {
        return fs == F ? floatDot(a, ao, b, bo, n) : floatDot(fs, a, ao, b, bo, n);
    }

    /** {@link #floatDot(VectorSpecies, float[], int, float[], int, int)} with the preferred species as a constant. */
    private static float floatDot(float[] a, int ao, float[] b, int bo, int n) {
        int lanes = F.length(), i = 0;
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
        for (; i + 2 * lanes <= n; i += 2 * lanes) {
            s0 = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), s0);
            s1 = FloatVector.fromArray(F, a, ao + i + lanes).fma(FloatVector.fromArray(F, b, bo + i + lanes), s1);
        }
        for (; i + lanes <= n; i += lanes)
            s0 = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), s0);
        float s = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s = Math.fma(a[ao + i], b[bo + i], s);
        return s;
    }

    private static float floatDot(VectorSpecies<Float> fs, float[] a, int ao, float[] b, int bo, int n) {
        int lanes = fs.length(), i = 0;
        FloatVector s0 = FloatVector.zero(fs), s1 = FloatVector.zero(fs);
        for (; i + 2 * lanes <= n; i += 2 * lanes) {
            s0 = FloatVector.fromArray(fs, a, ao + i).fma(FloatVector.fromArray(fs, b, bo + i), s0);
            s1 = FloatVector.fromArray(fs, a, ao + i + lanes).fma(FloatVector.fromArray(fs, b, bo + i + lanes), s1);
        }
        for (; i + lanes <= n; i += lanes)
            s0 = FloatVector.fromArray(fs, a, ao + i).fma(FloatVector.fromArray(fs, b, bo + i), s0);
        float s = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s = Math.fma(a[ao + i], b[bo + i], s);
        return s;
    }
}
