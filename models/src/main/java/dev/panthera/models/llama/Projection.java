package dev.panthera.models.llama;

import dev.panthera.quant.QuantizedLinear;
import dev.panthera.tensor.Tensor;

/**
 * One linear map of a Llama block, y = x·Wᵀ (+ b), whatever holds W: a dense matrix in its file dtype (F32, F16,
 * BF16 through the mixed matmul) or quantized blocks read in place ({@link QuantizedLinear}). The blocks call only
 * this, so how a weight is stored is decided once, at load.
 */
interface Projection {
    /** x [..., in] → [..., out]. */
    Tensor apply(Tensor x);

    /** apply(x) + residual (of the output's shape); a dense weight adds it as the product is written. */
    default Tensor apply(Tensor x, Tensor residual) {
        return apply(x).add(residual);
    }

    /** A dense weight [out, in] and an optional bias [out], packed for matmul at the first prefill. */
    static Projection dense(Tensor w, Tensor bias) {
        return new DenseProjection(w, bias);
    }

    /** A quantized layer (its own bias included), which adds a residual as its product is copied out. */
    static Projection quantized(QuantizedLinear q) {
        return new Projection() {
            @Override
            public Tensor apply(Tensor x) {
                return q.forward(x);
            }

            @Override
            public Tensor apply(Tensor x, Tensor residual) {
                return q.forward(x, residual);
            }
        };
    }
}
