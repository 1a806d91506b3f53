package dev.panthera.nn.lora;

import dev.panthera.nn.Init;
import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Dropout;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.layers.ModuleDict;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A Linear with LoRA adapters, laid out as peft's: children {@code base_layer}, {@code lora_A.<adapter>},
 * {@code lora_B.<adapter>}, {@code lora_dropout.<adapter>}. Forward = base(x) + B(A(dropout(x)))·scaling for the active
 * adapter, or base(x) alone while that adapter is merged into the base weight.
 */
public final class LoraLinear extends Module {
    private final Linear base;
    private final ModuleDict<Linear> loraA;
    private final ModuleDict<Linear> loraB;
    private final ModuleDict<Dropout> dropout;
    private final Map<String, Double> scaling = new LinkedHashMap<>();
    private String active;
    private String merged;

    public LoraLinear(Linear base) {
        this.base = registerModule("base_layer", base);
        this.loraA = registerModule("lora_A", new ModuleDict<>());
        this.loraB = registerModule("lora_B", new ModuleDict<>());
        this.dropout = registerModule("lora_dropout", new ModuleDict<>());
    }

    /** Adds adapter {@code name}: A [r, in] kaiming-uniform(a=√5), B [out, r] zeros; it becomes active. */
    public void addAdapter(String name, LoraConfig c, long seed) {
        if (loraA.contains(name))
            throw new IllegalArgumentException("LoraLinear: adapter '" + name + "' already exists");
        SplittableRandom rng = new SplittableRandom(seed);
        Linear a = new Linear(base.inFeatures(), c.r(), false, rng);
        Linear b = new Linear(c.r(), base.outFeatures(), false, rng);
        try (var _ = Autograd.noGrad()) {
            a.weight().copy_(Init.kaimingUniform(rng, Math.sqrt(5), c.r(), base.inFeatures()));
            b.weight().fill_(0);
        }
        loraA.put(name, a);
        loraB.put(name, b);
        dropout.put(name, new Dropout(c.dropout(), rng.nextLong()));
        scaling.put(name, c.scaling());
        active = name;
    }

    public Linear base() {
        return base;
    }

    public String activeAdapter() {
        return active;
    }

    public boolean hasAdapter(String name) {
        return loraA.contains(name);
    }

    public Linear loraA(String name) {
        return require(name, loraA.get(name));
    }

    public Linear loraB(String name) {
        return require(name, loraB.get(name));
    }

    public double scaling(String name) {
        require(name, loraA.get(name));
        return scaling.get(name);
    }
    /** The adapter currently merged into the base weight, or null. */
    public String mergedAdapter() {
        return merged;
    }

    private <T> T require(String name, T t) {
        if (t == null)
            throw new IllegalArgumentException("LoraLinear: no adapter '" + name + "'; adapters: " + scaling.keySet());
        return t;
    }

    /** Makes {@code name} the adapter used by forward. */
    public void setActive(String name) {
        require(name, loraA.get(name));
        if (merged != null && !merged.equals(name))
            throw new IllegalStateException(
                    "LoraLinear: adapter '" + merged + "' is merged; unmerge before activating '" + name + "'");
        active = name;
    }

    /** ΔW = B·A·scaling for adapter {@code name}, shape [out, in]. */
    public Tensor delta(String name) {
        return loraB(name).weight().matmul(loraA(name).weight()).mul(scaling.get(name));
    }

    /** W += B·A·scaling for the active adapter; forward then uses the base alone. */
    public void merge() {
        if (merged != null) throw new IllegalStateException("LoraLinear: adapter '" + merged + "' is already merged");
        try (var _ = Autograd.noGrad()) {
            base.weight().copy_(base.weight().add(delta(active)));
        }
        merged = active;
    }

    /** W -= B·A·scaling, undoing {@link #merge()}. */
    public void unmerge() {
        if (merged == null) throw new IllegalStateException("LoraLinear: nothing is merged");
        String m = merged;
        try (var _ = Autograd.noGrad()) {
            base.weight().copy_(base.weight().sub(delta(m)));
        }
        merged = null;
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor y = base.forward(x);
        if (active == null || active.equals(merged)) return y;
        Tensor h = loraA.get(active).forward(dropout.get(active).forward(x));
        return y.add(loraB.get(active).forward(h).mul(scaling.get(active)));
    }
}
