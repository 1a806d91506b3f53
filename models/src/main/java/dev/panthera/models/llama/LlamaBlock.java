package dev.panthera.models.llama;

import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.Tensor;
import java.util.List;

/** One pre-norm decoder layer: h = x + attn(rms(x)); out = h + mlp(rms(h)). HF names under model.layers.N. */
final class LlamaBlock {
    private final double eps;
    private final Tensor inputNorm, postNorm;
    private final LlamaAttention attn;
    private final LlamaMlp mlp;

    LlamaBlock(LlamaConfig c, RopeTables rope, LlamaWeights w, int layer) {
        String p = "model.layers." + layer + ".";
        eps = c.normEps();
        inputNorm = w.vector(p + "input_layernorm.weight", c.dim());
        postNorm = w.vector(p + "post_attention_layernorm.weight", c.dim());
        attn = new LlamaAttention(c, rope, w, p + "self_attn.");
        mlp = new LlamaMlp(c, w, p + "mlp.");
    }

    /** x [B, T, dim] at positions start..; the layer's attention probabilities go to {@code probs} when not null. */
    Tensor forward(Tensor x, long start, KvCache cache, int layer, Tensor mask, List<Tensor> probs) {
        Tensor h = attn.forward(x.rmsNorm(inputNorm, eps), x, start, cache, layer, mask, probs);
        return mlp.forward(h.rmsNorm(postNorm, eps), h);
    }
}
