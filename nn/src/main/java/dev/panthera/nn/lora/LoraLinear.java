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
 * adapter; base(x) alone when this layer has no adapter of the active name (peft: an adapter that targets other
 * modules leaves this one as the base), when adapters are disabled, or while the active adapter is merged.
 */
public final class LoraLinear extends Module {
    private final Linear base;
    private final ModuleDict<Linear> loraA;
    private final ModuleDict<Linear> loraB;
    private final ModuleDict<Dropout> dropout;
    private final Map<String, Double> scaling = new LinkedHashMap<>();
    private String active;
    private String merged;
    private boolean enabled = true;

    public LoraLinear(Linear base) {
        this.base = registerModule("base_layer", base);
        this.loraA = registerModule("lora_A", new ModuleDict<>());
        this.loraB = registerModule("lora_B", new ModuleDict<>());
        this.dropout = registerModule("lora_dropout", new ModuleDict<>());
    }

    /** Adds adapter {@code name} with the config's r and scaling (no per-module patterns); it becomes active. */
    public void addAdapter(String name, LoraConfig c, long seed) {
        addAdapter(name, c.r(), c.scaling(), c.dropout(), c.init(), seed);
    }

    /**
     * Adds adapter {@code name}: A [r, in] and B [out, r] initialised as {@code init} says (by default A
     * kaiming-uniform(a=√5) and B zeros); it becomes active.
     */
    public void addAdapter(String name, int r, double scale, double p, LoraConfig.InitWeights init, long seed) {
        if (loraA.contains(name))
            throw new IllegalArgumentException("LoraLinear: adapter '" + name + "' already exists");
        SplittableRandom rng = new SplittableRandom(seed);
        Linear a = new Linear(base.inFeatures(), r, false, rng);
        Linear b = new Linear(r, base.outFeatures(), false, rng);
        try (var _ = Autograd.noGrad()) {
            switch (init) {
                case DEFAULT -> {
                    a.weight().copy_(Init.kaimingUniform(rng, Math.sqrt(5), r, base.inFeatures()));
                    b.weight().fill_(0);
                }
                case GAUSSIAN -> {
                    a.weight().copy_(Init.normal(rng, 1.0 / r, r, base.inFeatures()));
                    b.weight().fill_(0);
                }
                case RANDOM -> {} // both keep nn.Linear's kaiming-uniform draw from the constructor
            }
        }
        loraA.put(name, a);
        loraB.put(name, b);
        dropout.put(name, new Dropout(p, rng.nextLong()));
        scaling.put(name, scale);
        active = name;
    }

    public Linear base() {
        return base;
    }

    /** The name forward uses; this layer may have no adapter of that name (then forward is the base). */
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

    public Dropout dropout(String name) {
        return require(name, dropout.get(name));
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

    /**
     * Makes {@code name} the adapter used by forward. A layer without that adapter accepts the name and runs its base
     * alone, as peft's layers do when the active adapter targets other modules.
     */
    public void setActive(String name) {
        if (merged != null && !merged.equals(name))
            throw new IllegalStateException(
                    "LoraLinear: adapter '" + merged + "' is merged; unmerge before activating '" + name + "'");
        active = name;
    }

    /** Whether adapters take part in forward (peft's disable_adapter turns them off). */
    public boolean adaptersEnabled() {
        return enabled;
    }

    /** Turns adapters on or off; while off, forward is the base layer alone. Not allowed while an adapter is merged. */
    public void setAdaptersEnabled(boolean on) {
        if (!on && merged != null)
            throw new IllegalStateException(
                    "LoraLinear: adapter '" + merged + "' is merged into the base weight; unmerge before disabling");
        enabled = on;
    }

    /** ΔW = B·A·scaling for adapter {@code name}, shape [out, in]. */
    public Tensor delta(String name) {
        return loraB(name).weight().matmul(loraA(name).weight()).mul(scaling.get(name));
    }

    /**
     * W += B·A·scaling for the active adapter; forward then uses the base alone. A layer without the active adapter has
     * nothing to merge and stays as it is.
     *
     * @return whether this layer merged anything
     */
    public boolean merge() {
        if (merged != null) throw new IllegalStateException("LoraLinear: adapter '" + merged + "' is already merged");
        if (active == null || !hasAdapter(active)) return false;
        try (var _ = Autograd.noGrad()) {
            base.weight().copy_(base.weight().add(delta(active)));
        }
        merged = active;
        return true;
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
        if (!enabled || active == null || active.equals(merged) || !hasAdapter(active)) return y;
        Tensor h = loraA.get(active).forward(dropout.get(active).forward(x));
        return y.add(loraB.get(active).forward(h).mul(scaling.get(active)));
    }
}
