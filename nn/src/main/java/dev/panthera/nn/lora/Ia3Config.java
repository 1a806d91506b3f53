package dev.panthera.nn.lora;

import java.util.List;

/**
 * peft's IA3Config ((IA)³, Liu et al., "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context
 * Learning", arXiv 2205.05638): learned vectors that rescale the outputs of the target Linear layers (keys and values)
 * or, for the feed-forward modules among them, their inputs.
 *
 * @param targets the target modules, matched as LoRA's (see {@link LoraTargets})
 * @param feedforward the targets whose input, not output, is rescaled (peft's feedforward_modules, matched the same
 *     way; each must also be a target)
 * @param initOnes peft's init_ia3_weights: true starts every vector at 1 (the identity); false keeps peft's
 *     unreset draw, N(0, 1) per element (not an identity at start)
 */
public record Ia3Config(LoraTargets targets, LoraTargets feedforward, boolean initOnes) {
    public Ia3Config {
        if (targets == null) throw new IllegalArgumentException("Ia3Config: targets are required");
        if (feedforward == null) feedforward = LoraTargets.of(List.of());
    }

    /** Targets and feed-forward modules by name, vectors starting at 1. */
    public static Ia3Config of(List<String> targets, List<String> feedforward) {
        return new Ia3Config(LoraTargets.of(targets), LoraTargets.of(feedforward), true);
    }

    /** Whether the module at dotted {@code name} is a target. */
    public boolean matches(String name) {
        return targets.matches(name, List.of());
    }

    /** Whether the target at dotted {@code name} is a feed-forward module (its input is rescaled). */
    public boolean isFeedforward(String name) {
        return feedforward.matches(name, List.of());
    }
}
