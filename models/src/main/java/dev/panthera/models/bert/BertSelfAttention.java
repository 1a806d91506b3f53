package dev.panthera.models.bert;

import dev.panthera.tensor.Tensor;
import java.util.function.UnaryOperator;

/**
 * One BERT layer's attention block, post-norm: LayerNorm(x + dense(softmax(q·kᵀ/√d + mask)·v)). Queries, keys and
 * values come from biased linear maps of x; padded keys are masked out, padded queries still attend to the real
 * keys (their outputs are computed, as HuggingFace does, and ignored by pooling).
 */
final class BertSelfAttention {
    private final BertConfig c;
    private final BertLayer.Projection query, key, value, dense;
    /** Float maps only: q, k and v as one product over their weights side by side, [B, T, 3·hidden]; else null. */
    private final UnaryOperator<Tensor> qkv;

    private final Tensor normWeight, normBias;

    BertSelfAttention(BertConfig c, BertWeights w, String p, BertLinearMaker maker) {
        this.c = c;
        int h = c.hidden();
        String q = p + "attention.self.query", k = p + "attention.self.key", v = p + "attention.self.value";
        if (maker == null) {
            // one GEMM instead of three: the activations are packed once, and its N is wide enough for the kernel
            Tensor wqkv = w.linears(h, h, q + ".weight", k + ".weight", v + ".weight");
            Tensor bqkv = w.vectors(h, q + ".bias", k + ".bias", v + ".bias");
            qkv = x -> x.matmulAdd(wqkv, bqkv, null);
            query = key = value = null;
        } else {
            qkv = null;
            query = BertLayer.projection(w, maker, q, h, h);
            key = BertLayer.projection(w, maker, k, h, h);
            value = BertLayer.projection(w, maker, v, h, h);
        }
        dense = BertLayer.projection(w, maker, p + "attention.output.dense", h, h);
        normWeight = w.vector(p + "attention.output.LayerNorm.weight", h);
        normBias = w.vector(p + "attention.output.LayerNorm.bias", h);
    }

    /**
     * x [B, T, hidden]; {@code keep} BOOL [B, 1, 1, T] (true: a real token) and {@code pad} its negation; {@code probs}, when not null, receives
     * the attention probabilities [B, heads, T, T] at index 0 (computed explicitly instead of by the fused kernel)
     * and, when it has a second slot, the scores before the softmax at index 1: q·kᵀ/√d plus the additive mask as
     * transformers' eager attention adds it, torch.finfo(float32).min at padded keys. A score plus that minimum
     * rounds to the minimum itself in float32 (scores are far below its half-ulp, 2¹⁰³), so those entries are set to
     * −Float.MAX_VALUE directly.
     */
    Tensor forward(Tensor x, Tensor keep, Tensor pad, Tensor[] probs) {
        long b = x.size(0), t = x.size(1);
        int heads = c.heads(), d = c.headDim();
        Tensor q, k, v;
        if (qkv != null) {
            Tensor all = qkv.apply(x); // [B, T, 3·hidden]: q, k, v as strided views of it
            long h = c.hidden();
            q = all.narrow(2, 0, h).view(b, t, heads, d).transpose(1, 2);
            k = all.narrow(2, h, h).view(b, t, heads, d).transpose(1, 2);
            v = all.narrow(2, 2 * h, h).view(b, t, heads, d).transpose(1, 2);
        } else {
            q = query.apply(x, null, null).view(b, t, heads, d).transpose(1, 2);
            k = key.apply(x, null, null).view(b, t, heads, d).transpose(1, 2);
            v = value.apply(x, null, null).view(b, t, heads, d).transpose(1, 2);
        }
        double scale = 1 / Math.sqrt(d);
        Tensor ctx;
        if (probs == null) {
            ctx = Tensor.scaledDotProductAttention(q, k, v, keep, false, scale);
        } else {
            Tensor scores = q.matmul(k.transpose(2, 3)).mul(scale);
            Tensor p = scores.maskedFill(pad, Double.NEGATIVE_INFINITY).softmax(3);
            probs[0] = p;
            if (probs.length > 1) probs[1] = scores.maskedFill(pad, -Float.MAX_VALUE);
            ctx = p.matmul(v);
        }
        Tensor out = ctx.transpose(1, 2).reshape(b, t, c.hidden());
        return dense.apply(out, x, null).layerNorm(normWeight, normBias, c.layerNormEps());
    }
}
