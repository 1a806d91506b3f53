package dev.panthera.nn.lora;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which modules an adapter wraps, with peft's matching rule ({@code check_target_module_exists}) for a dotted module
 * name such as {@code model.layers.3.self_attn.q_proj}:
 *
 * <ol>
 *   <li>excluded first: {@code excludeRegex} must match the whole name; a name in {@code excludeNames} matches when it
 *       equals the module name or the module name ends with "." + it;
 *   <li>a module inside one of {@code modulesToSave} is never a target;
 *   <li>{@code regex} must match the whole name (and then layer selection does not apply);
 *   <li>a name listed exactly is a target; otherwise a listed name must end the module name after a ".", and with
 *       {@code layersToTransform} the module's layer index must be listed: the index is the first number segment after
 *       one of {@code layersPattern} (or after any segment when the pattern is empty).
 * </ol>
 *
 * {@link #ALL_LINEAR} (any case) selects every Linear except the output head {@code lm_head}.
 *
 * @param names target names, or null when {@code regex} is given
 * @param regex a regex over whole dotted names, or null when {@code names} is given
 * @param excludeNames names never adapted (may be empty)
 * @param excludeRegex a regex of names never adapted, or null
 * @param layersToTransform layer indices to adapt, or empty for every layer
 * @param layersPattern the names of the layer lists ({@code layers}, {@code h}), or empty for any
 */
public record LoraTargets(
        List<String> names,
        Pattern regex,
        List<String> excludeNames,
        Pattern excludeRegex,
        List<Integer> layersToTransform,
        List<String> layersPattern) {
    /** peft's shorthand for every Linear but the output head; matched ignoring case, as peft does. */
    public static final String ALL_LINEAR = "all-linear";

    public LoraTargets {
        if ((names == null) == (regex == null))
            throw new IllegalArgumentException("LoraConfig: give exactly one of target names or a target regex");
        names = names == null ? null : List.copyOf(names);
        excludeNames = excludeNames == null ? List.of() : List.copyOf(excludeNames);
        layersToTransform = layersToTransform == null ? List.of() : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? List.of() : List.copyOf(layersPattern);
        if (regex != null && !layersToTransform.isEmpty())
            throw new IllegalArgumentException("LoraConfig: layers_to_transform cannot be used with a regex target");
        if (regex != null && !layersPattern.isEmpty())
            throw new IllegalArgumentException("LoraConfig: layers_pattern cannot be used with a regex target");
        if (!layersPattern.isEmpty() && layersToTransform.isEmpty())
            throw new IllegalArgumentException("LoraConfig: layers_pattern needs layers_to_transform");
    }

    public static LoraTargets of(List<String> names) {
        return new LoraTargets(names, null, null, null, null, null);
    }

    public static LoraTargets regex(String regex) {
        return new LoraTargets(null, Pattern.compile(regex), null, null, null, null);
    }

    /** Whether these targets are the {@code all-linear} shorthand. */
    public boolean allLinear() {
        return names != null
                && names.size() == 1
                && names.getFirst().toLowerCase(Locale.ROOT).equals(ALL_LINEAR);
    }

    public LoraTargets withExclude(List<String> excluded) {
        return new LoraTargets(names, regex, excluded, null, layersToTransform, layersPattern);
    }

    public LoraTargets withExcludeRegex(String excluded) {
        return new LoraTargets(names, regex, null, Pattern.compile(excluded), layersToTransform, layersPattern);
    }

    public LoraTargets withLayers(List<Integer> layers, List<String> pattern) {
        return new LoraTargets(names, regex, excludeNames, excludeRegex, layers, pattern);
    }

    /** Whether the module at dotted {@code name} is a target, given the config's {@code modules_to_save}. */
    public boolean matches(String name, List<String> modulesToSave) {
        if (excludeRegex != null && excludeRegex.matcher(name).matches()) return false;
        if (listed(excludeNames, name)) return false;
        for (String m : modulesToSave)
            if (Pattern.compile("(^|.*\\.)" + m + "($|\\..*)").matcher(name).matches()) return false;
        if (regex != null) return regex.matcher(name).matches();
        if (allLinear()) {
            if (name.equals("lm_head") || name.endsWith(".lm_head")) return false;
        } else {
            if (names.contains(name)) return true;
            if (!endsWithListed(names, name)) return false;
        }
        if (layersToTransform.isEmpty()) return true;
        Integer index = layerIndex(name);
        return index != null && layersToTransform.contains(index);
    }

    private Integer layerIndex(String name) {
        Matcher m = null;
        if (layersPattern.isEmpty())
            m = Pattern.compile(".*?\\.[^.]*\\.(\\d+)\\.").matcher(name);
        else
            for (String p : layersPattern) {
                m = Pattern.compile("(?:^|.*?\\.)" + p + "\\.(\\d+)\\.").matcher(name);
                if (m.lookingAt()) break;
                m = null;
            }
        if (m == null || !m.lookingAt()) return null;
        return Integer.valueOf(m.group(1));
    }

    private static boolean listed(List<String> list, String name) {
        return list.contains(name) || endsWithListed(list, name);
    }

    private static boolean endsWithListed(List<String> list, String name) {
        for (String t : list) if (name.endsWith("." + t)) return true;
        return false;
    }
}
