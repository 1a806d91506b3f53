package dev.panthera.nn.optim;

import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.FusedKernels.AdamWStep;
import java.util.List;

/**
 * torch.optim.AdamW: p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε). Two moments per parameter, allocated on first use on the parameter's
 * device with its dtype. The update runs in place as PyTorch's single-tensor AdamW does (m.lerp_, v.mul_.addcmul_,
 * p.addcdiv_), with one temporary, the denominator √v/√(1−β2ᵗ) + ε. As torch's state["step"], t counts the steps of
 * each parameter: a parameter without a gradient on some step is skipped, and its bias corrections do not advance.
 * Dense F32 host tensors take {@link AdamWKernel}, which does the same update, with the same roundings, in one pass.
 */
public final class AdamW extends Optimizer {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final Tensor[] m;
    private final Tensor[] v;
    private final long[] t;

    private final StateAllocator state;

    /** Where the moments live: a zeroed tensor with a parameter's shape and dtype, kept until the optimizer is dropped. */
    @FunctionalInterface
    public interface StateAllocator {
        Tensor zerosLike(Tensor param);
    }

    /** The moments in the parameter's device pool (GC-managed), as torch keeps them. */
    public static final StateAllocator IN_MEMORY = p -> MemoryScope.unscoped(() -> Tensor.zerosLike(p));

    public AdamW(List<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        this(params, lr, beta1, beta2, eps, weightDecay, IN_MEMORY);
    }

    /**
     * With the moments made by {@code state}: {@link PagedState} keeps them in memory-mapped files the OS can page
     * out (bitsandbytes' paged AdamW, on the CPU). The update is the same arithmetic on whatever memory holds them.
     */
    public AdamW(
            List<Tensor> params,
            double lr,
            double beta1,
            double beta2,
            double eps,
            double weightDecay,
            StateAllocator state) {
        super(params, lr);
        this.state = java.util.Objects.requireNonNull(state, "AdamW: state allocator");
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
            throw new IllegalArgumentException("AdamW: betas must be in [0, 1), got " + beta1 + ", " + beta2);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.m = new Tensor[this.params.size()];
        this.v = new Tensor[this.params.size()];
        this.t = new long[this.params.size()];
    }

    /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public AdamW(List<Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0.01);
    }

    @Override
    protected void update(int i, Tensor p, Tensor g, double lr, long step) {
        if (m[i] == null) {
            m[i] = state.zerosLike(p);
            v[i] = state.zerosLike(p);
        }
        long n = ++t[i]; // this parameter's own step count, not the optimizer's
        double bc1 = 1 - Math.pow(beta1, n);
        double bc2 = 1 - Math.pow(beta2, n);
        if (AdamWKernel.applies(p, g, m[i], v[i])) { // dense F32 on the host: the same update in one pass
            double decay = weightDecay != 0 ? 1 - lr * weightDecay : 1;
            AdamWKernel.step(
                    p,
                    g,
                    m[i],
                    v[i],
                    new AdamWStep(decay, 1 - beta1, beta2, 1 - beta2, Math.sqrt(bc2), eps, -lr / bc1));
            return;
        }
        if (weightDecay != 0) p.mul_(1 - lr * weightDecay);
        m[i].lerp_(g, 1 - beta1);
        v[i].mul_(beta2).addcmul_(g, g, 1 - beta2);
        Tensor denom = v[i].sqrt().div_(Math.sqrt(bc2)).add_(eps);
        p.addcdiv_(m[i], denom, -lr / bc1);
    }

    @Override
    public long stateBytes() {
        long n = 0;
        for (int i = 0; i < m.length; i++)
            if (m[i] != null) n += m[i].storage().byteSize() + v[i].storage().byteSize();
        return n;
    }
}
