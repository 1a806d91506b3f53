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
 * {@code lora_B.<adapter>}, {@code lora_dropout.<adapter>} and, for DoRA adapters, {@code lora_magnitude_vector.<adapter>}.
 * Forward = base(x) + B(A(dropout(x)))·scaling for the active adapter; base(x) alone when this layer has no adapter of
 * the active name (peft: an adapter that targets other modules leaves this one as the base), when adapters are
 * disabled, or while the active adapter is merged.
 *
 * <p>DoRA (Liu et al., arXiv 2402.09353; peft's use_dora) re-normalises the adapted weight per output feature: with
 * V = W + scaling·B·A and its row norms ‖V‖ treated as constants (detached, as the paper's section 4.3 and peft do),
 * the layer computes m/‖V‖ ⊙ (x·Wᵀ + scaling·B·A·x) + b, written as peft writes it: base(x) + (m/‖V‖ − 1) ⊙ x·Wᵀ +
 * m/‖V‖ ⊙ scaling·B(A(dropout(x))), where x·Wᵀ is the base output without bias (recomputed from dropout(x) while
 * dropout is active in training).
 */
public final class LoraLinear extends Module {
    private final Linear base;
    private final ModuleDict<Linear> loraA;
    private final ModuleDict<Linear> loraB;
    private final ModuleDict<Dropout> dropout;
    private final ModuleDict<DoraMagnitude> magnitude;
    private Tensor mergedNorms; // ‖W + ΔW‖ per row at merge time, for a DoRA adapter: unmerge divides it back out
    private final Map<String, Double> scaling = new LinkedHashMap<>();
    private String active;
    private String merged;
    private boolean enabled = true;

    public LoraLinear(Linear base) {
        this.base = registerModule("base_layer", base);
        this.loraA = registerModule("lora_A", new ModuleDict<>());
        this.loraB = registerModule("lora_B", new ModuleDict<>());
        this.dropout = registerModule("lora_dropout", new ModuleDict<>());
        this.magnitude = registerModule("lora_magnitude_vector", new ModuleDict<>());
    }

    /**
     * Makes adapter {@code name} a DoRA adapter: adds its magnitude, initialised to the row norms of W + scaling·B·A so
     * that forward is unchanged at this point.
     */
    public void enableDora(String name) {
        require(name, loraA.get(name));
        if (magnitude.contains(name))
            throw new IllegalStateException("LoraLinear: adapter '" + name + "' already uses DoRA");
        if (name.equals(merged))
            throw new IllegalStateException(
                    "LoraLinear: adapter '" + name + "' is merged; unmerge before enabling DoRA");
        Tensor norms;
        try (var _ = Autograd.noGrad()) {
            norms = DoraMagnitude.rowNorms(base.weight().add(delta(name)));
        }
        magnitude.put(name, new DoraMagnitude(norms));
    }

    /** Whether adapter {@code name} is a DoRA adapter. */
    public boolean usesDora(String name) {
        return magnitude.contains(name);
    }

    /** DoRA's magnitude [out] for adapter {@code name}. */
    public Tensor magnitude(String name) {
        return require(name, magnitude.get(name)).weight();
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
        Linear[] ab = LoraLinear.newAdapterPair(base.inFeatures(), base.outFeatures(), r, init, rng);
        Linear a = ab[0], b = ab[1];
        loraA.put(name, a);
        loraB.put(name, b);
        dropout.put(name, new Dropout(p, rng.nextLong()));
        scaling.put(name, scale);
        active = name;
    }

    /**
     * A [r, in] and B [out, r] of a new adapter, drawn from {@code rng} and initialised as {@code init} says (peft's
     * init_lora_weights: by default A kaiming-uniform(a=√5) and B zeros; "gaussian" A ~ N(0, 1/r), B zeros; random:
     * both keep nn.Linear's kaiming-uniform draw). QLoraLinear makes its adapters here too.
     */
    public static Linear[] newAdapterPair(long in, long out, int r, LoraConfig.InitWeights init, SplittableRandom rng) {
        Linear a = new Linear(in, r, false, rng);
        Linear b = new Linear(r, out, false, rng);
        try (var _ = Autograd.noGrad()) {
            switch (init) {
                case DEFAULT -> {
                    a.weight().copy_(Init.kaimingUniform(rng, Math.sqrt(5), r, in));
                    b.weight().fill_(0);
                }
                case GAUSSIAN -> {
                    a.weight().copy_(Init.normal(rng, 1.0 / r, r, in));
                    b.weight().fill_(0);
                }
                case RANDOM -> {}
            }
        }
        return new Linear[] {a, b};
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
            Tensor v = base.weight().add(delta(active));
            if (usesDora(active)) {
                // W' = m/‖W + ΔW‖ ⊙ (W + ΔW), row by row (peft's DoRA merge)
                mergedNorms = DoraMagnitude.rowNorms(v);
                v = v.mul(magnitude(active).div(mergedNorms).reshape(-1, 1));
            }
            base.weight().copy_(v);
        }
        merged = active;
        return true;
    }

    /** W -= B·A·scaling, undoing {@link #merge()}. */
    public void unmerge() {
        if (merged == null) throw new IllegalStateException("LoraLinear: nothing is merged");
        String m = merged;
        try (var _ = Autograd.noGrad()) {
            Tensor w = base.weight();
            if (usesDora(m)) w = w.div(magnitude(m).div(mergedNorms).reshape(-1, 1));
            base.weight().copy_(w.sub(delta(m)));
        }
        merged = null;
        mergedNorms = null;
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor y = base.forward(x);
        if (!enabled || active == null || active.equals(merged) || !hasAdapter(active)) return y;
        Dropout drop = dropout.get(active);
        Tensor xd = drop.forward(x);
        Tensor lora = loraB.get(active).forward(loraA.get(active).forward(xd)).mul(scaling.get(active));
        if (!usesDora(active)) return y.add(lora);
        Tensor w = base.weight();
        Tensor baseResult =
                drop.p() == 0 || !isTraining() ? (base.bias() == null ? y : y.sub(base.bias())) : xd.matmul(w.t());
        Tensor norms;
        try (var _ = Autograd.noGrad()) { // detached, as in the paper and peft: no gradient through ‖V‖
            norms = DoraMagnitude.rowNorms(w.add(delta(active)));
        }
        Tensor scale = magnitude(active).div(norms);
        return y.add(baseResult.mul(scale.sub(1))).add(lora.mul(scale));
    }
}
