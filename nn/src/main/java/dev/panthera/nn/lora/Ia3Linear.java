package dev.panthera.nn.lora;

import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Linear;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * A Linear with (IA)³ vectors, laid out as peft's IA3 Linear: children {@code base_layer} and {@code ia3_l}, whose
 * parameters are the vectors by adapter name ({@code ia3_l.<adapter>}). A vector has shape [out, 1] and rescales the
 * output, base(x) ⊙ l (the bias included, as peft does); for a feed-forward module it has shape [1, in] and rescales the
 * input, base(x ⊙ l). Forward is the base alone when this layer has no vector of the active name or adapters are
 * disabled.
 */
public final class Ia3Linear extends Module {
    private final Linear base;
    private final Vectors vectors;
    private final boolean feedforward;
    private String active;
    private boolean enabled = true;

    /** The parameters of {@code ia3_l}, one per adapter. */
    static final class Vectors extends Module {
        Tensor add(String name, Tensor v) {
            return registerParameter(name, v);
        }

        Tensor get(String name) {
            return namedParameters().get(name);
        }
    }

    public Ia3Linear(Linear base, boolean feedforward) {
        this.base = registerModule("base_layer", base);
        this.vectors = registerModule("ia3_l", new Vectors());
        this.feedforward = feedforward;
    }

    /** Adds adapter {@code name}'s vector (ones, or N(0, 1) draws when {@code initOnes} is false); it becomes active. */
    public void addAdapter(String name, boolean initOnes, long seed) {
        if (vectors.get(name) != null)
            throw new IllegalArgumentException("Ia3Linear: adapter '" + name + "' already exists");
        long[] shape = feedforward ? new long[] {1, base.inFeatures()} : new long[] {base.outFeatures(), 1};
        Tensor v;
        try (var _ = Autograd.noGrad()) {
            v = initOnes ? Tensor.ones(shape) : Tensor.randn(new SplittableRandom(seed), shape);
        }
        vectors.add(name, v);
        active = name;
    }

    public Linear base() {
        return base;
    }

    public boolean isFeedforward() {
        return feedforward;
    }

    public boolean hasAdapter(String name) {
        return vectors.get(name) != null;
    }

    /** Adapter {@code name}'s vector: [out, 1], or [1, in] for a feed-forward module. */
    public Tensor vector(String name) {
        Tensor v = vectors.get(name);
        if (v == null)
            throw new IllegalArgumentException("Ia3Linear: no adapter '" + name + "'; adapters: "
                    + vectors.namedParameters().keySet());
        return v;
    }

    /** Makes {@code name} the adapter forward uses (a layer without it runs its base alone). */
    public void setActive(String name) {
        active = name;
    }

    /** The active adapter's name, or null. */
    public String active() {
        return active;
    }

    /**
     * Folds adapter {@code name}'s vector into the base layer's weights in place, as peft's merge does: W ← l ⊙ W row
     * by row and b ← l ⊙ b for an output vector, W ← W ⊙ l column by column for a feed-forward (input) vector; then
     * base(x) computes what this layer computed with the adapter.
     */
    public void mergeInto(String name) {
        Tensor l = vector(name);
        try (var _ = Autograd.noGrad()) {
            Tensor w = base.weight();
            w.copy_(w.mul(l)); // [out, in] ⊙ [out, 1] or [1, in]
            Tensor b = base.bias();
            if (!feedforward && b != null) b.copy_(b.mul(l.reshape(base.outFeatures())));
        }
    }

    public void setAdaptersEnabled(boolean on) {
        enabled = on;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (!enabled || active == null || !hasAdapter(active)) return base.forward(x);
        Tensor l = vector(active).reshape(-1);
        return feedforward ? base.forward(x.mul(l)) : base.forward(x).mul(l);
    }
}
