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
 * Vector API dots of an F32 activation row with one weight row of a 32-weight block format with a 4-bit low part:
 * Q4_1, Q5_0 and Q5_1 (ggml-common.h's {@code block_q4_1}, {@code block_q5_0}, {@code block_q5_1}), reading the
 * blocks in place. Byte j of a block's 16 quant bytes holds weight j (low nibble) and j + 16 (high nibble); Q5's
 * fifth bits are bit j and bit j + 16 of the 32-bit {@code qh}, moved into int lanes with a per-lane variable shift.
 * Each block's Σq·x is scaled by d with one FMA; the mins of Q4_1/Q5_1 add m·Σx from the activation's 32-element sums
 * ({@link KQuantDot#groupSums}). Two blocks run at a time into two accumulators, so the per-block FMA chain is not
 * the bound. Species are constants of width {@link QuantLanes#F}, as in {@link KQuantDot}.
 */
final class BlockDot {
    private BlockDot() {}

    private static final ValueLayout.OfShort LE_I16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final VectorSpecies<Float> F = QuantLanes.F;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final int L = F.length();
    private static final VectorSpecies<Byte> B =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    private static final boolean MASKED = B.length() > L;
    private static final VectorMask<Byte> FIRST = VectorMask.fromLong(B, (1L << L) - 1);

    /** Lane i holds i: the shift that brings bit i of qh to bit 0. */
    private static final IntVector IOTA = (IntVector) IntVector.zero(I).addIndex(1);

    /** {@code L} bytes at {@code at} sign-extended to int lanes (part 0 a literal, see {@link KQuantDot}). */
    private static IntVector ints(MemorySegment seg, long at) {
        ByteVector q = MASKED
                ? ByteVector.fromMemorySegment(B, seg, at, ByteOrder.LITTLE_ENDIAN, FIRST)
                : ByteVector.fromMemorySegment(B, seg, at, ByteOrder.LITTLE_ENDIAN);
        return (IntVector) q.convertShape(VectorOperators.B2I, I, 0);
    }

    /** Σ_k x[xo + k]·w[k] over a Q4_1 row (w = q·d + m). */
    static float q4_1(MemorySegment seg, long ro, float[] x, int xo, float[] xs, int xso, int k) {
        // blocks alternate between two sums around one call site of the block step, as in GgmlDot.q8_0
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        float mins = 0;
        for (int b = 0; b < k / 32; b++) {
            long at = ro + 20L * b;
            FloatVector t = q4Block(seg, at + 4, x, xo + 32 * b)
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(LE_I16, at))), s1);
            s1 = s0;
            s0 = t;
            mins = Math.fma(Float.float16ToFloat(seg.get(LE_I16, at + 2)), xs[xso + b], mins);
        }
        return LaneSum.sum(s0.add(s1)) + mins;
    }

    /** Σ_j q_j·x[xb + j] over one block's 32 unsigned nibbles at {@code qs}, in lanes. */
    private static FloatVector q4Block(MemorySegment seg, long qs, float[] x, int xb) {
        FloatVector acc = FloatVector.zero(F);
        for (int j = 0; j < 16; j += L) {
            IntVector q = ints(seg, qs + j);
            FloatVector lo = (FloatVector) q.and(15).convert(VectorOperators.I2F, 0);
            FloatVector hi =
                    (FloatVector) q.lanewise(VectorOperators.LSHR, 4).and(15).convert(VectorOperators.I2F, 0);
            acc = lo.fma(FloatVector.fromArray(F, x, xb + j), acc);
            acc = hi.fma(FloatVector.fromArray(F, x, xb + 16 + j), acc);
        }
        return acc;
    }

    /** Σ_k x[xo + k]·w[k] over a Q5_0 row (w = (q - 16)·d, q five bits). */
    static float q5_0(MemorySegment seg, long ro, float[] x, int xo, int k) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0; // two sums around one call site, as in q4_1
        for (int b = 0; b < k / 32; b++) {
            long at = ro + 22L * b;
            FloatVector t = q5Block(seg, at + 2, 16, x, xo + 32 * b)
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(LE_I16, at))), s1);
            s1 = s0;
            s0 = t;
        }
        return LaneSum.sum(s0.add(s1));
    }

    /** Σ_k x[xo + k]·w[k] over a Q5_1 row (w = q·d + m, q five bits). */
    static float q5_1(MemorySegment seg, long ro, float[] x, int xo, float[] xs, int xso, int k) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0; // two sums around one call site, as in q4_1
        float mins = 0;
        for (int b = 0; b < k / 32; b++) {
            long at = ro + 24L * b;
            FloatVector t = q5Block(seg, at + 4, 0, x, xo + 32 * b)
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(LE_I16, at))), s1);
            s1 = s0;
            s0 = t;
            mins = Math.fma(Float.float16ToFloat(seg.get(LE_I16, at + 2)), xs[xso + b], mins);
        }
        return LaneSum.sum(s0.add(s1)) + mins;
    }

    /**
     * Σ_j (q_j - bias)·x[xb + j] over one block's 32 five-bit quants: the 32-bit qh at {@code qh}, the 16 nibble bytes
     * right after it.
     */
    private static FloatVector q5Block(MemorySegment seg, long qh, int bias, float[] x, int xb) {
        IntVector h = IntVector.broadcast(I, seg.get(LE_I32, qh));
        FloatVector acc = FloatVector.zero(F);
        for (int j = 0; j < 16; j += L) {
            // low nibbles (weights j..) under bit j + i of qh, then high nibbles (weights j + 16..) under bit
            // j + 16 + i: one parsed body for both, shifting the nibbles and the bit index between the two steps (two
            // written-out copies passed C2's inlining node limit in q5_0 and q5_1 before their lane sums)
            IntVector q = ints(seg, qh + 4 + j), shift = IOTA.add(j);
            int xj = xb + j;
            for (int part = 0; part < 2; part++) {
                IntVector hb = h.lanewise(VectorOperators.LSHR, shift).and(1).lanewise(VectorOperators.LSHL, 4);
                FloatVector w = (FloatVector) q.and(15).or(hb).sub(bias).convert(VectorOperators.I2F, 0);
                acc = w.fma(FloatVector.fromArray(F, x, xj), acc);
                q = q.lanewise(VectorOperators.LSHR, 4);
                shift = shift.add(16);
                xj += 16;
            }
        }
        return acc;
    }
}
