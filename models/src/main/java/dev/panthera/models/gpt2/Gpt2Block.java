package dev.panthera.models.gpt2;

import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.Tensor;
import java.util.List;

/** One pre-norm GPT-2 layer: h = x + attn(ln_1(x)); out = h + mlp(ln_2(h)). HF names under h.N. */
final class Gpt2Block {
    private final double eps;
    private final Tensor ln1w, ln1b, ln2w, ln2b;
    private final Gpt2Attention attn;
    private final Gpt2Mlp mlp;

    Gpt2Block(Gpt2Config c, Gpt2Weights w, int layer) {
        String p = "h." + layer + ".";
        eps = c.normEps();
        ln1w = w.vector(p + "ln_1.weight", c.dim());
        ln1b = w.vector(p + "ln_1.bias", c.dim());
        ln2w = w.vector(p + "ln_2.weight", c.dim());
        ln2b = w.vector(p + "ln_2.bias", c.dim());
        attn = new Gpt2Attention(c, w, p + "attn.");
        mlp = new Gpt2Mlp(c, w, p + "mlp.");
    }

    /** x [B, T, dim] at positions start..; the layer's attention probabilities go to {@code probs} when not null. */
    Tensor forward(Tensor x, long start, KvCache cache, int layer, Tensor mask, List<Tensor> probs) {
        Tensor h = attn.forward(x.layerNorm(ln1w, ln1b, eps), x, start, cache, layer, mask, probs);
        return mlp.forward(h.layerNorm(ln2w, ln2b, eps), h);
    }
}
