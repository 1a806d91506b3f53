package dev.panthera.quant;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.simd.Sgemm;
import dev.panthera.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.VectorSpecies;

/**
 * y = x · Wᵀ for an F32 activation x [..., in] and a {@link QuantizedWeight} W [out, in] that stays quantized: the
 * weight is never expanded to an F32 matrix.
 *
 * <ul>
 *   <li>One activation row (decode): rows of every GGML block type are dotted block by block from their bytes
 *       ({@link GgmlDot} for Q8_0 and Q4_0, {@link BlockDot} for Q4_1, Q5_0 and Q5_1, {@link KQuantDot} for the
 *       K-quants); F32/F16/BF16 rows are dequantized a tile at a time.
 *   <li>Several rows (prefill): a tile of {@value #TILE} weight rows is dequantized into a small scratch and every
 *       activation row is dotted with it, so each weight row is unpacked once per call, not once per token.
 * </ul>
 *
 * Large products split the output rows over GEMM's threads ({@link Sgemm#parallelRanges}: the thread count of the
 * current {@code GemmConfig} or {@link Sgemm#setThreads}, as for an F32 matmul), when the weight's memory may be read
 * from other threads (a shared, global or automatic arena; a confined arena's weight runs on the calling thread).
 */
public final class QuantizedMatmul {
    private QuantizedMatmul() {}

    /** Weight rows dequantized together in the prefill path. */
    static final int TILE = 8;

    /** Stands for "some other thread" when asking whether a segment is confined to its owner. */
    private static final Thread OTHER = Thread.ofVirtual().unstarted(() -> {});

    /** y [..., out] = x [..., in] · Wᵀ, in F32 (x is read as F32 whatever its dtype). */
    public static Tensor matmul(Tensor x, QuantizedWeight w) {
        long[] dims = x.dims();
        if (dims.length == 0 || dims[dims.length - 1] != w.in()) {
            throw new IllegalArgumentException("QuantizedMatmul.matmul: x " + x.shape() + " times " + w.name() + " "
                    + w.type() + " [" + w.out() + ", " + w.in() + "]ᵀ: the last dim of x must be " + w.in());
        }
        long m = 1; // rows of x: the product of its leading dims (an empty x has none)
        for (int i = 0; i < dims.length - 1; i++) m *= dims[i];
        float[] xa = x.toFloatArray();
        float[] y = new float[Math.toIntExact(Math.multiplyExact(m, w.out()))];
        matmul(QuantLanes.F, xa, Math.toIntExact(m), w, y);
        long[] outDims = dims.clone();
        outDims[outDims.length - 1] = w.out();
        return Tensor.of(y, outDims);
    }

    /** y[m·out + n] = Σ_k x[m·in + k]·W[n, k], row-major arrays. */
    public static void matmul(float[] x, int m, QuantizedWeight w, float[] y) {
        matmul(QuantLanes.F, x, m, w, y);
    }

    static void matmul(VectorSpecies<Float> fs, float[] x, int m, QuantizedWeight w, float[] y) {
        int n = Math.toIntExact(w.out()), k = Math.toIntExact(w.in());
        if (x.length < (long) m * k || y.length < (long) m * n) {
            throw new IllegalArgumentException("QuantizedMatmul.matmul: " + m + " rows of " + k + " times " + w.name()
                    + " [" + n + ", " + k + "]ᵀ need " + (long) m * k + " inputs (have " + x.length + ") and "
                    + (long) m * n + " outputs (have " + y.length + ")");
        }
        float[] xs = m == 1 && needsGroupSums(w.type()) ? KQuantDot.groupSums(x, 0, k) : null;
        long flops = 2L * m * n * k;
        if (!w.blocks().isAccessibleBy(OTHER)) {
            rows(fs, x, xs, m, w, y, 0, n); // a confined weight is read on its owner thread only
            return;
        }
        // output rows split over GEMM's threads as the F32 GEMV is (GemmConfig / Sgemm.setThreads), in whole tiles
        Sgemm.parallelRanges(n, flops, TILE, (from, to) -> rows(fs, x, xs, m, w, y, from, to));
    }

    /** Whether one activation row runs through a block-dot kernel that reads {@code t}'s blocks in place. */
    static boolean hasDot(GgmlType t) {
        return switch (t) {
            case Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q8_K -> true;
            default -> false;
        };
    }

    /** Whether {@code t}'s dot needs the activation's 32-element sums (the formats with a min). */
    private static boolean needsGroupSums(GgmlType t) {
        return t == GgmlType.Q4_1 || t == GgmlType.Q5_1 || t == GgmlType.Q4_K || t == GgmlType.Q5_K;
    }

    /** Output columns [from, to) of every activation row; {@code xs} the group sums of a single row, or null. */
    private static void rows(
            VectorSpecies<Float> fs, float[] x, float[] xs, int m, QuantizedWeight w, float[] y, int from, int to) {
        int n = Math.toIntExact(w.out()), k = Math.toIntExact(w.in());
        GgmlType t = w.type();
        if (m == 1 && hasDot(t)) {
            long rb = w.rowBytes();
            MemorySegment seg = w.blocks();
            // Q8_0 and Q4_0 also run at a species other than the preferred one (tests); the others always run at
            // QuantLanes.F, whose width tests set with panthera.simd.bits
            for (int r = from; r < to; r++) {
                long ro = r * rb;
                y[r] = switch (t) {
                    case Q8_0 -> GgmlDot.dotQ8_0(fs, seg, ro, x, 0, k);
                    case Q4_0 -> GgmlDot.dotQ4_0(fs, seg, ro, x, 0, k);
                    case Q4_1 -> BlockDot.q4_1(seg, ro, x, 0, xs, 0, k);
                    case Q5_0 -> BlockDot.q5_0(seg, ro, x, 0, k);
                    case Q5_1 -> BlockDot.q5_1(seg, ro, x, 0, xs, 0, k);
                    case Q4_K -> KQuantDot.q4K(seg, ro, x, 0, xs, 0, k);
                    case Q5_K -> KQuantDot.q5K(seg, ro, x, 0, xs, 0, k);
                    case Q6_K -> KQuantDot.q6K(seg, ro, x, 0, k);
                    default -> KQuantDot.q8K(seg, ro, x, 0, k);
                };
            }
            return;
        }
        float[] tile = new float[TILE * k];
        for (int r0 = from; r0 < to; r0 += TILE) {
            int rows = Math.min(TILE, to - r0);
            for (int i = 0; i < rows; i++) w.dequantizeRow(r0 + i, tile, i * k);
            for (int row = 0; row < m; row++) {
                for (int i = 0; i < rows; i++) y[row * n + r0 + i] = GgmlDot.dot(fs, x, row * k, tile, i * k, k);
            }
        }
    }

    /**
     * The scalar reference: each weight row dequantized by the scalar block decoder, then a left-to-right float sum
     * of products.
     */
    public static void reference(float[] x, int m, QuantizedWeight w, float[] y) {
        int n = Math.toIntExact(w.out()), k = Math.toIntExact(w.in());
        float[] row = new float[k];
        for (int r = 0; r < n; r++) {
            w.dequantizeRow(r, row, 0);
            for (int i = 0; i < m; i++) {
                float s = 0;
                for (int j = 0; j < k; j++) s += x[i * k + j] * row[j];
                y[i * n + r] = s;
            }
        }
    }
}
