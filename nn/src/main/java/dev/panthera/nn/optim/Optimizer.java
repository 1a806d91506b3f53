package dev.panthera.nn.optim;

import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.List;

/**
 * Updates a list of parameters from their {@code grad()}. Updates run under no-grad and write parameters in place
 * with the in-place tensor ops; long-lived state (moments) is GC-managed, on each parameter's device and in its
 * dtype, so it outlives the {@code MemoryScope} a step runs in.
 */
public abstract class Optimizer {
    protected final List<Tensor> params;
    private final double baseLr;
    private LrSchedule schedule = LrSchedule.constant();
    private long steps;

    protected Optimizer(List<Tensor> params, double lr) {
        if (params.isEmpty())
            throw new IllegalArgumentException(getClass().getSimpleName() + ": no parameters to optimize");
        if (!(lr >= 0))
            throw new IllegalArgumentException(getClass().getSimpleName() + ": learning rate must be >= 0, got " + lr);
        this.params = List.copyOf(params);
        this.baseLr = lr;
    }

    /** Sets the learning-rate schedule (returns this). */
    public Optimizer schedule(LrSchedule s) {
        this.schedule = s;
        return this;
    }

    /** The learning rate the next step will use. */
    public double currentLr() {
        return baseLr * schedule.factor(steps);
    }

    /** Steps taken. */
    public long steps() {
        return steps;
    }

    /**
     * Applies one update to every parameter that has a gradient. Each parameter's update runs in a {@link MemoryScope}
     * of its own, so its temporaries go back to the pool before the next parameter's update: the step's memory peak is
     * one parameter's temporaries, not all of them (state that must outlive the step is made with
     * {@link MemoryScope#unscoped}).
     */
    public final void step() {
        double lr = currentLr();
        steps++;
        try (var _ = Autograd.noGrad()) {
            for (int i = 0; i < params.size(); i++) {
                Tensor p = params.get(i);
                if (p.grad() == null) continue;
                try (var perParameter = MemoryScope.open()) {
                    update(i, p, p.grad(), lr, steps);
                }
            }
        }
    }

    /** Updates parameter {@code index} in place given its gradient, the learning rate and the 1-based step count. */
    protected abstract void update(int index, Tensor p, Tensor grad, double lr, long step);

    /** Clears every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
    public void zeroGrad() {
        zeroGrad(true);
    }

    /**
     * PyTorch's zero_grad(set_to_none): drops the gradients, or with {@code setToNone} false fills them with zeros in
     * place, so the next backward accumulates into the same buffers. Dropped CPU gradients that a backward pass made go
     * back to the memory pool ({@link Tensor#zeroGrad()}), so the next pass takes them again instead of fresh memory;
     * a gradient tensor held past this call is dead (clone it first to keep its values).
     */
    public void zeroGrad(boolean setToNone) {
        for (Tensor p : params) {
            if (setToNone || p.grad() == null) p.zeroGrad();
            else p.grad().zero_();
        }
    }

    /** Bytes of optimizer state currently held (moments, momentum buffers). */
    public abstract long stateBytes();

    /** {@link #clipGradNorm(List, double, double, boolean)} with the L2 norm and no error on a non-finite norm. */
    public static double clipGradNorm(List<Tensor> params, double maxNorm) {
        return clipGradNorm(params, maxNorm, 2, false);
    }

    /**
     * torch.nn.utils.clip_grad_norm_: the total {@code normType}-norm of all gradients (p &gt; 0, or
     * {@link Double#POSITIVE_INFINITY} for the largest magnitude), computed in float64, and every gradient multiplied
     * by min(1, maxNorm/(norm + 1e-6)); returns the norm before clipping. Parameters without a gradient are skipped.
     * A NaN or infinite norm throws with {@code errorIfNonfinite}; without it, as torch does, the gradients are still
     * multiplied by that coefficient (NaN for a NaN norm, 0 for an infinite one, so an infinite entry becomes NaN).
     */
    public static double clipGradNorm(List<Tensor> params, double maxNorm, double normType, boolean errorIfNonfinite) {
        if (!(normType > 0))
            throw new IllegalArgumentException("clipGradNorm: norm type " + normType + " must be > 0 or infinity");
        try (var _ = Autograd.noGrad()) {
            boolean inf = normType == Double.POSITIVE_INFINITY;
            double acc = 0;
            for (Tensor p : params) {
                if (p.grad() == null) continue;
                Tensor a = p.grad().to(DType.F64).abs();
                if (inf) {
                    double m = a.max().item();
                    acc = Double.isNaN(m) || Double.isNaN(acc) ? Double.NaN : Math.max(acc, m);
                } else {
                    acc += (normType == 1 ? a : a.pow(normType)).sum().item();
                }
            }
            double norm = inf || normType == 1 ? acc : Math.pow(acc, 1 / normType);
            if (errorIfNonfinite && !Double.isFinite(norm))
                throw new IllegalStateException("clipGradNorm: the total " + normType + "-norm of the gradients is "
                        + norm + " (a gradient holds NaN or infinity)");
            double coef = Math.min(1.0, maxNorm / (norm + 1e-6));
            if (!(coef >= 1))
                for (Tensor p : params) if (p.grad() != null) p.grad().mul_(coef);
            return norm;
        }
    }
}
