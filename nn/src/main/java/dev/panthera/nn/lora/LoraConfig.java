package dev.panthera.nn.lora;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * peft's LoraConfig: rank r, lora_alpha, lora_dropout, target modules (see {@link LoraTargets} for the matching
 * rule), rsLoRA, init_lora_weights, rank_pattern / alpha_pattern and modules_to_save.
 *
 * <p>{@code rankPattern} and {@code alphaPattern} override r and lora_alpha per module with peft's rule
 * ({@code get_pattern_key}): the first key, in the map's order, for which {@code (.*\.)?(key)$} matches the dotted module
 * name from its start; keys are regexes. Scaling is then alpha/r (rsLoRA: alpha/√r) with the overridden values. peft
 * saves adapter_config.json with sorted keys, so after a save and load the first match is the first in sorted order.
 *
 * @param init how A and B start (peft's init_lora_weights)
 * @param modulesToSave modules trained and saved whole beside the adapter (peft wraps them in a trainable copy)
 * @param seed seeds the initialisation of A (and B) and the dropout masks
 * @param useDora peft's use_dora: DoRA (Liu et al., arXiv 2402.09353) adds a learned magnitude per output feature over
 *     the direction W + scaling·B·A (see {@link LoraLinear})
 */
public record LoraConfig(
        int r,
        double alpha,
        double dropout,
        LoraTargets targets,
        boolean useRsLora,
        InitWeights init,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        List<String> modulesToSave,
        long seed,
        boolean useDora) {
    /** peft's "all-linear" shorthand. */
    public static final String ALL_LINEAR = LoraTargets.ALL_LINEAR;

    /** peft's init_lora_weights values that this library implements. */
    public enum InitWeights {
        /** {@code true}: A kaiming-uniform(a=√5), B zeros; the adapter starts as the identity. */
        DEFAULT,
        /** {@code "gaussian"}: A ~ N(0, σ = 1/r), B zeros. */
        GAUSSIAN,
        /** {@code false}: A and B both drawn as nn.Linear's default (kaiming-uniform, a=√5); not an identity at start. */
        RANDOM
    }

    public LoraConfig {
        if (r <= 0) throw new IllegalArgumentException("LoraConfig: r must be positive, got " + r);
        if (!(dropout >= 0 && dropout < 1))
            throw new IllegalArgumentException("LoraConfig: dropout must be in [0, 1), got " + dropout);
        if (targets == null) throw new IllegalArgumentException("LoraConfig: targets are required");
        if (init == null) init = InitWeights.DEFAULT;
        rankPattern = Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern == null ? Map.of() : rankPattern));
        alphaPattern = Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern == null ? Map.of() : alphaPattern));
        for (var e : rankPattern.entrySet())
            if (e.getValue() <= 0)
                throw new IllegalArgumentException(
                        "LoraConfig: rank_pattern '" + e.getKey() + "' must be positive, got " + e.getValue());
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
    }

    /** Without DoRA (the record's form before use_dora was added). */
    public LoraConfig(
            int r,
            double alpha,
            double dropout,
            LoraTargets targets,
            boolean useRsLora,
            InitWeights init,
            Map<String, Integer> rankPattern,
            Map<String, Double> alphaPattern,
            List<String> modulesToSave,
            long seed) {
        this(r, alpha, dropout, targets, useRsLora, init, rankPattern, alphaPattern, modulesToSave, seed, false);
    }

    /** Targets by module names (or {@code List.of(ALL_LINEAR)}). */
    public static LoraConfig of(int r, double alpha, double dropout, List<String> targets) {
        return new LoraConfig(r, alpha, dropout, LoraTargets.of(targets), false, null, null, null, null, 0);
    }

    /** Targets by a regex over full dotted module names. */
    public static LoraConfig regex(int r, double alpha, double dropout, String regex) {
        return new LoraConfig(r, alpha, dropout, LoraTargets.regex(regex), false, null, null, null, null, 0);
    }

    /** peft's use_dora. */
    public LoraConfig withDora(boolean on) {
        return new LoraConfig(
                r, alpha, dropout, targets, useRsLora, init, rankPattern, alphaPattern, modulesToSave, seed, on);
    }

    public LoraConfig withRsLora(boolean on) {
        return new LoraConfig(
                r, alpha, dropout, targets, on, init, rankPattern, alphaPattern, modulesToSave, seed, useDora);
    }

    public LoraConfig withSeed(long s) {
        return new LoraConfig(
                r, alpha, dropout, targets, useRsLora, init, rankPattern, alphaPattern, modulesToSave, s, useDora);
    }

    public LoraConfig withInit(InitWeights i) {
        return new LoraConfig(
                r, alpha, dropout, targets, useRsLora, i, rankPattern, alphaPattern, modulesToSave, seed, useDora);
    }

    public LoraConfig withTargets(LoraTargets t) {
        return new LoraConfig(
                r, alpha, dropout, t, useRsLora, init, rankPattern, alphaPattern, modulesToSave, seed, useDora);
    }

    public LoraConfig withPatterns(Map<String, Integer> ranks, Map<String, Double> alphas) {
        return new LoraConfig(r, alpha, dropout, targets, useRsLora, init, ranks, alphas, modulesToSave, seed, useDora);
    }

    public LoraConfig withModulesToSave(List<String> modules) {
        return new LoraConfig(
                r, alpha, dropout, targets, useRsLora, init, rankPattern, alphaPattern, modules, seed, useDora);
    }

    /** The target names, or null when targets are a regex. */
    public List<String> targetNames() {
        return targets.names();
    }

    /** The target regex, or null when targets are names. */
    public Pattern targetRegex() {
        return targets.regex();
    }

    /** α/r, or α/√r with rsLoRA, for a module that no pattern overrides. */
    public double scaling() {
        return scaling(r, alpha);
    }

    /** The rank for the module at dotted {@code name}: rank_pattern's matching entry, else r. */
    public int rankFor(String name) {
        String key = patternKey(rankPattern.keySet(), name);
        return key == null ? r : rankPattern.get(key);
    }

    /** lora_alpha for the module at dotted {@code name}: alpha_pattern's matching entry, else lora_alpha. */
    public double alphaFor(String name) {
        String key = patternKey(alphaPattern.keySet(), name);
        return key == null ? alpha : alphaPattern.get(key);
    }

    /** The scaling of the module at dotted {@code name}, with both patterns applied. */
    public double scalingFor(String name) {
        return scaling(rankFor(name), alphaFor(name));
    }

    private double scaling(int rank, double a) {
        return useRsLora ? a / Math.sqrt(rank) : a / rank;
    }

    private static String patternKey(Iterable<String> keys, String name) {
        for (String k : keys)
            if (Pattern.compile("(.*\\.)?(" + k + ")$").matcher(name).lookingAt()) return k;
        return null;
    }

    /** Whether the module at dotted {@code name} is a target. */
    public boolean matches(String name) {
        return targets.matches(name, modulesToSave);
    }
}
