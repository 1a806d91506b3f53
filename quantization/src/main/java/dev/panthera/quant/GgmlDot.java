package dev.panthera.quant;

import dev.panthera.simd.LaneSum;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API dots of an F32 activation row with one quantized weight row, reading the blocks in place: each block's
 * quants are widened to float lanes in registers (B2F), multiplied into a per-block accumulator, and the block's scale
 * is applied once per block with an FMA. Q8_0 and Q4_0 here, at any species (the other block types are in
 * {@link BlockDot} and {@link KQuantDot}); and the float dot of the dequantized-tile path. Float lanes 4, 8 or 16.
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

    private static final VectorSpecies<Integer> I = F.withLanes(int.class);

    /** Whether a byte vector of the preferred width widens to exactly one float vector (8 or 16 float lanes). */
    private static final boolean ONE_PART = BYTES.length() == F.length();

    /** Bytes loaded at a time: as many as float lanes, but at least 8 (the narrowest byte vector). */
    private static VectorSpecies<Byte> bytesFor(VectorSpecies<Float> fs) {
        return VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, fs.length() * 8)));
    }

    /** Σ_k x[xo + k]·w[k] over a Q8_0 row of {@code k} weights at byte {@code ro} of {@code seg}. */
    static float dotQ8_0(VectorSpecies<Float> fs, MemorySegment seg, long ro, float[] x, int xo, int k) {
        return fs == QuantLanes.F && ONE_PART
                ? q8_0(row(seg, ro, 34L * (k / 32)), 0, x, xo, k)
                : dotQ8_0(fs, bytesFor(fs), seg, ro, x, xo, k);
    }

    /**
     * The row's bytes as a slice of their own, for the Q8_0 dot. Where C2 inlines that dot into {@link
     * QuantizedMatmul}'s row loop (it does when that loop is compiled before the dot, as after a prefill), the loads
     * from the weight segment passed in kept their liveness checks inside the block loop (BENCHMARKS.md, "Decode after
     * a prefill in the same JVM"); loads from a slice made here, whose class C2 then knows, do not.
     */
    private static MemorySegment row(MemorySegment seg, long ro, long bytes) {
        return seg.asSlice(ro, bytes);
    }

    /** dotQ8_0 at the preferred width with the species as constants (see {@link #BYTES}); 8 or 16 float lanes. */
    private static float q8_0(MemorySegment seg, long ro, float[] x, int xo, int k) {
        // Blocks alternate between two sums: one chain of per-block FMAs would bound the loop by FMA latency. The
        // alternation is a swap around one call site rather than two calls per iteration: every inlined site of a
        // Vector API method adds a few hundred nodes, and past C2's node limit the lane sum at the end was left out
        // of line, taking its vector boxed on the heap.
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (int b = 0; b < k / 32; b++) {
            FloatVector t = q8Block(seg, ro + 34L * b, x, xo + 32 * b, s1);
            s1 = s0;
            s0 = t;
        }
        return LaneSum.sum(s0.add(s1));
    }

    /** sum + d·Σ q·x over the Q8_0 block at {@code at}, in lanes. */
    private static FloatVector q8Block(MemorySegment seg, long at, float[] x, int xb, FloatVector sum) {
        FloatVector blk = FloatVector.zero(F);
        for (int j = 0; j < 32; j += F.length()) {
            ByteVector q = ByteVector.fromMemorySegment(BYTES, seg, at + 2 + j, ByteOrder.LITTLE_ENDIAN);
            blk = ((FloatVector) q.castShape(F, 0)).fma(FloatVector.fromArray(F, x, xb + j), blk);
        }
        return blk.fma(FloatVector.broadcast(F, Float.float16ToFloat(scaleBits(seg, at))), sum);
    }

    /**
     * The little-endian half at byte {@code at}, read as lane 0 of a vector load. A scalar {@code MemorySegment.get}
     * goes through a VarHandle whose liveness and bounds checks C2 did not hoist out of these loops (in a model,
     * where the weights' mapped segments and the activations' native ones make the checks' type profiles
     * bimorphic); the vector load's checks it does hoist, and the block's first bytes are in cache for the quants.
     */
    static short scaleBits(MemorySegment seg, long at) {
        return ByteVector.fromMemorySegment(BYTES, seg, at, ByteOrder.LITTLE_ENDIAN)
                .reinterpretAsShorts()
                .lane(0);
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
        return LaneSum.sum(sum);
    }

    /** Σ_k x[xo + k]·w[k] over a Q4_0 row: byte j of a block holds weight j (low nibble) and j + 16 (high). */
    static float dotQ4_0(VectorSpecies<Float> fs, MemorySegment seg, long ro, float[] x, int xo, int k) {
        return fs == QuantLanes.F && ONE_PART ? q4_0(seg, ro, x, xo, k) : dotQ4_0(fs, bytesFor(fs), seg, ro, x, xo, k);
    }

    /** dotQ4_0 at the preferred width with the species as constants (see {@link #BYTES}); 8 or 16 float lanes. */
    private static float q4_0(MemorySegment seg, long ro, float[] x, int xo, int k) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0; // two sums from one call site, as in q8_0
        for (int b = 0; b < k / 32; b++) {
            FloatVector t = q4Block(seg, ro + 18L * b, x, xo + 32 * b, s1);
            s1 = s0;
            s0 = t;
        }
        return LaneSum.sum(s0.add(s1));
    }

    /**
     * sum + d·Σ (q - 8)·x over the Q4_0 block at {@code at}, in lanes: the bytes are sign-extended to int lanes and
     * split into nibbles there (x86 has no byte shift), as in {@link KQuantDot}.
     */
    private static FloatVector q4Block(MemorySegment seg, long at, float[] x, int xb, FloatVector sum) {
        FloatVector blk = FloatVector.zero(F);
        for (int j = 0; j < 16; j += F.length()) {
            ByteVector q = ByteVector.fromMemorySegment(BYTES, seg, at + 2 + j, ByteOrder.LITTLE_ENDIAN);
            IntVector qi = (IntVector) q.convertShape(VectorOperators.B2I, I, 0);
            FloatVector l = (FloatVector) qi.and(15).sub(8).convert(VectorOperators.I2F, 0);
            FloatVector h = (FloatVector)
                    qi.lanewise(VectorOperators.LSHR, 4).and(15).sub(8).convert(VectorOperators.I2F, 0);
            blk = l.fma(FloatVector.fromArray(F, x, xb + j), blk);
            blk = h.fma(FloatVector.fromArray(F, x, xb + 16 + j), blk);
        }
        return blk.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(LE_I16, at))), sum);
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
        return LaneSum.sum(sum);
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
        float s = LaneSum.sum(s0.add(s1));
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
        float s = LaneSum.sum(s0.add(s1));
        for (; i < n; i++) s = Math.fma(a[ao + i], b[bo + i], s);
        return s;
    }
}
