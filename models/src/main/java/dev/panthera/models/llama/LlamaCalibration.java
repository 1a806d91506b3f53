package dev.panthera.models.llama;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.util.List;
import java.util.function.Function;

/**
 * The Llama forward pass over whole sequences from position 0 (no cache, no padding mask), layer by layer, with the
 * input of every linear layer handed to a {@link Tap}: what GPTQ's per-layer Hessians and GWQ's gradients need. It
 * runs the same tensor ops in the same order as {@link LlamaBlock} and {@link LlamaAttention} (LlamaCalibrationTest
 * checks its logits equal {@link LlamaModel#forward}'s), over weights looked up by HF name through {@code weight}, so
 * a caller can swap in quantized or gradient-tracking copies layer by layer.
 */
final class LlamaCalibration {
    /** The linear layers of one decoder layer, by their HF names under {@code model.layers.N.}, in forward order. */
    static final List<String> LINEARS = List.of(
            "self_attn.q_proj",
            "self_attn.k_proj",
            "self_attn.v_proj",
            "self_attn.o_proj",
            "mlp.gate_proj",
            "mlp.up_proj",
            "mlp.down_proj");

    /** Receives the input x [B, T, in] of a linear layer; q/k/v share one input, as do gate/up. */
    interface Tap {
        void input(int layer, String linear, Tensor x);
    }

    private final LlamaConfig c;
    private final Function<String, Tensor> weight;
    private final RopeTables rope;

    /** {@code weight} maps an HF tensor name to its tensor (shape as the checkpoint's). */
    LlamaCalibration(LlamaConfig c, Function<String, Tensor> weight) {
        this.c = c;
        this.weight = weight;
        this.rope = new RopeTables(c);
    }

    /** Embeddings [B, T, dim] (F32) of ids [B, T]. */
    Tensor embed(Tensor ids) {
        Tensor h = Tensor.embedding(weight.apply("model.embed_tokens.weight"), ids);
        return h.dtype() == DType.F32 ? h : h.to(DType.F32);
    }

    /** Decoder layer {@code i} on h [B, T, dim]; {@code tap} (may be null) sees each linear's input. */
    Tensor layer(int i, Tensor x, Tap tap) {
        String p = "model.layers." + i + ".";
        long b = x.size(0), t = x.size(1);
        int hd = c.headDim();
        if (c.slidingWindow() != 0 && t > c.slidingWindow())
            throw new IllegalArgumentException("calibration: sequences of " + t + " tokens exceed the sliding window "
                    + c.slidingWindow() + ", which this forward pass does not apply");
        Tensor a = x.rmsNorm(vector(p + "input_layernorm.weight"), c.normEps());
        if (tap != null) tap.input(i, "self_attn.q_proj", a);
        Tensor q = linear(a, p + "self_attn.q_proj").view(b, t, c.heads(), hd).transpose(1, 2);
        Tensor k = linear(a, p + "self_attn.k_proj").view(b, t, c.kvHeads(), hd).transpose(1, 2);
        Tensor v = linear(a, p + "self_attn.v_proj").view(b, t, c.kvHeads(), hd).transpose(1, 2);
        Tensor[] cs = rope.at(0, t);
        q = q.rope(cs[0], cs[1], c.interleavedRope());
        k = k.rope(cs[0], cs[1], c.interleavedRope());
        Tensor att = Tensor.scaledDotProductAttention(q, k, v, null, true, 1 / Math.sqrt(hd))
                .transpose(1, 2)
                .reshape(b, t, (long) c.heads() * hd);
        if (tap != null) tap.input(i, "self_attn.o_proj", att);
        Tensor h = x.add(linear(att, p + "self_attn.o_proj"));
        Tensor m = h.rmsNorm(vector(p + "post_attention_layernorm.weight"), c.normEps());
        if (tap != null) tap.input(i, "mlp.gate_proj", m);
        Tensor g = linear(m, p + "mlp.gate_proj").silu().mul(linear(m, p + "mlp.up_proj"));
        if (tap != null) tap.input(i, "mlp.down_proj", g);
        return h.add(g.matmul(weight.apply(p + "mlp.down_proj.weight").t()));
    }

    /** Logits [B, T, vocab] from the last layer's output. */
    Tensor logits(Tensor h) {
        Tensor head = weight.apply(c.tiedEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
        return h.rmsNorm(vector("model.norm.weight"), c.normEps()).matmul(head.t());
    }

    /** Every layer, then the logits. */
    Tensor forward(Tensor ids, Tap tap) {
        Tensor h = embed(ids);
        for (int i = 0; i < c.layers(); i++) h = layer(i, h, tap);
        return logits(h);
    }

    private Tensor linear(Tensor x, String prefix) {
        Tensor bias = c.qkvBias() && !prefix.endsWith("o_proj") && prefix.contains("self_attn")
                ? vector(prefix + ".bias")
                : null;
        Tensor y = x.matmul(weight.apply(prefix + ".weight").t());
        return bias == null ? y : y.add(bias);
    }

    private Tensor vector(String name) {
        Tensor t = weight.apply(name);
        return t.dtype() == DType.F32 ? t : t.to(DType.F32).contiguous();
    }
}
