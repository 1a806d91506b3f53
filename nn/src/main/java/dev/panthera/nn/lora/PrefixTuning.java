package dev.panthera.nn.lora;

import dev.panthera.nn.Init;
import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Attention;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.Embedding;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.nn.layers.Linear;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * Prefix tuning (Li and Liang, "Prefix-Tuning: Optimizing Continuous Prompts for Generation", arXiv 2101.00190) as
 * peft's PREFIX_TUNING for a causal LM. The prefix is a table [V, layers·2·kvHeads·headDim] that holds, for every
 * layer, V prefix keys and V prefix values, laid out as peft reads it (view [V, layers·2, kvHeads, headDim], entry 2i
 * the keys of layer i and 2i + 1 its values). They act as cached positions 0..V-1: every token sees them and the
 * tokens run at positions V.. . The logits cover the real tokens only, [B, T, vocab]. The base model is frozen.
 *
 * <p>Two ways to hold the table, as peft's PrefixEncoder:
 *
 * <ul>
 *   <li>without prefix_projection the table itself is the parameter {@code prompt_embeddings}, drawn N(0, 1) as
 *       nn.Embedding is;
 *   <li>with prefix_projection (the paper's reparameterisation, section 4.3) it is computed: an embedding [V, tokenDim]
 *       (N(0, 1)) through Linear(tokenDim, encoderHidden) → tanh → Linear(encoderHidden, layers·2·tokenDim), the
 *       Linears drawn as torch.nn.Linear's default. These train; the table is their output for the V virtual tokens.
 *       peft saves only that output ({@code prompt_embeddings}), so a saved projection comes back as a fixed table.
 * </ul>
 */
public final class PrefixTuning extends Module {
    private final CausalLm base;
    private final int numVirtualTokens;
    private final boolean prefixProjection;
    private final int encoderHiddenSize;
    private final boolean computed;

    /** peft's {@code transform}: Linear {@code 0}, tanh, Linear {@code 2}. */
    static final class Transform extends Module {
        Transform(long tokenDim, long hidden, long out, SplittableRandom rng) {
            registerModule("0", new Linear(tokenDim, hidden, true, rng));
            registerModule("2", new Linear(hidden, out, true, rng));
        }

        @Override
        public Tensor forward(Tensor x) {
            return call("2", call("0", x).tanh());
        }
    }

    /** A learned table (no projection), drawn N(0, 1) from {@code seed}. */
    public PrefixTuning(CausalLm base, int numVirtualTokens, long seed) {
        this(base, numVirtualTokens, false, tokenDim(base), false, seed);
    }

    /**
     * With prefix_projection: an embedding of the V virtual tokens through a two-layer tanh MLP of width {@code
     * encoderHiddenSize}, all drawn from {@code seed}.
     */
    public PrefixTuning(CausalLm base, int numVirtualTokens, int encoderHiddenSize, long seed) {
        this(base, numVirtualTokens, true, encoderHiddenSize, true, seed);
    }

    /**
     * A fixed table for inference, as peft's inference mode holds any saved prefix: {@code table} [V,
     * layers·2·tokenDim] is copied in and frozen. {@code prefixProjection} and {@code encoderHiddenSize} only record
     * how the table was trained (they are written back when saving).
     */
    public static PrefixTuning ofTable(CausalLm base, Tensor table, boolean prefixProjection, int encoderHiddenSize) {
        if (table.rank() != 2)
            throw new IllegalArgumentException("PrefixTuning.ofTable: table must be [V, width], got " + table.shape());
        PrefixTuning t = new PrefixTuning(base, (int) table.size(0), prefixProjection, encoderHiddenSize, false, 0);
        if (!table.shape().equals(t.prompt().shape()))
            throw new IllegalArgumentException("PrefixTuning.ofTable: table " + table.shape() + ", the model needs "
                    + t.prompt().shape() + " (V, layers·2·kvHeads·headDim)");
        try (var _ = Autograd.noGrad()) {
            t.prompt().copy_(table);
        }
        t.prompt().requiresGrad(false);
        return t;
    }

    private PrefixTuning(
            CausalLm base,
            int numVirtualTokens,
            boolean prefixProjection,
            int encoderHiddenSize,
            boolean computed,
            long seed) {
        if (numVirtualTokens < 1)
            throw new IllegalArgumentException(
                    "PrefixTuning: num_virtual_tokens must be positive, got " + numVirtualTokens);
        if (encoderHiddenSize < 1)
            throw new IllegalArgumentException(
                    "PrefixTuning: encoder_hidden_size must be positive, got " + encoderHiddenSize);
        this.base = registerModule("base_model", base);
        this.numVirtualTokens = numVirtualTokens;
        this.prefixProjection = prefixProjection;
        this.encoderHiddenSize = encoderHiddenSize;
        this.computed = computed;
        base.freeze();
        long tokenDim = tokenDim(base), width = (long) base.config().layers() * 2 * tokenDim;
        SplittableRandom rng = new SplittableRandom(seed);
        if (computed) {
            registerModule("embedding", new Embedding(numVirtualTokens, tokenDim, rng));
            registerModule("transform", new Transform(tokenDim, encoderHiddenSize, width, rng));
        } else {
            Tensor table;
            try (var _ = Autograd.noGrad()) {
                table = Init.normal(rng, 1.0, numVirtualTokens, width);
            }
            registerParameter("prompt_embeddings", table);
        }
    }

    /** Width of one layer's prefix keys (peft's token_dim for a grouped-query model): kvHeads·headDim. */
    public static int tokenDim(CausalLm m) {
        var c = m.config();
        return c.kvHeads() * (c.dim() / c.heads());
    }

    public CausalLm base() {
        return base;
    }

    /**
     * The prefix table [V, layers·2·tokenDim]: the learned parameter, or with a projection the MLP's output for the
     * virtual tokens (computed on each call, carrying the graph to the MLP).
     */
    public Tensor prompt() {
        if (!computed) return namedParameters().get("prompt_embeddings");
        Embedding e = (Embedding) child("embedding");
        return child("transform").forward(e.weight());
    }

    public int numVirtualTokens() {
        return numVirtualTokens;
    }

    /** peft's prefix_projection: whether the table is (or was trained as) the MLP's output. */
    public boolean prefixProjection() {
        return prefixProjection;
    }

    /** peft's encoder_hidden_size: the MLP's width (token_dim when there is no projection). */
    public int encoderHiddenSize() {
        return encoderHiddenSize;
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
    public Tensor forward(Tensor ids, KvCache cache) {
        return forward(ids, null, cache);
    }

    /**
     * As {@link #forward(Tensor, KvCache)} with peft's attention mask: {@code attentionMask} [B, T'] of 0 (padding) and
     * 1 covers every real token so far (those cached and these T; null means no padding) and is extended by V ones for
     * the prefix, which every position sees.
     */
    public Tensor forward(Tensor ids, Tensor attentionMask, KvCache cache) {
        if (ids.rank() != 2)
            throw new IllegalArgumentException("PrefixTuning: ids must be [batch, seq], got " + ids.shape());
        long cached = cache == null ? 0 : cache.length(0);
        Tensor mask = attentionMask == null
                ? null
                : PromptTuning.extendedMask(
                        "PrefixTuning", attentionMask, ids.size(0), numVirtualTokens, cached + ids.size(1));
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
            return base.forward(ids, numVirtualTokens + cached, cache, mask);
        } finally {
            for (int i = 0; i < layers; i++) attention(i).setPrefix(null, null);
        }
    }

    private Attention attention(int layer) {
        return base.layers().get(layer).attention();
    }
}
