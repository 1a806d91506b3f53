package dev.panthera.nn;

import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A node in a tree of layers with named parameters, buffers and children. Dotted names
 * ({@code layers.0.self_attn.q_proj.weight}) follow the registration names, so a model whose fields are registered with
 * HuggingFace's names has HuggingFace {@code state_dict} keys. Parameters are leaf tensors that require grad unless
 * frozen; they are created GC-managed (outside any open {@link MemoryScope}) because they outlive a training step.
 */
public abstract class Module {
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** Registers a trainable parameter (made a leaf that requires grad) and returns it. */
    protected Tensor registerParameter(String name, Tensor value) {
        checkName(name);
        Tensor p = value.gradFn() == null ? value : value.detach();
        p.requiresGrad(true);
        params.put(name, p);
        return p;
    }

    /** Registers a non-trainable tensor that is part of the state dict (for example running statistics). */
    protected Tensor registerBuffer(String name, Tensor value) {
        checkName(name);
        buffers.put(name, value);
        return value;
    }

    /** Registers (or replaces) a child module under {@code name} and returns it. */
    protected <M extends Module> M registerModule(String name, M child) {
        checkName(name);
        children.put(name, child);
        return child;
    }

    /** Replaces the child at {@code name}, which must exist (used by LoRA to wrap layers in place). */
    public void replaceChild(String name, Module child) {
        if (!children.containsKey(name))
            throw new IllegalArgumentException("replaceChild: " + getClass().getSimpleName() + " has no child '" + name
                    + "'; children: " + children.keySet());
        children.put(name, child);
        onChildReplaced(name, child);
    }

    /** Called after {@link #replaceChild}; modules that keep a typed field for the child update it here. */
    protected void onChildReplaced(String name, Module child) {}

    private static void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains("."))
            throw new IllegalArgumentException(
                    "module member name must be non-empty and contain no '.', got '" + name + "'");
    }

    /** Direct children, in registration order. */
    public Map<String, Module> children() {
        return java.util.Collections.unmodifiableMap(children);
    }

    /** Every module in the tree with its dotted path ("" for this one), parents first. */
    public Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        out.put(prefix, this);
        for (var e : children.entrySet()) e.getValue().collectModules(join(prefix, e.getKey()), out);
    }

    /** Every parameter in the tree by dotted name, including frozen ones. */
    public Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var m : namedModules().entrySet()) {
            for (var p : m.getValue().params.entrySet()) out.putIfAbsent(join(m.getKey(), p.getKey()), p.getValue());
        }
        return out;
    }

    /** Every buffer in the tree by dotted name. */
    public Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var m : namedModules().entrySet()) {
            for (var b : m.getValue().buffers.entrySet()) out.put(join(m.getKey(), b.getKey()), b.getValue());
        }
        return out;
    }

    /** The parameters that currently require grad (what an optimizer updates). */
    public List<Tensor> trainableParameters() {
        List<Tensor> out = new ArrayList<>();
        for (Tensor t : namedParameters().values()) if (t.requiresGrad()) out.add(t);
        return out;
    }

    /** Total number of parameter elements. */
    public long parameterCount() {
        return namedParameters().values().stream().mapToLong(Tensor::numel).sum();
    }

    /** Number of elements in parameters that require grad. */
    public long trainableParameterCount() {
        return trainableParameters().stream().mapToLong(Tensor::numel).sum();
    }

    /** Stops gradients for every parameter in this subtree. */
    public Module freeze() {
        for (Tensor t : namedParameters().values()) t.requiresGrad(false);
        return this;
    }

    /** Makes every parameter in this subtree trainable again. */
    public Module unfreeze() {
        for (Tensor t : namedParameters().values()) t.requiresGrad(true);
        return this;
    }

    /** Sets training mode (dropout active) on this subtree. */
    public Module train(boolean on) {
        for (Module m : namedModules().values()) m.training = on;
        return this;
    }

    /** Sets evaluation mode on this subtree. */
    public Module eval() {
        return train(false);
    }

    /** Whether this module is in training mode. */
    public boolean isTraining() {
        return training;
    }

    /** Parameters then buffers by dotted name; the tensors are the live ones (not copies). */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>(namedParameters());
        out.putAll(namedBuffers());
        return out;
    }

    /**
     * Copies values from {@code state} into this tree's parameters and buffers (converting dtype). With {@code strict},
     * any missing or unexpected key fails; shape mismatches always fail. The error lists every problem at once.
     *
     * @return the keys of this model that {@code state} did not provide (empty when strict)
     */
    public List<String> loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (var e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) missing.add(e.getKey());
            else if (!src.shape().equals(e.getValue().shape()))
                mismatched.add(e.getKey() + ": checkpoint " + src.shape() + " vs model "
                        + e.getValue().shape());
        }
        for (String k : state.keySet()) if (!own.containsKey(k)) unexpected.add(k);
        if (!mismatched.isEmpty() || (strict && (!missing.isEmpty() || !unexpected.isEmpty()))) {
            throw new IllegalArgumentException("loadStateDict: error(s) loading state dict for "
                    + getClass().getSimpleName()
                    + (missing.isEmpty() ? "" : "\n  missing keys: " + missing)
                    + (unexpected.isEmpty() ? "" : "\n  unexpected keys: " + unexpected)
                    + (mismatched.isEmpty() ? "" : "\n  size mismatch: " + mismatched));
        }
        try (var _ = Autograd.noGrad()) {
            for (var e : own.entrySet()) {
                Tensor src = state.get(e.getKey());
                if (src != null) e.getValue().copy_(src);
            }
        }
        return missing;
    }

    /** Applies this module to one input; layers with a single input override it. */
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException(
                getClass().getSimpleName() + ".forward(Tensor) is not defined; use its typed forward");
    }

    /** Runs the child registered as {@code name} (whatever currently sits there, e.g. a LoRA wrapper) on {@code x}. */
    protected Tensor call(String name, Tensor x) {
        Module m = children.get(name);
        if (m == null) throw new IllegalStateException(getClass().getSimpleName() + ": no child '" + name + "'");
        return m.forward(x);
    }

    /** The child registered as {@code name}, or null. */
    public Module child(String name) {
        return children.get(name);
    }

    static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }
}
