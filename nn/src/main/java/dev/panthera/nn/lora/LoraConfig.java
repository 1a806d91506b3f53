package dev.panthera.nn.lora;

import java.util.List;
import java.util.regex.Pattern;

/**
 * peft's LoraConfig: rank r, lora_alpha, lora_dropout, target modules and rsLoRA. Targets are matched against dotted
 * module names like peft does: a list of names matches a module whose name equals one or ends with "." + one; a
 * regex must match the whole name; {@link #ALL_LINEAR} selects every Linear except the output head {@code lm_head}.
 *
 * @param seed seeds the kaiming-uniform draw of A and the dropout masks
 */
public record LoraConfig(
        int r,
        double alpha,
        double dropout,
        List<String> targetNames,
        Pattern targetRegex,
        boolean useRsLora,
        long seed) {
    /** peft's "all-linear" shorthand. */
    public static final String ALL_LINEAR = "all-linear";

    public LoraConfig {
        if (r <= 0) throw new IllegalArgumentException("LoraConfig: r must be positive, got " + r);
        if (!(dropout >= 0 && dropout < 1))
            throw new IllegalArgumentException("LoraConfig: dropout must be in [0, 1), got " + dropout);
        if ((targetNames == null) == (targetRegex == null))
            throw new IllegalArgumentException("LoraConfig: give exactly one of target names or a target regex");
        targetNames = targetNames == null ? null : List.copyOf(targetNames);
    }

    /** Targets by module names (or {@code List.of(ALL_LINEAR)}). */
    public static LoraConfig of(int r, double alpha, double dropout, List<String> targets) {
        return new LoraConfig(r, alpha, dropout, targets, null, false, 0);
    }

    /** Targets by a regex over full dotted module names. */
    public static LoraConfig regex(int r, double alpha, double dropout, String regex) {
        return new LoraConfig(r, alpha, dropout, null, Pattern.compile(regex), false, 0);
    }

    public LoraConfig withRsLora(boolean on) {
        return new LoraConfig(r, alpha, dropout, targetNames, targetRegex, on, seed);
    }

    public LoraConfig withSeed(long s) {
        return new LoraConfig(r, alpha, dropout, targetNames, targetRegex, useRsLora, s);
    }

    /** α/r, or α/√r with rsLoRA. */
    public double scaling() {
        return useRsLora ? alpha / Math.sqrt(r) : alpha / r;
    }

    /** Whether the Linear at dotted {@code name} is a target. */
    public boolean matches(String name) {
        if (targetRegex != null) return targetRegex.matcher(name).matches();
        if (targetNames.contains(ALL_LINEAR)) return !name.equals("lm_head") && !name.endsWith(".lm_head");
        for (String t : targetNames) if (name.equals(t) || name.endsWith("." + t)) return true;
        return false;
    }
}
