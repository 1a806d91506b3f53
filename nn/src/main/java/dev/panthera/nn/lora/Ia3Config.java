package dev.panthera.nn.lora;

import java.util.List;

/**
 * peft's IA3Config ((IA)³, Liu et al., "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context
 * Learning", arXiv 2205.05638): learned vectors that rescale the outputs of the target Linear layers (keys and values)
 * or, for the feed-forward modules among them, their inputs.
 *
 * <p>peft's fan_in_fan_out has no field here: it only concerns layers that store their weight as [in, out]
 * (transformers' Conv1D), and every Linear of this library stores [out, in], for which peft itself turns the flag off.
 *
 * @param targets the target modules, matched as LoRA's (see {@link LoraTargets}), exclude_modules included
 * @param feedforward the targets whose input, not output, is rescaled (peft's feedforward_modules). Matched as peft's
 *     {@code _check_target_module_feedforward}: a regex must match the whole dotted name; a listed name matches when the
 *     dotted name ends with it (no "." boundary, unlike targets)
 * @param initOnes peft's init_ia3_weights: true starts every vector at 1 (the identity); false keeps peft's
 *     unreset draw, N(0, 1) per element (not an identity at start)
 * @param modulesToSave modules trained and saved whole beside the vectors (peft wraps each in a trainable copy, see
 *     {@link ModulesToSave}); a module inside one is never a target
 */
public record Ia3Config(LoraTargets targets, LoraTargets feedforward, boolean initOnes, List<String> modulesToSave) {
    public Ia3Config {
        if (targets == null) throw new IllegalArgumentException("Ia3Config: targets are required");
        if (feedforward == null) feedforward = LoraTargets.of(List.of());
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
        // peft's IA3Config check, made where both are name lists: the feed-forward modules are among the targets
        if (targets.names() != null && !targets.allLinear() && feedforward.names() != null)
            for (String f : feedforward.names())
                if (!targets.names().contains(f))
                    throw new IllegalArgumentException("Ia3Config: feedforward module '" + f
                            + "' is not among the target modules " + targets.names());
    }

    /** Without modules_to_save. */
    public Ia3Config(LoraTargets targets, LoraTargets feedforward, boolean initOnes) {
        this(targets, feedforward, initOnes, List.of());
    }

    /** Targets and feed-forward modules by name, vectors starting at 1. */
    public static Ia3Config of(List<String> targets, List<String> feedforward) {
        return new Ia3Config(LoraTargets.of(targets), LoraTargets.of(feedforward), true);
    }

    /** peft's exclude_modules as names (an exact name, or the end of a dotted name after a "."). */
    public Ia3Config withExclude(List<String> excluded) {
        return new Ia3Config(targets.withExclude(excluded), feedforward, initOnes, modulesToSave);
    }

    /** peft's exclude_modules as a regex over whole dotted names. */
    public Ia3Config withExcludeRegex(String excluded) {
        return new Ia3Config(targets.withExcludeRegex(excluded), feedforward, initOnes, modulesToSave);
    }

    public Ia3Config withModulesToSave(List<String> modules) {
        return new Ia3Config(targets, feedforward, initOnes, modules);
    }

    /** Whether the module at dotted {@code name} is a target (not excluded, not inside a module to save). */
    public boolean matches(String name) {
        return targets.matches(name, modulesToSave);
    }

    /** Whether the target at dotted {@code name} is a feed-forward module (its input is rescaled). */
    public boolean isFeedforward(String name) {
        if (feedforward.regex() != null)
            return feedforward.regex().matcher(name).matches();
        for (String f : feedforward.names()) if (name.endsWith(f)) return true;
        return false;
    }
}
