package dev.panthera.nn.lora;

import dev.panthera.nn.Init;
import dev.panthera.nn.Module;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.tensor.Autograd;
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
        if (ids.rank() != 2)
            throw new IllegalArgumentException("PromptTuning: ids must be [batch, seq], got " + ids.shape());
        long b = ids.size(0), v = numVirtualTokens(), dim = base.config().dim();
        Tensor tokens = base.namedModules().get("model.embed_tokens").forward(ids);
        Tensor prompt = prompt().reshape(1, v, dim).expand(b, v, dim);
        return base.forwardEmbeddings(Tensor.cat(java.util.List.of(prompt, tokens), 1));
    }
}
