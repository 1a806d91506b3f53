package dev.panthera.nn.lora;

import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Embedding;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.layers.ModuleDict;
import dev.panthera.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * peft's ModulesToSaveWrapper: a module trained whole beside a LoRA adapter (a new classifier head, a resized
 * embedding). Children {@code original_module} (frozen) and {@code modules_to_save.<adapter>}, a copy per adapter that
 * starts equal to the original. Forward runs the active adapter's copy, or the original when adapters are disabled or
 * this wrapper has no copy for the active adapter. Linear and Embedding modules can be wrapped.
 */
public final class ModulesToSave extends Module {
    private final Module original;
    private final ModuleDict<Module> copies;
    private String active;
    private boolean enabled = true;

    public ModulesToSave(Module original) {
        if (!(original instanceof Linear || original instanceof Embedding))
            throw new IllegalArgumentException("modules_to_save: cannot copy a "
                    + original.getClass().getSimpleName() + "; Linear and Embedding modules are supported");
        this.original = registerModule("original_module", original);
        this.copies = registerModule("modules_to_save", new ModuleDict<>());
    }

    /** Adds a copy of the original for adapter {@code name}; it becomes active. */
    public void addAdapter(String name) {
        if (copies.contains(name))
            throw new IllegalArgumentException("ModulesToSave: adapter '" + name + "' already exists");
        copies.put(name, copyOf(original));
        active = name;
    }

    private static Module copyOf(Module m) {
        Module copy = switch (m) {
            case Linear l -> new Linear(l.inFeatures(), l.outFeatures(), l.bias() != null, new SplittableRandom(0));
            case Embedding e -> new Embedding(e.weight().size(0), e.weight().size(1), new SplittableRandom(0));
            default ->
                throw new IllegalArgumentException("modules_to_save: cannot copy a "
                        + m.getClass().getSimpleName() + "; Linear and Embedding modules are supported");
        };
        copy.loadStateDict(m.stateDict(), true);
        return copy;
    }

    public Module original() {
        return original;
    }

    public boolean hasAdapter(String name) {
        return copies.contains(name);
    }

    /** Adapter {@code name}'s trainable copy. */
    public Module copy(String name) {
        Module m = copies.get(name);
        if (m == null) throw new IllegalArgumentException("ModulesToSave: no adapter '" + name + "'");
        return m;
    }

    public String activeAdapter() {
        return active;
    }

    /** Makes {@code name} the adapter used by forward; without a copy of that name forward runs the original. */
    public void setActive(String name) {
        active = name;
    }

    public void setAdaptersEnabled(boolean on) {
        enabled = on;
    }

    /** What forward runs now. */
    public Module current() {
        return enabled && active != null && copies.contains(active) ? copies.get(active) : original;
    }

    @Override
    public Tensor forward(Tensor x) {
        return current().forward(x);
    }
}
