package dev.panthera.nn.lora;

import dev.panthera.nn.Init;
import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Attention;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * Prefix tuning (Li and Liang, "Prefix-Tuning: Optimizing Continuous Prompts for Generation", arXiv 2101.00190) as
 * peft's PREFIX_TUNING without projection for a causal LM: one learned table {@code prompt_embeddings}
 * [V, layers·2·kvHeads·headDim] holds, for every layer, V prefix keys and V prefix values, laid out as peft reads it
 * (view [V, layers·2, kvHeads, headDim], entry 2i the keys of layer i and 2i + 1 its values). They act as cached
 * positions 0..V-1: every token sees them and the tokens run at positions V.. . The logits cover the real tokens only,
 * [B, T, vocab]. peft initialises the table as nn.Embedding does, N(0, 1). The base model is frozen; only the table
 * trains.
 */
public final class PrefixTuning extends Module {
    private final CausalLm base;
    private final int numVirtualTokens;

    public PrefixTuning(CausalLm base, int numVirtualTokens, long seed) {
        if (numVirtualTokens < 1)
            throw new IllegalArgumentException(
                    "PrefixTuning: num_virtual_tokens must be positive, got " + numVirtualTokens);
        this.base = registerModule("base_model", base);
        this.numVirtualTokens = numVirtualTokens;
        base.freeze();
        var c = base.config();
        Tensor table;
        try (var _ = Autograd.noGrad()) {
            table = Init.normal(
                    new SplittableRandom(seed), 1.0, numVirtualTokens, (long) c.layers() * 2 * tokenDim(base));
        }
        registerParameter("prompt_embeddings", table);
    }

    /** Width of one layer's prefix keys (peft's token_dim for a grouped-query model): kvHeads·headDim. */
    public static int tokenDim(CausalLm m) {
        var c = m.config();
        return c.kvHeads() * (c.dim() / c.heads());
    }

    public CausalLm base() {
        return base;
    }

    public Tensor prompt() {
        return namedParameters().get("prompt_embeddings");
    }

    public int numVirtualTokens() {
        return numVirtualTokens;
    }

    /** Logits [B, T, vocab] for ids [B, T] after the prefix. */
    @Override
    public Tensor forward(Tensor ids) {
        return forward(ids, null);
    }

    /**
     * Logits for ids [B, T] that follow the prefix and whatever {@code cache} (from {@code base().newCache}) already
     * holds, appending them to it: generation one token at a time after a prompt, as peft's prefix tuning does with
     * past_key_values.
     */
    public Tensor forward(Tensor ids, dev.panthera.nn.layers.KvCache cache) {
        var c = base.config();
        int layers = c.layers(), kv = c.kvHeads(), hd = c.dim() / c.heads();
        // [V, L·2, kv, hd] → [L·2, kv, V, hd]
        Tensor kvs = prompt().reshape(numVirtualTokens, layers * 2L, kv, hd).permute(1, 2, 0, 3);
        try {
            for (int i = 0; i < layers; i++)
                attention(i)
                        .setPrefix(
                                kvs.select(0, 2L * i).unsqueeze(0),
                                kvs.select(0, 2L * i + 1).unsqueeze(0));
            return base.forward(ids, numVirtualTokens + (cache == null ? 0 : cache.length(0)), cache);
        } finally {
            for (int i = 0; i < layers; i++) attention(i).setPrefix(null, null);
        }
    }

    private Attention attention(int layer) {
        return base.layers().get(layer).attention();
    }
}
