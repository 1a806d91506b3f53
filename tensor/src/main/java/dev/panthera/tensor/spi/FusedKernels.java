package dev.panthera.tensor.spi;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UnaryOp;

/**
 * Fused kernels a backend may offer beside its primitives ({@link Backend#fused()}). Each kernel serves one fused
 * op that tensor declares once with a composition from primitives: tensor calls a kernel only when
 * {@link #supports} says so for the dtype, and composes the op from {@link Backend} primitives otherwise, so a
 * backend is correct without any of these and faster with them. Layout conventions are {@link Backend}'s: sources
 * may be any strided view (stride 0 included), destinations are freshly allocated with a layout of the stated shape
 * (contiguous unless the method says otherwise), and all float tensors share one dtype unless the method says
 * otherwise.
 */
public interface FusedKernels {
    /** The kernels of this interface, for {@link #supports}. */
    enum Kernel {
        SOFTMAX,
        LAYER_NORM,
        RMS_NORM,
        ROPE,
        /** Attention without mask or log-sum-exp output (the ten-argument method). */
        ATTENTION,
        /** Attention with an additive mask and/or the log-sum-exp output (the fourteen-argument method). */
        ATTENTION_MASK_LSE,
        /**
         * Attention of queries of the dtype asked about with keys and values of one half-precision dtype (F16 or BF16:
         * a half-precision KV cache), read as they are, through the fourteen-argument method with no log-sum-exp
         * ({@code lse} null) and an additive mask of the queries' dtype or none (without a mask, the ten-argument
         * method too); the output has the queries' dtype. Without it tensor converts the keys and values to the
         * queries' dtype first. (The reference backend, which offers every kernel, reads each operand in its own
         * dtype.)
         */
        ATTENTION_HALF_KV,
        ATTENTION_BACKWARD,
        NORM_BACKWARD,
        SILU_BACKWARD,
        SOFTMAX_BACKWARD,
        /**
         * A matrix product with a bias row and/or a residual added, and an activation applied, as its result is
         * written ({@link #matmulAdd}).
         */
        MATMUL_ADD,
        /** One AdamW update of dense F32 parameter, gradient and moments in a single pass ({@link #adamw}). */
        ADAMW
    }

    /**
     * Whether this backend runs {@code kernel} on tensors of {@code dtype}; when false tensor composes the op from
     * primitives instead. The default offers the forward kernels every backend has (softmax, the norms, RoPE and
     * attention without mask) for float dtypes and none of the others.
     */
    default boolean supports(Kernel kernel, DType dtype) {
        return switch (kernel) {
            case SOFTMAX, LAYER_NORM, RMS_NORM, ROPE, ATTENTION -> dtype.isFloatingPoint();
            case ATTENTION_MASK_LSE,
                    ATTENTION_HALF_KV,
                    ATTENTION_BACKWARD,
                    NORM_BACKWARD,
                    SILU_BACKWARD,
                    SOFTMAX_BACKWARD,
                    MATMUL_ADD,
                    ADAMW -> false;
        };
    }

    /**
     * The scalars of one AdamW update ({@link #adamw}) for step t: {@code decay} = 1 − lr·wd, {@code w1} = 1 − β1,
     * {@code beta2} = β2, {@code w2} = 1 − β2, {@code rootBc2} = √(1 − β2ᵗ), {@code eps} = ε, {@code stepSize} =
     * −lr/(1 − β1ᵗ).
     */
    record AdamWStep(double decay, double w1, double beta2, double w2, double rootBc2, double eps, double stepSize) {}

    /**
     * One AdamW update, in place, of n F32 elements of p, m and v from g, each a contiguous run from element
     * {@code pAt} ({@code gAt}, {@code mAt}, {@code vAt}) of its storage; g's storage is none of the others. Every
     * element is rounded at the points of the op sequence it replaces, so the result is that sequence's bits:
     *
     * <ol>
     *   <li>p ← p ·f (float) decay, where decay ≠ 1 ({@code p.mul_});
     *   <li>m ← lerp(m, g, w1) in float64, rounded once, as {@code m.lerp_} computes it: m + w1·(g − m) for |w1| &lt;
     *       0.5, else g − (g − m)·(1 − w1);
     *   <li>v ← (double) (v ·f (float) beta2) + w2·g·g in float64, rounded once ({@code v.mul_.addcmul_});
     *   <li>d ← √v ÷f (float) rootBc2 +f (float) eps ({@code v.sqrt().div_().add_()});
     *   <li>p ← p + stepSize·m ÷ d in float64 (left to right), rounded once ({@code p.addcdiv_}).
     * </ol>
     *
     * The default refuses ({@link #supports} offers it nowhere by default).
     */
    default void adamw(
            Storage p, long pAt, Storage g, long gAt, Storage m, long mAt, Storage v, long vAt, long n, AdamWStep s) {
        throw new UnsupportedOperationException("AdamW update is not offered");
    }

    /**
     * dst = act(a·b + bias + residual) for a [M, K], b [K, N] and dst [M, N] (rank 2; a and dst of {@code dtype}, b of
     * it or, for F32, BF16/F16 as {@link Backend#matmul} takes it), bias 1-D [N] and residual [M, N] of dst's dtype,
     * either of them null when absent, and {@code activation} null for none. Each element is computed as the separate
     * ops would: the product rounded, plus bias[n] rounded, plus residual[m][n] rounded, then this backend's
     * {@link Backend#unary} of it; the kernel only spares the passes over dst. Bias and residual have unit stride
     * along N. The default refuses ({@link #supports} offers it nowhere by default).
     */
    default void matmulAdd(
            Storage a,
            Layout aLayout,
            Storage b,
            Layout bLayout,
            Storage bias,
            Layout biasLayout,
            Storage residual,
            Layout residualLayout,
            UnaryOp activation,
            Storage dst,
            Layout dstLayout) {
        throw new UnsupportedOperationException("matmul with bias and residual is not offered");
    }

    /**
     * Softmax (or log-softmax) along {@code dim}: dst = exp(x − max) / Σ exp(x − max) over each row of that dim
     * (log: x − max − log Σ exp(x − max)). A row of all −∞ gives NaN, as in PyTorch.
     */
    void softmax(Storage src, Layout srcLayout, int dim, boolean log, Storage dst, Layout dstLayout);

    /**
     * Layer norm over the last dimension: (x − mean) / sqrt(var + eps) · weight + bias with the population
     * variance; weight and bias are 1-D of that size or null.
     */
    void layerNorm(
            Storage x,
            Layout xLayout,
            Storage weight,
            Layout weightLayout,
            Storage bias,
            Layout biasLayout,
            double eps,
            Storage dst,
            Layout dstLayout);

    /** RMS norm over the last dimension: x / sqrt(mean(x²) + eps) · weight (weight may be null). */
    void rmsNorm(
            Storage x, Layout xLayout, Storage weight, Layout weightLayout, double eps, Storage dst, Layout dstLayout);

    /**
     * Rotary position embedding: x [..., seq, d] rotated by angles whose cos and sin are [seq, d/2]. Interleaved
     * rotates adjacent pairs (x[2i], x[2i+1]) as llama2.c and llama.cpp's llama arch do; otherwise halves
     * (x[i], x[i+d/2]) as HuggingFace Llama does. Pair (a, b) becomes (a·cos − b·sin, a·sin + b·cos). Tensor also
     * runs this kernel with −sin for the backward (the rotation by −θ is the transpose of the rotation by θ).
     */
    void rope(
            Storage x,
            Layout xLayout,
            Storage cos,
            Layout cosLayout,
            Storage sin,
            Layout sinLayout,
            boolean interleaved,
            Storage dst,
            Layout dstLayout);

    /**
     * Scaled dot-product attention: q [B, Hq, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv] with Hq a multiple of Hkv
     * (query head h reads kv head h / (Hq/Hkv)), dst [B, Hq, Lq, Dv] = softmax(q·kᵀ·scale)·v. With {@code causal},
     * query i sees keys j ≤ i + Lk − Lq (queries are the last Lq positions: decoding against a cache). A query that
     * sees no key gives NaN.
     */
    void attention(
            Storage q,
            Layout qLayout,
            Storage k,
            Layout kLayout,
            Storage v,
            Layout vLayout,
            boolean causal,
            double scale,
            Storage dst,
            Layout dstLayout);

    /**
     * Attention as above with softmax(q·kᵀ·scale + mask) and a per-row log-sum-exp. {@code mask} is additive (−∞
     * hides a key), of q's dtype, with a layout of shape [B, Hq, Lq, Lk] that may broadcast (stride 0); null means
     * none. {@code lse}, when not null, receives log Σ_j exp(q·k_j·scale + mask_j) over the visible keys of each query
     * row, [B, Hq, Lq] in F32 (F64 for F64 inputs); −∞ for a row that sees no key. The default serves calls without
     * mask and lse and refuses the rest.
     */
    default void attention(
            Storage q,
            Layout qLayout,
            Storage k,
            Layout kLayout,
            Storage v,
            Layout vLayout,
            Storage mask,
            Layout maskLayout,
            boolean causal,
            double scale,
            Storage dst,
            Layout dstLayout,
            Storage lse,
            Layout lseLayout) {
        if (mask != null || lse != null) {
            throw new UnsupportedOperationException("attention with a mask or log-sum-exp output is not offered");
        }
        attention(q, qLayout, k, kLayout, v, vLayout, causal, scale, dst, dstLayout);
    }

    /**
     * The gradients of attention given the forward's inputs, its output {@code out} [B, Hq, Lq, Dv], its log-sum-exp
     * {@code lse} [B, Hq, Lq] (as written by the forward) and the output's gradient {@code dOut}. With
     * P = exp(S − lse) for the scores S = q·kᵀ·scale + mask over the visible keys: dV = Pᵀ·dO, dP = dO·Vᵀ,
     * dS = P∘(dP − rowsum(dO∘O)), dQ = scale·dS·K, dK = scale·dSᵀ·Q, where each kv head sums over the query heads
     * of its group; a query row that sees no key (lse −∞) contributes nothing. {@code dq}, {@code dk}, {@code dv}
     * are zero-filled, contiguous, of q's, k's and v's shapes; a null destination is not wanted.
     */
    default void attentionBackward(
            Storage q,
            Layout qLayout,
            Storage k,
            Layout kLayout,
            Storage v,
            Layout vLayout,
            Storage mask,
            Layout maskLayout,
            boolean causal,
            double scale,
            Storage out,
            Layout outLayout,
            Storage lse,
            Layout lseLayout,
            Storage dOut,
            Layout dOutLayout,
            Storage dq,
            Layout dqLayout,
            Storage dk,
            Layout dkLayout,
            Storage dv,
            Layout dvLayout) {
        throw new UnsupportedOperationException("attention backward is not offered");
    }

    /**
     * The gradients of layer norm ({@code rms} false) or RMS norm over the last dimension, per row with
     * x̂ = (x − mean)·rstd (rms: x·rstd, no mean) and g = dY·weight (dY without weight):
     * dX = rstd·(g − mean(g) − x̂·mean(g∘x̂)) (rms: dX = rstd·(g − x̂·mean(g∘x̂))), dW = Σ_rows dY∘x̂ and
     * dB = Σ_rows dY. {@code dx} is contiguous of x's shape; {@code dw} and {@code db} are zero-filled 1-D
     * destinations, or null when not wanted; {@code weight} may be null.
     */
    default void normBackward(
            Storage x,
            Layout xLayout,
            Storage weight,
            Layout weightLayout,
            Storage dy,
            Layout dyLayout,
            double eps,
            boolean rms,
            Storage dx,
            Layout dxLayout,
            Storage dw,
            Layout dwLayout,
            Storage db,
            Layout dbLayout) {
        throw new UnsupportedOperationException("norm backward is not offered");
    }

    /**
     * SiLU's backward: dx = g·σ(x)·(1 + x·(1 − σ(x))) elementwise, σ the logistic function; x, g and dx of one shape
     * (any layouts), g of x's dtype.
     */
    default void siluBackward(Storage x, Layout xLayout, Storage g, Layout gLayout, Storage dx, Layout dxLayout) {
        throw new UnsupportedOperationException("SiLU backward is not offered");
    }

    /**
     * The backward of {@link #softmax} along {@code dim} from its output {@code out} and the incoming gradient g, row
     * by row of that dim: log-softmax dx = g − e^out·Σ g, softmax dx = out·(g − Σ g·out). out, g and dx of one shape
     * (any layouts), g of out's dtype.
     */
    default void softmaxBackward(
            Storage out,
            Layout outLayout,
            Storage g,
            Layout gLayout,
            int dim,
            boolean log,
            Storage dx,
            Layout dxLayout) {
        throw new UnsupportedOperationException("softmax backward is not offered");
    }
}
