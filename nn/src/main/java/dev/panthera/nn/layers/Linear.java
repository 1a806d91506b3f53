package dev.panthera.nn.layers;

import dev.panthera.nn.Init;
import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;
import java.util.random.RandomGenerator;

/** y = x·Wᵀ + b with W of shape [out, in] (PyTorch's layout); initialised like torch.nn.Linear. */
public final class Linear extends Module {
    private final long in;
    private final long out;

    /** A layer with weight and optional bias drawn as PyTorch does: U(-1/√in, 1/√in). */
    public Linear(long in, long out, boolean bias, RandomGenerator rng) {
        if (in <= 0 || out <= 0)
            throw new IllegalArgumentException("Linear: features must be positive, got in=" + in + " out=" + out);
        this.in = in;
        this.out = out;
        registerParameter("weight", Init.kaimingUniform(rng, Math.sqrt(5), out, in));
        if (bias) registerParameter("bias", Init.uniform(rng, 1 / Math.sqrt(in), out));
    }

    public long inFeatures() {
        return in;
    }

    public long outFeatures() {
        return out;
    }

    public Tensor weight() {
        return namedParameters().get("weight");
    }
    /** The bias, or null. */
    public Tensor bias() {
        return namedParameters().get("bias");
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.rank() == 0 || x.size(-1) != in) {
            throw new IllegalArgumentException("Linear: input " + x.shape() + " must end in " + in
                    + " features (weight [" + out + ", " + in + "])");
        }
        // the bias added as the product is written where the backend fuses it (matmulAdd equals matmul then add)
        Tensor b = bias();
        return b == null ? x.matmul(weight().t()) : x.matmulAdd(weight().t(), b, null);
    }
}
