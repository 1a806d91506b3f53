package dev.panthera.models.bert;

import dev.panthera.tensor.Tensor;

/**
 * One BERT layer's attention block, post-norm: LayerNorm(x + dense(softmax(q·kᵀ/√d + mask)·v)). Queries, keys and
 * values come from biased linear maps of x; padded keys are masked out, padded queries still attend to the real
 * keys (their outputs are computed, as HuggingFace does, and ignored by pooling).
 */
final class BertSelfAttention {
    private final BertConfig c;
    private final Tensor wq, bq, wk, bk, wv, bv, wo, bo, normWeight, normBias;

    BertSelfAttention(BertConfig c, BertWeights w, String p) {
        this.c = c;
        int h = c.hidden();
        wq = w.linear(p + "attention.self.query.weight", h, h);
        bq = w.vector(p + "attention.self.query.bias", h);
        wk = w.linear(p + "attention.self.key.weight", h, h);
        bk = w.vector(p + "attention.self.key.bias", h);
        wv = w.linear(p + "attention.self.value.weight", h, h);
        bv = w.vector(p + "attention.self.value.bias", h);
        wo = w.linear(p + "attention.output.dense.weight", h, h);
        bo = w.vector(p + "attention.output.dense.bias", h);
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
        Tensor q = x.matmul(wq).add(bq).view(b, t, heads, d).transpose(1, 2);
        Tensor k = x.matmul(wk).add(bk).view(b, t, heads, d).transpose(1, 2);
        Tensor v = x.matmul(wv).add(bv).view(b, t, heads, d).transpose(1, 2);
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
        Tensor out = ctx.transpose(1, 2).reshape(b, t, c.hidden()).matmul(wo).add(bo);
        return out.add(x).layerNorm(normWeight, normBias, c.layerNormEps());
    }
}
