package dev.panthera.nn;

import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.random.RandomGenerator;

/** Parameter initialisers matching PyTorch's defaults; all draw from a caller-supplied seeded generator. */
public final class Init {
    private Init() {}

    /** Uniform on [-bound, bound). */
    public static Tensor uniform(RandomGenerator rng, double bound, long... shape) {
        return MemoryScope.unscoped(() -> Tensor.rand(rng, shape).mul(2 * bound).sub(bound));
    }

    /**
     * torch.nn.init.kaiming_uniform_(w, a) with fan_in = shape[1] (leaky-ReLU gain): bound = gain·√(3/fan_in),
     * gain = √(2/(1+a²)). With a = √5 (nn.Linear's and peft's LoRA A default) the bound is 1/√fan_in.
     */
    public static Tensor kaimingUniform(RandomGenerator rng, double a, long out, long in) {
        double gain = Math.sqrt(2.0 / (1 + a * a));
        return uniform(rng, gain * Math.sqrt(3.0 / in), out, in);
    }

    /** Normal(0, std). */
    public static Tensor normal(RandomGenerator rng, double std, long... shape) {
        return MemoryScope.unscoped(() -> Tensor.randn(rng, shape).mul(std));
    }

    /** Zeros, GC-managed. */
    public static Tensor zeros(long... shape) {
        return MemoryScope.unscoped(() -> Tensor.zeros(shape));
    }

    /** Ones, GC-managed. */
    public static Tensor ones(long... shape) {
        return MemoryScope.unscoped(() -> Tensor.ones(shape));
    }
}
