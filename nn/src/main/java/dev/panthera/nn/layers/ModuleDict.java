package dev.panthera.nn.layers;

import dev.panthera.nn.Module;

/** Children under arbitrary names, like torch.nn.ModuleDict. */
public final class ModuleDict<M extends Module> extends Module {
    /** Adds or replaces {@code name}. */
    public M put(String name, M m) {
        return registerModule(name, m);
    }

    /** The child called {@code name}, or null. */
    @SuppressWarnings("unchecked")
    public M get(String name) {
        return (M) child(name);
    }

    public boolean contains(String name) {
        return child(name) != null;
    }
}
