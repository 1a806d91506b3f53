package dev.panthera.quant;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Tensor;
import java.util.stream.IntStream;
import jdk.incubator.vector.VectorSpecies;

/**
 * y = x · Wᵀ for an F32 activation x [..., in] and a {@link QuantizedWeight} W [out, in] that stays quantized: the
 * weight is never expanded to an F32 matrix.
 *
 * <ul>
 *   <li>One activation row (decode): Q8_0, Q4_0, Q4_K and Q6_K rows are dotted block by block from their bytes
 *       ({@link GgmlDot}); other types dequantize one row at a time into a K-float scratch and dot it.
 *   <li>Several rows (prefill): a tile of {@value #TILE} weight rows is dequantized into a small scratch and every
 *       activation row is dotted with it, so each weight row is unpacked once per call, not once per token.
 * </ul>
 *
 * Large products split the output rows over the common fork-join pool, when the weight's memory may be read from
 * other threads (a shared, global or automatic arena; a confined arena's weight runs on the calling thread).
 */
public final class QuantizedMatmul {
    private QuantizedMatmul() {}

    /** Weight rows dequantized together in the prefill path. */
    static final int TILE = 8;

    /** Stands for "some other thread" when asking whether a segment is confined to its owner. */
    private static final Thread OTHER = Thread.ofVirtual().unstarted(() -> {});

    /** Multiply-adds below which one thread does the whole product. */
    private static final long PARALLEL_WORK = 1L << 21;

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
        int tiles = (n + TILE - 1) / TILE;
        boolean parallel =
                (long) m * n * k >= PARALLEL_WORK && tiles > 1 && w.blocks().isAccessibleBy(OTHER);
        int chunks = parallel ? Math.min(tiles, Runtime.getRuntime().availableProcessors() * 4) : 1;
        IntStream range = IntStream.range(0, chunks);
        (parallel ? range.parallel() : range).forEach(c -> {
            int from = (int) ((long) tiles * c / chunks) * TILE,
                    to = Math.min(n, (int) ((long) tiles * (c + 1) / chunks) * TILE);
            rows(fs, x, m, w, y, from, to);
        });
    }

    /** Output columns [from, to) of every activation row. */
    private static void rows(
            VectorSpecies<Float> fs, float[] x, int m, QuantizedWeight w, float[] y, int from, int to) {
        int n = Math.toIntExact(w.out()), k = Math.toIntExact(w.in());
        GgmlType t = w.type();
        if (m == 1 && (t == GgmlType.Q8_0 || t == GgmlType.Q4_0 || t == GgmlType.Q4_K || t == GgmlType.Q6_K)) {
            long rb = w.rowBytes();
            for (int r = from; r < to; r++) {
                y[r] = switch (t) {
                    case Q8_0 -> GgmlDot.dotQ8_0(fs, w.blocks(), r * rb, x, 0, k);
                    case Q4_0 -> GgmlDot.dotQ4_0(fs, w.blocks(), r * rb, x, 0, k);
                    case Q4_K -> GgmlDot.dotQ4_K(fs, w.blocks(), r * rb, x, 0, k);
                    default -> GgmlDot.dotQ6_K(fs, w.blocks(), r * rb, x, 0, k);
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
