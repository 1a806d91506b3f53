package dev.panthera.nn.lora;

import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Attention;
import dev.panthera.nn.layers.Linear;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies LoRA to a model the way peft's {@code get_peft_model} / {@code add_adapter} do: matching Linear layers are
 * replaced in place by {@link LoraLinear}, modules_to_save by {@link ModulesToSave}, the whole model is frozen and only
 * the active adapter's weights train. The active adapter is set on every adapted module; a module without an adapter
 * of that name runs its base alone, so adapters with different target modules never mix.
 */
public final class Lora {
    private Lora() {}

    /**
     * Adds adapter {@code name} to every target Linear of {@code model} (wrapping it on first use), wraps its
     * modules_to_save, and activates it on every adapted module.
     *
     * @return the dotted names of the LoRA layers added
     */
    public static List<String> apply(Module model, LoraConfig config, String name) {
        if (names(model).contains(name))
            throw new IllegalArgumentException("Lora.apply: the model already has an adapter '" + name + "'");
        List<String> done = new ArrayList<>();
        long seed = config.seed();
        List<String> wrapped = new ArrayList<>(layers(model).keySet());
        wrapped.addAll(savedModules(model).keySet());
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
            lora.addAdapter(
                    name,
                    config.rankFor(path),
                    config.scalingFor(path),
                    config.dropout(),
                    config.init(),
                    seed + path.hashCode() * 31L);
            if (config.useDora()) lora.enableDora(name);
            done.add(path);
        }
        if (done.isEmpty())
            throw new IllegalArgumentException("Lora.apply: no Linear layer matched the target modules of " + config);
        addModulesToSave(model, config.modulesToSave(), name, "Lora.apply");
        setActive(model, name);
        return done;
    }

    /**
     * peft's rule ({@code _set_trainable}): every module whose dotted name ends with one of {@code modules} gets a
     * trainable copy for adapter {@code name}; {@code op} names the caller in the error when none matches.
     */
    static void addModulesToSave(Module model, List<String> modules, String name, String op) {
        if (modules.isEmpty()) return;
        List<String> wrapped = new ArrayList<>(layers(model).keySet());
        wrapped.addAll(Ia3.layers(model).keySet());
        wrapped.addAll(savedModules(model).keySet());
        boolean found = false;
        for (var e : new ArrayList<>(model.namedModules().entrySet())) {
            String path = e.getKey();
            if (path.isEmpty()
                    || insideWrapper(path, wrapped)
                    || modules.stream().noneMatch(path::endsWith)) continue;
            ModulesToSave w;
            if (e.getValue() instanceof ModulesToSave s) w = s;
            else {
                w = new ModulesToSave(e.getValue());
                parentOf(model, path).replaceChild(leaf(path), w);
            }
            w.addAdapter(name);
            found = true;
        }
        if (!found) throw new IllegalArgumentException(op + ": no module matched modules_to_save " + modules);
    }

    /** Every LoRA layer in the model by dotted name. */
    public static Map<String, LoraLinear> layers(Module model) {
        Map<String, LoraLinear> out = new LinkedHashMap<>();
        for (var e : model.namedModules().entrySet()) if (e.getValue() instanceof LoraLinear l) out.put(e.getKey(), l);
        return out;
    }

    /** Every modules_to_save wrapper in the model by dotted name. */
    public static Map<String, ModulesToSave> savedModules(Module model) {
        Map<String, ModulesToSave> out = new LinkedHashMap<>();
        for (var e : model.namedModules().entrySet())
            if (e.getValue() instanceof ModulesToSave s) out.put(e.getKey(), s);
        return out;
    }

    /** The names of the adapters in the model. */
    public static List<String> names(Module model) {
        List<String> out = new ArrayList<>();
        for (var e : model.namedParameters().keySet()) {
            String[] parts = e.split("\\.");
            for (int i = 0; i + 1 < parts.length; i++)
                if ((parts[i].equals("lora_A") || parts[i].equals("modules_to_save")) && !out.contains(parts[i + 1]))
                    out.add(parts[i + 1]);
        }
        return out;
    }

    /**
     * Activates adapter {@code name} on every adapted module (those without it then run their base alone), freezes the
     * model and unfreezes that adapter's weights only. Fails, changing nothing, when no module has the adapter or when
     * another adapter is merged.
     */
    public static void setActive(Module model, String name) {
        setActive(model, name, true);
    }

    /** As {@link #setActive(Module, String)}; with {@code trainable} false the adapter's weights stay frozen too. */
    public static void setActive(Module model, String name, boolean trainable) {
        Map<String, LoraLinear> layers = layers(model);
        Map<String, ModulesToSave> saved = savedModules(model);
        if (layers.values().stream().noneMatch(l -> l.hasAdapter(name))
                && saved.values().stream().noneMatch(s -> s.hasAdapter(name)))
            throw new IllegalArgumentException("Lora.setActive: no adapter '" + name + "'; adapters: " + names(model));
        for (var e : layers.entrySet()) {
            String m = e.getValue().mergedAdapter();
            if (m != null && !m.equals(name))
                throw new IllegalStateException("Lora.setActive: adapter '" + m + "' is merged into " + e.getKey()
                        + "; unmerge before activating '" + name + "'");
        }
        model.freeze();
        for (LoraLinear l : layers.values()) {
            l.setActive(name);
            if (trainable && l.hasAdapter(name)) {
                l.loraA(name).weight().requiresGrad(true);
                l.loraB(name).weight().requiresGrad(true);
                if (l.usesDora(name)) l.magnitude(name).requiresGrad(true);
            }
        }
        for (ModulesToSave s : saved.values()) {
            s.setActive(name);
            if (trainable && s.hasAdapter(name)) s.copy(name).unfreeze();
        }
    }

    /**
     * peft's {@code disable_adapter()}: until the returned handle is closed, every adapted module inside {@code scope}
     * runs its base alone (LoRA and (IA)³ layers their base Linear, modules_to_save their original, attention blocks
     * without their LLaMA-Adapter prompt) and no adapter
     * weight there requires grad; closing turns adapters back on and restores which parameters required grad. {@code
     * scope} is the whole model, or one part of it such as a decoder block ({@code model.layers().get(i)}): then only
     * that block runs without adapters, as peft's {@code enable_adapters(False)} on the tuner layers inside it. Fails
     * while an adapter is merged into a layer of the scope.
     */
    public static Disabled disableAdapters(Module scope) {
        Module model = scope;
        for (var e : layers(model).entrySet())
            if (e.getValue().mergedAdapter() != null)
                throw new IllegalStateException("Lora.disableAdapters: adapter '"
                        + e.getValue().mergedAdapter() + "' is merged into " + e.getKey() + "; unmerge first");
        Map<Tensor, Boolean> grads = new IdentityHashMap<>();
        for (Tensor t : model.namedParameters().values()) grads.put(t, t.requiresGrad());
        for (LoraLinear l : layers(model).values()) {
            l.setAdaptersEnabled(false);
            l.child("lora_A").freeze();
            l.child("lora_B").freeze();
            l.child("lora_magnitude_vector").freeze();
        }
        for (Ia3Linear l : Ia3.layers(model).values()) {
            l.setAdaptersEnabled(false);
            l.child("ia3_l").freeze();
        }
        for (ModulesToSave s : savedModules(model).values()) {
            s.setAdaptersEnabled(false);
            s.child("modules_to_save").freeze();
        }
        for (Attention a : adaptionPrompts(model)) {
            a.setAdaptionPromptEnabled(false);
            a.namedParameters().get("adaption_prompt").requiresGrad(false);
            a.namedParameters().get("adaption_gate").requiresGrad(false);
        }
        return new Disabled(model, grads);
    }

    private static List<Attention> adaptionPrompts(Module scope) {
        List<Attention> out = new ArrayList<>();
        for (Module m : scope.namedModules().values())
            if (m instanceof Attention a && a.hasAdaptionPrompt()) out.add(a);
        return out;
    }

    /** The scope of {@link #disableAdapters}; {@link #close} enables adapters again. */
    public static final class Disabled implements AutoCloseable {
        private final Module model;
        private final Map<Tensor, Boolean> grads;
        private boolean closed;

        private Disabled(Module model, Map<Tensor, Boolean> grads) {
            this.model = model;
            this.grads = grads;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            for (LoraLinear l : layers(model).values()) l.setAdaptersEnabled(true);
            for (Ia3Linear l : Ia3.layers(model).values()) l.setAdaptersEnabled(true);
            for (Attention a : adaptionPrompts(model)) a.setAdaptionPromptEnabled(true);
            for (ModulesToSave s : savedModules(model).values()) s.setAdaptersEnabled(true);
            for (var e : grads.entrySet()) e.getKey().requiresGrad(e.getValue());
        }
    }

    /**
     * Merges the active adapter into the base weight of every layer that has it; layers without it are left as they
     * are. Fails when no layer has the active adapter.
     */
    public static void merge(Module model) {
        boolean any = false;
        for (LoraLinear l : layers(model).values()) any |= l.merge();
        if (!any) throw new IllegalStateException("Lora.merge: no LoRA layer has the active adapter");
    }

    /** Undoes {@link #merge} on every layer that has an adapter merged. */
    public static void unmerge(Module model) {
        boolean any = false;
        for (LoraLinear l : layers(model).values())
            if (l.mergedAdapter() != null) {
                l.unmerge();
                any = true;
            }
        if (!any) throw new IllegalStateException("Lora.unmerge: nothing is merged");
    }

    /**
     * peft's merge_and_unload: merges the active adapter where it is present and puts the plain base Linear back in
     * place of each wrapper; a modules_to_save wrapper is replaced by the module forward runs now (the active copy).
     */
    public static void mergeAndUnload(Module model) {
        for (var e : layers(model).entrySet()) {
            LoraLinear l = e.getValue();
            if (l.mergedAdapter() == null) l.merge();
            parentOf(model, e.getKey()).replaceChild(leaf(e.getKey()), l.base());
        }
        for (var e : savedModules(model).entrySet())
            parentOf(model, e.getKey())
                    .replaceChild(leaf(e.getKey()), e.getValue().current());
    }

    /**
     * Adapter {@code name}'s weights under peft's saved key names: {@code base_model.model.<path>.lora_A.weight},
     * {@code lora_B.weight} and, for DoRA, {@code lora_magnitude_vector}, and for modules_to_save {@code base_model.model.<path>.<parameter>} from its copy.
     */
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
            if (l.usesDora(name))
                out.put("base_model.model." + e.getKey() + ".lora_magnitude_vector", l.magnitude(name));
        }
        for (var e : savedModules(model).entrySet()) {
            if (!e.getValue().hasAdapter(name)) continue;
            for (var p : e.getValue().copy(name).stateDict().entrySet())
                out.put("base_model.model." + e.getKey() + "." + p.getKey(), p.getValue());
        }
        return out;
    }

    static boolean insideWrapper(String path, List<String> wrapped) {
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
