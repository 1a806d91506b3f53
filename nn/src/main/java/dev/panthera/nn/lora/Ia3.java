package dev.panthera.nn.lora;

import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Linear;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies (IA)³ as peft's {@code get_peft_model} does with an {@link Ia3Config}: matching Linear layers are replaced in
 * place by {@link Ia3Linear}, modules_to_save by {@link ModulesToSave}, the model is frozen and only the adapter's
 * vectors and its modules_to_save copies train.
 */
public final class Ia3 {
    private Ia3() {}

    /**
     * Adds adapter {@code name} to every target Linear of {@code model}, feed-forward targets rescaling their input.
     *
     * @return the dotted names of the layers adapted
     */
    public static List<String> apply(Module model, Ia3Config config, String name) {
        List<String> done = new ArrayList<>();
        List<String> wrapped = new ArrayList<>(layers(model).keySet());
        wrapped.addAll(Lora.savedModules(model).keySet());
        for (var e : new ArrayList<>(model.namedModules().entrySet())) {
            String path = e.getKey();
            if (path.isEmpty() || !config.matches(path) || Lora.insideWrapper(path, wrapped)) continue;
            Ia3Linear layer;
            if (e.getValue() instanceof Ia3Linear l) layer = l;
            else if (e.getValue() instanceof Linear lin) {
                layer = new Ia3Linear(lin, config.isFeedforward(path));
                Lora.parentOf(model, path).replaceChild(Lora.leaf(path), layer);
            } else continue;
            if (layer.isFeedforward() != config.isFeedforward(path))
                throw new IllegalArgumentException(
                        "Ia3.apply: " + path + " is already adapted with feedforward = " + layer.isFeedforward());
            layer.addAdapter(name, config.initOnes(), path.hashCode());
            done.add(path);
        }
        if (done.isEmpty())
            throw new IllegalArgumentException("Ia3.apply: no Linear layer matched the target modules of " + config);
        Lora.addModulesToSave(model, config.modulesToSave(), name, "Ia3.apply");
        setActive(model, name, true);
        return done;
    }

    /** Every (IA)³ layer of the model by dotted name. */
    public static Map<String, Ia3Linear> layers(Module model) {
        Map<String, Ia3Linear> out = new LinkedHashMap<>();
        for (var e : model.namedModules().entrySet()) if (e.getValue() instanceof Ia3Linear l) out.put(e.getKey(), l);
        return out;
    }

    /**
     * Activates {@code name} on every (IA)³ layer and modules_to_save wrapper, freezes the model and, with {@code
     * trainable}, unfreezes its vectors and its modules_to_save copies.
     */
    public static void setActive(Module model, String name, boolean trainable) {
        Map<String, Ia3Linear> layers = layers(model);
        if (layers.values().stream().noneMatch(l -> l.hasAdapter(name)))
            throw new IllegalArgumentException("Ia3.setActive: no (IA)³ adapter '" + name + "'");
        model.freeze();
        for (Ia3Linear l : layers.values()) {
            l.setActive(name);
            if (trainable && l.hasAdapter(name)) l.vector(name).requiresGrad(true);
        }
        for (ModulesToSave s : Lora.savedModules(model).values()) {
            s.setActive(name);
            if (trainable && s.hasAdapter(name)) s.copy(name).unfreeze();
        }
    }

    /**
     * Adapter {@code name}'s vectors under peft's saved key names, {@code base_model.model.<path>.ia3_l}, and its
     * modules_to_save copies as {@code base_model.model.<path>.<parameter>}.
     */
    public static Map<String, Tensor> adapterStateDict(Module model, String name) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : layers(model).entrySet())
            if (e.getValue().hasAdapter(name))
                out.put(
                        "base_model.model." + e.getKey() + ".ia3_l",
                        e.getValue().vector(name));
        for (var e : Lora.savedModules(model).entrySet()) {
            if (!e.getValue().hasAdapter(name)) continue;
            for (var p : e.getValue().copy(name).stateDict().entrySet())
                out.put("base_model.model." + e.getKey() + "." + p.getKey(), p.getValue());
        }
        return out;
    }

    /**
     * peft's {@code merge_and_unload}: every (IA)³ layer's active adapter folded into its base Linear, which then
     * replaces the layer; layers without the active adapter become their base unchanged.
     */
    public static void mergeAndUnload(Module model) {
        for (var e : layers(model).entrySet()) {
            Ia3Linear layer = e.getValue();
            if (layer.active() != null && layer.hasAdapter(layer.active())) layer.mergeInto(layer.active());
            Lora.parentOf(model, e.getKey()).replaceChild(Lora.leaf(e.getKey()), layer.base());
        }
        for (var e : Lora.savedModules(model).entrySet())
            Lora.parentOf(model, e.getKey())
                    .replaceChild(Lora.leaf(e.getKey()), e.getValue().current());
    }
}
