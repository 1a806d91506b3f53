package dev.panthera.models.llama;

import dev.panthera.tensor.Tensor;

/**
 * A dense {@link Projection}, y = x·Wᵀ (+ b), whose weight is packed for matmul ({@link Tensor#packedForMatmul()})
 * the first time a product of at least {@link #PACK_ROWS} rows needs it (a prefill), so the backend cuts it into its
 * GEMM panels once instead of on every prefill. Decode's one-row products never read the panels: they stream the
 * weight's values as before. Nothing is packed for a model that only decodes, so its memory stays the file's.
 *
 * <p>After packing, this projection reads only the packed tensor, for every row count: its values are the file's
 * read-only memory itself (a mapped checkpoint) or a snapshot of the loaded weight taken at packing, and can never
 * change, so prefill and decode always read the same weights.
 */
final class DenseProjection implements Projection {
    /** Rows from which a product packs (the SIMD GEMM's skinny threshold: fewer rows stream the weight unpacked). */
    static final long PACK_ROWS = 8;

    private final Tensor bias;
    private volatile Tensor weight; // [in, out]: a transposed view of the [out, in] weight, packed once needed
    private volatile boolean packed;

    DenseProjection(Tensor w, Tensor bias) {
        this.weight = w.t();
        this.bias = bias;
    }

    @Override
    public Tensor apply(Tensor x) {
        Tensor w = weight;
        if (!packed && x.numel() / Math.max(1, x.size(-1)) >= PACK_ROWS) {
            w = w.packedForMatmul();
            weight = w; // a race packs twice at worst: both results hold the same values
            packed = true;
        }
        Tensor y = x.matmul(w);
        return bias == null ? y : y.add(bias);
    }

    /** The weight as this projection reads it now, [in, out] (packed after the first prefill). */
    Tensor weight() {
        return weight;
    }
}
