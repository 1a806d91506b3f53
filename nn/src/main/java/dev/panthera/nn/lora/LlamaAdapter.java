package dev.panthera.nn.lora;

import dev.panthera.nn.layers.CausalLm;
import java.util.SplittableRandom;

/**
 * LLaMA-Adapter (Zhang et al., arXiv 2303.16199), as in peft's adaption prompt: the top {@code layers} attention
 * blocks get a learnable prompt of {@code length} vectors whose keys and values every query attends to through a
 * zero-initialised gate; the base model is frozen. With the gate at zero the output equals the base model's exactly.
 */
public final class LlamaAdapter {
    private LlamaAdapter() {}

    /** Freezes {@code model} and adds adaption prompts to its top {@code layers} blocks. */
    public static void apply(CausalLm model, int layers, int length, long seed) {
        int n = model.layers().size();
        if (layers <= 0 || layers > n)
            throw new IllegalArgumentException("LlamaAdapter: adapter layers must be in [1, " + n + "], got " + layers);
        if (length <= 0)
            throw new IllegalArgumentException("LlamaAdapter: prompt length must be positive, got " + length);
        model.freeze();
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = n - layers; i < n; i++) model.layers().get(i).attention().enableAdaptionPrompt(length, rng);
    }
}
