package dev.panthera.nn.lora;

import dev.panthera.nn.Init;
import dev.panthera.nn.Module;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * Prompt tuning (Lester et al., "The Power of Scale for Parameter-Efficient Prompt Tuning", arXiv 2104.08691) as peft's
 * PROMPT_TUNING for a causal LM: {@code numVirtualTokens} learned embeddings ({@code prompt_embeddings} [V, dim]) are
 * put before the token embeddings of every sequence, and the frozen model runs over the V + T positions; the logits
 * cover them all, [B, V + T, vocab], as peft's PeftModelForCausalLM returns them. peft's "RANDOM" initialisation draws
 * the prompt as nn.Embedding does, N(0, 1). The base model is frozen; only the prompt trains.
 */
public final class PromptTuning extends Module {
    private final CausalLm base;

    /** Wraps {@code base} (frozen) with a prompt of {@code numVirtualTokens} vectors drawn N(0, 1) from {@code seed}. */
    public PromptTuning(CausalLm base, int numVirtualTokens, long seed) {
        if (numVirtualTokens < 1)
            throw new IllegalArgumentException(
                    "PromptTuning: num_virtual_tokens must be positive, got " + numVirtualTokens);
        this.base = registerModule("base_model", base);
        base.freeze();
        Tensor prompt;
        try (var _ = Autograd.noGrad()) {
            prompt = Init.normal(
                    new SplittableRandom(seed),
                    1.0,
                    numVirtualTokens,
                    base.config().dim());
        }
        registerParameter("prompt_embeddings", prompt);
    }

    public CausalLm base() {
        return base;
    }

    /** The learned prompt [V, dim]. */
    public Tensor prompt() {
        return namedParameters().get("prompt_embeddings");
    }

    public int numVirtualTokens() {
        return (int) prompt().size(0);
    }

    /** Logits [B, V + T, vocab] for ids [B, T]: the prompt's positions first. */
    @Override
    public Tensor forward(Tensor ids) {
        return forward(ids, null, null);
    }

    /**
     * Logits for ids [B, T] with peft's attention mask and KV cache handling.
     *
     * <p>{@code attentionMask} [B, T'] of 0 (padding) and 1 covers every real token so far (as HuggingFace's
     * generate grows it): those cached and these T; null means no padding. As peft does, it is extended by V ones for
     * the virtual tokens, which every position then sees (so a padded row never sees no key). Positions run 0.. over
     * [prompt; tokens] whatever the padding, as in peft's forward, which ignores position ids.
     *
     * <p>With an empty or null {@code cache} the prompt is prepended and the logits cover V + T positions; the cache
     * (from {@code base().newCache}) then holds them all, and a later call with the next tokens continues after them
     * (logits for those tokens only): peft's generation, the prompt once, then tokens one at a time.
     */
    public Tensor forward(Tensor ids, Tensor attentionMask, KvCache cache) {
        if (ids.rank() != 2)
            throw new IllegalArgumentException("PromptTuning: ids must be [batch, seq], got " + ids.shape());
        long b = ids.size(0),
                t = ids.size(1),
                v = numVirtualTokens(),
                dim = base.config().dim();
        long cached = cache == null ? 0 : cache.length(0);
        if (cached > 0 && cached < v)
            throw new IllegalArgumentException("PromptTuning: the cache holds " + cached + " positions, fewer than the "
                    + v + " virtual tokens; it was not filled by this prompt");
        Tensor mask = attentionMask == null
                ? null
                : extendedMask("PromptTuning", attentionMask, b, (int) v, cached == 0 ? t : cached - v + t);
        if (cached > 0) return base.forward(ids, cached, cache, mask);
        Tensor tokens = base.namedModules().get("model.embed_tokens").forward(ids);
        Tensor prompt = prompt().reshape(1, v, dim).expand(b, v, dim);
        return base.forwardEmbeddings(Tensor.cat(java.util.List.of(prompt, tokens), 1), 0, cache, mask);
    }

    /**
     * BOOL [B, 1, 1, V + real]: V trues, then the 0/1 {@code attentionMask} [B, real] as booleans (peft's mask
     * extension for prompt and prefix tuning); {@code op} names the caller in errors.
     */
    static Tensor extendedMask(String op, Tensor attentionMask, long b, int v, long real) {
        if (attentionMask.rank() != 2 || attentionMask.size(0) != b || attentionMask.size(1) != real)
            throw new IllegalArgumentException(op + ": attention mask " + attentionMask.shape() + " must be [" + b
                    + ", " + real + "]: every real token so far, cached ones included");
        double[] m = attentionMask.to(DType.F64).contiguous().toDoubleArray();
        boolean[] keep = new boolean[(int) (b * (v + real))];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < v; j++) keep[(int) (r * (v + real) + j)] = true;
            for (int j = 0; j < real; j++) {
                double x = m[(int) (r * real + j)];
                if (x != 0 && x != 1)
                    throw new IllegalArgumentException(
                            op + ": attention mask row " + r + " holds " + x + " (0 or 1 only)");
                keep[(int) (r * (v + real) + v + j)] = x == 1;
            }
        }
        return Tensor.of(keep, b, 1, 1, v + real);
    }
}
