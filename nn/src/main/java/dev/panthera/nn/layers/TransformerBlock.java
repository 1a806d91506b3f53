package dev.panthera.nn.layers;

import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;
import java.util.random.RandomGenerator;

/**
 * Pre-norm decoder block (LLaMA): h = x + attn(norm(x)); out = h + mlp(norm(h)). HF names: input_layernorm,
 * self_attn, post_attention_layernorm, mlp.
 */
public final class TransformerBlock extends Module {
    private final Attention attn;

    public TransformerBlock(DecoderConfig c, Rope rope, RandomGenerator rng) {
        registerModule("input_layernorm", new RMSNorm(c.dim(), c.normEps()));
        attn = registerModule("self_attn", new Attention(c.dim(), c.heads(), c.kvHeads(), rope, false, rng));
        registerModule("post_attention_layernorm", new RMSNorm(c.dim(), c.normEps()));
        registerModule("mlp", new SwiGlu(c.dim(), c.hidden(), rng));
    }

    public Attention attention() {
        return attn;
    }

    @Override
    public Tensor forward(Tensor x) {
        return forward(x, 0, null, 0);
    }

    /** One block at positions start.. with an optional cache slot {@code layer}. */
    public Tensor forward(Tensor x, long start, KvCache cache, int layer) {
        return forward(x, start, cache, layer, null);
    }

    /** As above with an attention mask (see {@link Attention#forward(Tensor, long, KvCache, int, Tensor)}). */
    public Tensor forward(Tensor x, long start, KvCache cache, int layer, Tensor mask) {
        Tensor h = x.add(attn.forward(call("input_layernorm", x), start, cache, layer, mask));
        return h.add(call("mlp", call("post_attention_layernorm", h)));
    }
}
