package dev.panthera.models.llama;

import dev.panthera.models.lm.AttentionProbabilities;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.util.List;

/**
 * Grouped-query self-attention of one Llama layer over weights kept in their file dtype or quantized blocks
 * (q_proj, k_proj, v_proj, o_proj as [out, in]; q/k/v one stacked product where {@link LlamaWeights#projections} can
 * stack them; Qwen2's q/k/v biases converted to F32, a few KiB). RoPE pairs follow the config's layout;
 * Mistral's sliding window masks keys more than {@code window − 1} positions behind a query.
 */
final class LlamaAttention {
    private final LlamaConfig c;
    private final RopeTables rope;
    private final Projections qkv;
    private final Projection wo;

    LlamaAttention(LlamaConfig c, RopeTables rope, LlamaWeights w, String prefix) {
        this.c = c;
        this.rope = rope;
        long qDim = (long) c.heads() * c.headDim(), kvDim = (long) c.kvHeads() * c.headDim();
        String q = prefix + "q_proj", k = prefix + "k_proj", v = prefix + "v_proj";
        qkv = w.projections(
                new String[] {q + ".weight", k + ".weight", v + ".weight"},
                new long[] {qDim, kvDim, kvDim},
                c.dim(),
                c.qkvBias() ? new String[] {q + ".bias", k + ".bias", v + ".bias"} : new String[3]);
        wo = w.projection(prefix + "o_proj.weight", c.dim(), qDim, null);
    }

    /**
     * x [B, T, dim] at positions start..; appends to cache slot {@code layer}; {@code mask} as in Attention. When
     * {@code probs} is not null, the layer's attention probabilities [B, heads, T, S] are added to it (computed apart
     * from the fused kernel, which never materialises them). Returns residual (x's shape) plus the attention's
     * output projection, the residual added as o_proj's product is written.
     */
    Tensor forward(Tensor x, Tensor residual, long start, KvCache cache, int layer, Tensor mask, List<Tensor> probs) {
        long b = x.size(0), t = x.size(1);
        int hd = c.headDim();
        Tensor[] p = qkv.apply(x);
        Tensor q = p[0].view(b, t, c.heads(), hd).transpose(1, 2);
        Tensor k = p[1].view(b, t, c.kvHeads(), hd).transpose(1, 2);
        Tensor v = p[2].view(b, t, c.kvHeads(), hd).transpose(1, 2);
        Tensor[] cs = rope.at(start, t);
        q = q.rope(cs[0], cs[1], c.interleavedRope());
        k = k.rope(cs[0], cs[1], c.interleavedRope());
        if (cache != null) {
            if (cache.length(layer) != start)
                throw new IllegalArgumentException(
                        "attention: start " + start + " but the cache holds " + cache.length(layer) + " positions");
            Tensor[] kv = cache.append(layer, k, v);
            k = kv[0];
            v = kv[1];
        }
        Tensor m = windowMask(mask, start, t, k.size(2));
        if (probs != null) probs.add(AttentionProbabilities.of(q, k, m, 1 / Math.sqrt(hd)));
        Tensor out = Tensor.scaledDotProductAttention(q, k, v, m, true, 1 / Math.sqrt(hd));
        return wo.apply(out.transpose(1, 2).reshape(b, t, (long) c.heads() * hd), residual);
    }

    /** The caller's mask, and'ed with the sliding window when some key falls outside it. */
    private Tensor windowMask(Tensor mask, long start, long t, long s) {
        int w = c.slidingWindow();
        if (w == 0 || start + t <= w) return mask;
        boolean[] keep = new boolean[Math.toIntExact(t * s)];
        long first = s - t; // key index of the first query's own position
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < s; j++) keep[(int) (i * s + j)] = first + i - j < w;
        }
        Tensor win = Tensor.of(keep, 1, 1, t, s);
        if (mask == null) return win;
        if (mask.dtype() != DType.BOOL)
            throw new IllegalArgumentException(
                    "attention: a sliding window combines only with a BOOL mask, got " + mask.describe());
        return Tensor.where(mask, win, Tensor.of(new boolean[] {false}, 1));
    }
}
