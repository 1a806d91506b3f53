package dev.panthera.nn.layers;

import dev.panthera.nn.Init;
import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;
import java.util.random.RandomGenerator;

/**
 * Causal multi-head self-attention with grouped-query heads (kvHeads divides heads), rotary positions and an optional
 * KV cache. HF Llama names: q_proj, k_proj, v_proj, o_proj. With an adaption prompt (LLaMA-Adapter), queries also attend
 * to learnable prompt keys/values through a zero-initialised gate, so the output at initialisation equals the base.
 */
public final class Attention extends Module {
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final Rope rope;
    private Tensor prefixKeys; // prefix tuning: [1, kvHeads, V, headDim], seen by every query; null when unset
    private Tensor prefixValues;
    private boolean adaptionEnabled = true; // off while adapters are disabled (peft's disable_adapter)

    public Attention(int dim, int heads, int kvHeads, Rope rope, boolean bias, RandomGenerator rng) {
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0 || dim % heads != 0) {
            throw new IllegalArgumentException("Attention: need dim % heads == 0 and heads % kvHeads == 0, got dim="
                    + dim + " heads=" + heads + " kvHeads=" + kvHeads);
        }
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = dim / heads;
        this.rope = rope;
        registerModule("q_proj", new Linear(dim, (long) heads * headDim, bias, rng));
        registerModule("k_proj", new Linear(dim, (long) kvHeads * headDim, bias, rng));
        registerModule("v_proj", new Linear(dim, (long) kvHeads * headDim, bias, rng));
        registerModule("o_proj", new Linear((long) heads * headDim, dim, bias, rng));
    }

    /**
     * Adds LLaMA-Adapter parameters as peft's adaption prompt does: {@code adaption_prompt} [1, len, dim] ~ N(0, 1) and
     * {@code adaption_gate} [1] = 0. Fails if this layer already has a prompt (adding again would re-initialise it).
     */
    public void enableAdaptionPrompt(int len, RandomGenerator rng) {
        if (hasAdaptionPrompt())
            throw new IllegalStateException("Attention: this layer already has an adaption prompt");
        long dim = (long) heads * headDim;
        registerParameter("adaption_prompt", Init.normal(rng, 1.0, 1, len, dim));
        registerParameter("adaption_gate", Init.zeros(1));
    }

    /**
     * Prefix tuning (Li and Liang, arXiv 2101.00190; peft's PREFIX_TUNING): keys and values [1, kvHeads, V, headDim]
     * put before this layer's own, as a cache's would be: every query sees them, they are not rotated, and the caller
     * runs the tokens at positions V.. ({@code start} = V). They may carry a graph (the prefix trains through them).
     * {@code null, null} removes them. With a KV cache the cache holds the real tokens only (positions V..) and the
     * prefix is put before them at every step.
     */
    public void setPrefix(Tensor keys, Tensor values) {
        if (keys == null || values == null) {
            if (keys != values)
                throw new IllegalArgumentException("Attention.setPrefix: give both keys and values or neither");
            prefixKeys = prefixValues = null;
            return;
        }
        if (keys.rank() != 4
                || keys.size(0) != 1
                || keys.size(1) != kvHeads
                || keys.size(3) != headDim
                || !keys.shape().equals(values.shape()))
            throw new IllegalArgumentException("Attention.setPrefix: keys and values must both be [1, " + kvHeads
                    + ", V, " + headDim + "], got " + keys.shape() + " and " + values.shape());
        prefixKeys = keys;
        prefixValues = values;
    }

    /**
     * Turns the adaption prompt's contribution off or back on (peft's disable_adapter runs the plain attention); the
     * prompt and gate are kept.
     */
    public void setAdaptionPromptEnabled(boolean on) {
        adaptionEnabled = on;
    }

    /** Whether {@link #enableAdaptionPrompt} has added a prompt to this layer. */
    public boolean hasAdaptionPrompt() {
        return namedParameters().containsKey("adaption_prompt");
    }

    /** Self-attention over x [B, T, dim] without a cache (positions 0..T-1). */
    @Override
    public Tensor forward(Tensor x) {
        return forward(x, 0, null, 0);
    }

    /**
     * x [B, T, dim] at positions start..start+T-1. With a cache, keys and values are appended to slot {@code layer} and
     * attention covers every cached position; {@code start} must equal the cached length.
     */
    public Tensor forward(Tensor x, long start, KvCache cache, int layer) {
        return forward(x, start, cache, layer, null);
    }

    /**
     * As {@link #forward(Tensor, long, KvCache, int)} with an attention mask over the S keys (the cached positions
     * and then these T), on top of the causal rule: BOOL where true lets a key take part, or additive; any shape
     * that broadcasts to [B, heads, T, S], typically a key padding mask [B, 1, 1, S] for a batch of prompts of
     * different lengths. A query that sees no key gives NaN, so a padded query should keep at least its own key.
     */
    public Tensor forward(Tensor x, long start, KvCache cache, int layer, Tensor mask) {
        if (x.rank() != 3)
            throw new IllegalArgumentException("Attention: input must be [batch, seq, dim], got " + x.shape());
        long b = x.size(0), t = x.size(1);
        Tensor q = call("q_proj", x).view(b, t, heads, headDim).transpose(1, 2);
        Tensor k = call("k_proj", x).view(b, t, kvHeads, headDim).transpose(1, 2);
        Tensor v = call("v_proj", x).view(b, t, kvHeads, headDim).transpose(1, 2);
        if (rope != null) {
            q = rope.apply(q, start);
            k = rope.apply(k, start);
        }
        long prefix = prefixKeys == null ? 0 : prefixKeys.size(2);
        if (cache != null) {
            // the cache holds the real tokens only; a prefix takes positions 0..V-1 before them
            if (cache.length(layer) + prefix != start)
                throw new IllegalArgumentException("Attention: start " + start + " but the cache holds "
                        + cache.length(layer) + " positions" + (prefix > 0 ? " after a prefix of " + prefix : ""));
            Tensor[] kv = cache.append(layer, k, v);
            k = kv[0];
            v = kv[1];
        }
        if (prefixKeys != null) {
            long len = prefix;
            k = Tensor.cat(java.util.List.of(prefixKeys.expand(b, kvHeads, len, headDim), k), 2);
            v = Tensor.cat(java.util.List.of(prefixValues.expand(b, kvHeads, len, headDim), v), 2);
        }
        // the queries are the last t of the k.size(2) keys (a cache's positions come first), which is how the fused
        // op's causal rule aligns them; it reads each kv head for its group of query heads without repeating it
        Tensor out = Tensor.scaledDotProductAttention(q, k, v, mask, true, 1 / Math.sqrt(headDim));
        Tensor prompt = namedParameters().get("adaption_prompt");
        if (prompt != null && adaptionEnabled) out = out.add(adapterOutput(q, b));
        return call("o_proj", out.transpose(1, 2).reshape(b, t, (long) heads * headDim));
    }

    /** The gated attention of every query over the learnable prompt's keys and values (no causal rule). */
    private Tensor adapterOutput(Tensor q, long b) {
        var p = namedParameters();
        Tensor prompt = p.get("adaption_prompt");
        long len = prompt.size(1); // prompt [1, len, dim]
        Tensor pk = call("k_proj", prompt)
                .view(1, len, kvHeads, headDim)
                .transpose(1, 2)
                .expand(b, kvHeads, len, headDim);
        Tensor pv = call("v_proj", prompt)
                .view(1, len, kvHeads, headDim)
                .transpose(1, 2)
                .expand(b, kvHeads, len, headDim);
        return Tensor.scaledDotProductAttention(q, pk, pv, false, 1 / Math.sqrt(headDim))
                .mul(p.get("adaption_gate"));
    }
}
