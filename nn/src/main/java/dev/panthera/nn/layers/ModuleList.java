package dev.panthera.nn.layers;

import dev.panthera.nn.Module;
import java.util.ArrayList;
import java.util.List;

/** Children named "0", "1", ... like torch.nn.ModuleList. */
public final class ModuleList<M extends Module> extends Module {
    private final List<M> items = new ArrayList<>();

    public ModuleList(List<M> modules) {
        for (M m : modules) add(m);
    }

    public void add(M m) {
        registerModule(Integer.toString(items.size()), m);
        items.add(m);
    }

    public M get(int i) {
        return items.get(i);
    }

    public int size() {
        return items.size();
    }
}
