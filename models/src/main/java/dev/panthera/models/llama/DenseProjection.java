package dev.panthera.models.llama;

import dev.panthera.tensor.Tensor;

/**
 * A dense {@link Projection}, y = x·Wᵀ (+ b), whose weight is packed for matmul ({@link Tensor#packedForMatmul()})
 * the first time a product of at least {@link #PACK_ROWS} rows needs it (a prefill), so the backend cuts it into its
 * GEMM panels once instead of on every prefill. Decode's one-row products never read the panels: they stream the
 * weight's values as before. Nothing is packed for a model that only decodes, so its memory stays the file's.
 *
 * <p>After packing, this projection reads the packed tensor for every row count when the weight is writable (the
 * packed values are a snapshot taken at packing, so prefill and decode always read the same weights). A read-only
 * weight (a mapped checkpoint, a file's tensor on the heap) cannot change, and its packed values are that memory
 * itself: decode keeps reading the weight as loaded, where the packed tensor's read-only view would hide the heap
 * array the decode kernel reads by array loads.
 */
final class DenseProjection implements Projection {
    /** Rows from which a product packs (the SIMD GEMM's skinny threshold: fewer rows stream the weight unpacked). */
    static final long PACK_ROWS = 8;

    private final Tensor bias;
    /** [in, out]: a transposed view of the [out, in] weight as loaded. */
    private final Tensor loaded;

    private final boolean readOnly;
    private volatile Tensor weight; // loaded, packed once needed
    private volatile boolean packed;

    DenseProjection(Tensor w, Tensor bias) {
        this.loaded = w.t();
        this.weight = loaded;
        this.readOnly = loaded.isReadOnly();
        this.bias = bias;
    }

    @Override
    public Tensor apply(Tensor x) {
        return apply(x, null);
    }

    /** x·Wᵀ + b + residual (either may be null), the bias and residual added as the product is written. */
    @Override
    public Tensor apply(Tensor x, Tensor residual) {
        Tensor w = weight;
        boolean rows = x.numel() / Math.max(1, x.size(-1)) >= PACK_ROWS;
        if (!packed && rows) {
            w = w.packedForMatmul();
            weight = w; // a race packs twice at worst: both results hold the same values
            packed = true;
        }
        if (!rows && readOnly) w = loaded;
        return bias == null && residual == null ? x.matmul(w) : x.matmulAdd(w, bias, residual);
    }

    /** The weight a prefill reads now, [in, out] (packed after the first prefill; see the class comment for decode). */
    Tensor weight() {
        return weight;
    }
}
