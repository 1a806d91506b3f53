package dev.panthera.models.gpt2;

import dev.panthera.models.lm.AttentionProbabilities;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.Tensor;
import java.util.List;

/**
 * Multi-head causal self-attention of one GPT-2 layer: one fused projection c_attn [dim, 3·dim] whose output columns
 * are q, then k, then v (each split into heads of dim/heads), scores scaled by 1/√head_dim, and c_proj; both with
 * biases. There is no rotary embedding: positions enter once, through the learned table added to the input.
 */
final class Gpt2Attention {
    private final Gpt2Config c;
    private final Tensor wQkv, bQkv, wOut, bOut;

    Gpt2Attention(Gpt2Config c, Gpt2Weights w, String prefix) {
        this.c = c;
        wQkv = w.conv1d(prefix + "c_attn.weight", c.dim(), 3L * c.dim());
        bQkv = w.vector(prefix + "c_attn.bias", 3L * c.dim());
        wOut = w.conv1d(prefix + "c_proj.weight", c.dim(), c.dim());
        bOut = w.vector(prefix + "c_proj.bias", c.dim());
    }

    /**
     * x [B, T, dim] at positions start..; appends to cache slot {@code layer}; {@code mask} restricts keys; the
     * layer's attention probabilities [B, heads, T, S] go to {@code probs} when not null. Returns residual (of the
     * output's shape) plus the attention's projected output, the residual added as the projection is written.
     */
    Tensor forward(Tensor x, Tensor residual, long start, KvCache cache, int layer, Tensor mask, List<Tensor> probs) {
        long b = x.size(0), t = x.size(1), d = c.dim();
        int hd = c.headDim();
        Tensor qkv = x.matmulAdd(wQkv, bQkv, null);
        Tensor q = qkv.narrow(2, 0, d).reshape(b, t, c.heads(), hd).transpose(1, 2);
        Tensor k = qkv.narrow(2, d, d).reshape(b, t, c.heads(), hd).transpose(1, 2);
        Tensor v = qkv.narrow(2, 2 * d, d).reshape(b, t, c.heads(), hd).transpose(1, 2);
        if (cache != null) {
            if (cache.length(layer) != start)
                throw new IllegalArgumentException("gpt2 attention: start " + start + " but the cache holds "
                        + cache.length(layer) + " positions");
            Tensor[] kv = cache.append(layer, k, v);
            k = kv[0];
            v = kv[1];
        }
        if (probs != null) probs.add(AttentionProbabilities.of(q, k, mask, 1 / Math.sqrt(hd)));
        Tensor out = Tensor.scaledDotProductAttention(q, k, v, mask, true, 1 / Math.sqrt(hd));
        return out.transpose(1, 2).reshape(b, t, d).matmulAdd(wOut, bOut, residual);
    }
}
