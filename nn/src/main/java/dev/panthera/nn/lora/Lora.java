package dev.panthera.nn.lora;

import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Linear;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies LoRA to a model the way peft's {@code get_peft_model} / {@code add_adapter} do: matching Linear layers are
 * replaced in place by {@link LoraLinear}, the whole model is frozen and only the active adapter's A and B train.
 */
public final class Lora {
    private Lora() {}

    /**
     * Adds adapter {@code name} to every target Linear of {@code model} (wrapping it on first use) and activates it.
     *
     * @return the dotted names of the adapted layers
     */
    public static List<String> apply(Module model, LoraConfig config, String name) {
        List<String> done = new ArrayList<>();
        long seed = config.seed();
        List<String> wrapped = new ArrayList<>(layers(model).keySet());
        for (var e : new ArrayList<>(model.namedModules().entrySet())) {
            String path = e.getKey();
            Module m = e.getValue();
            if (path.isEmpty() || !config.matches(path) || insideWrapper(path, wrapped)) continue;
            LoraLinear lora;
            if (m instanceof LoraLinear l) lora = l;
            else if (m instanceof Linear lin) {
                lora = new LoraLinear(lin);
                parentOf(model, path).replaceChild(leaf(path), lora);
            } else continue;
            lora.addAdapter(name, config, seed + path.hashCode() * 31L);
            done.add(path);
        }
        if (done.isEmpty())
            throw new IllegalArgumentException("Lora.apply: no Linear layer matched the target modules of " + config);
        setActive(model, name);
        return done;
    }

    /** Every LoRA layer in the model by dotted name. */
    public static Map<String, LoraLinear> layers(Module model) {
        Map<String, LoraLinear> out = new LinkedHashMap<>();
        for (var e : model.namedModules().entrySet()) if (e.getValue() instanceof LoraLinear l) out.put(e.getKey(), l);
        return out;
    }

    /** Activates adapter {@code name} everywhere; freezes the model and unfreezes that adapter's weights only. */
    public static void setActive(Module model, String name) {
        model.freeze();
        for (LoraLinear l : layers(model).values()) {
            if (!l.hasAdapter(name)) continue;
            l.setActive(name);
            l.loraA(name).weight().requiresGrad(true);
            l.loraB(name).weight().requiresGrad(true);
        }
    }

    /** Merges the active adapter into every base weight. */
    public static void merge(Module model) {
        for (LoraLinear l : layers(model).values()) l.merge();
    }

    /** Undoes {@link #merge}. */
    public static void unmerge(Module model) {
        for (LoraLinear l : layers(model).values()) l.unmerge();
    }

    /** peft's merge_and_unload: merges the active adapter and puts the plain base Linear back in place of each wrapper. */
    public static void mergeAndUnload(Module model) {
        for (var e : layers(model).entrySet()) {
            LoraLinear l = e.getValue();
            if (l.mergedAdapter() == null) l.merge();
            parentOf(model, e.getKey()).replaceChild(leaf(e.getKey()), l.base());
        }
    }

    /** The active adapter's weights under peft's saved key names: {@code base_model.model.<path>.lora_A.weight}. */
    public static Map<String, Tensor> adapterStateDict(Module model, String name) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : layers(model).entrySet()) {
            LoraLinear l = e.getValue();
            if (!l.hasAdapter(name)) continue;
            out.put(
                    "base_model.model." + e.getKey() + ".lora_A.weight",
                    l.loraA(name).weight());
            out.put(
                    "base_model.model." + e.getKey() + ".lora_B.weight",
                    l.loraB(name).weight());
        }
        return out;
    }

    private static boolean insideWrapper(String path, List<String> wrapped) {
        for (String w : wrapped) if (path.startsWith(w + ".")) return true;
        return false;
    }

    static Module parentOf(Module model, String path) {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? model : model.namedModules().get(path.substring(0, dot));
    }

    static String leaf(String path) {
        return path.substring(path.lastIndexOf('.') + 1);
    }
}
