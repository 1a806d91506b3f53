package dev.panthera.models.lm;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;

/**
 * The attention probabilities a fused attention kernel never materialises, for callers that ask for them (per-layer
 * outputs for distillation and inspection): softmax(q·kᵀ·scale) over the keys each query may see, as transformers'
 * eager attention returns them.
 */
public final class AttentionProbabilities {
    private AttentionProbabilities() {}

    /**
     * @param q [B, heads, T, d] queries (after RoPE where the model has it)
     * @param k [B, kvHeads, S, d] keys, S ≥ T, the last T of them at the queries' positions; each KV head serves
     *     heads / kvHeads consecutive query heads
     * @param mask null, or BOOL broadcastable to [B, heads, T, S], true where a key may be seen; keys after a query's
     *     own position are hidden in any case
     * @return [B, heads, T, S]
     */
    public static Tensor of(Tensor q, Tensor k, Tensor mask, double scale) {
        long b = q.size(0), heads = q.size(1), t = q.size(2), d = q.size(3), s = k.size(2), kvh = k.size(1);
        if (k.size(0) != b || k.size(3) != d || heads % kvh != 0 || s < t)
            throw new IllegalArgumentException(
                    "attention probabilities: q " + q.shape() + " and k " + k.shape() + " do not pair");
        Tensor kr = kvh == heads
                ? k
                : k.unsqueeze(2).expand(b, kvh, heads / kvh, s, d).reshape(b, heads, s, d);
        Tensor scores = q.matmul(kr.transpose(2, 3)).mul(scale);
        boolean[] hide = new boolean[Math.toIntExact(t * s)];
        for (int i = 0; i < t; i++) for (int j = 0; j < s; j++) hide[(int) (i * s + j)] = j > s - t + i;
        Tensor hidden = Tensor.of(hide, 1, 1, t, s);
        if (mask != null) {
            if (mask.dtype() != DType.BOOL)
                throw new IllegalArgumentException(
                        "attention probabilities: only a BOOL mask is supported, got " + mask.describe());
            hidden = Tensor.where(mask, hidden, Tensor.of(new boolean[] {true}, 1));
        }
        return scores.maskedFill(hidden, Double.NEGATIVE_INFINITY).softmax(-1);
    }
}
