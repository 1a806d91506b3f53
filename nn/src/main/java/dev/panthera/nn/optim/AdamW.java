package dev.panthera.nn.optim;

import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.List;

/**
 * torch.optim.AdamW: p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε). Two moments per parameter, allocated on first use.
 */
public final class AdamW extends Optimizer {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final Tensor[] m;
    private final Tensor[] v;

    public AdamW(List<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        super(params, lr);
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
            throw new IllegalArgumentException("AdamW: betas must be in [0, 1), got " + beta1 + ", " + beta2);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.m = new Tensor[this.params.size()];
        this.v = new Tensor[this.params.size()];
    }

    /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public AdamW(List<Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0.01);
    }

    @Override
    protected void update(int i, Tensor p, Tensor g, double lr, long t) {
        if (m[i] == null) {
            m[i] = MemoryScope.unscoped(() -> Tensor.zeros(g.dtype(), g.shape()));
            v[i] = MemoryScope.unscoped(() -> Tensor.zeros(g.dtype(), g.shape()));
        }
        m[i].copy_(m[i].mul(beta1).add(g.mul(1 - beta1)));
        v[i].copy_(v[i].mul(beta2).add(g.mul(g).mul(1 - beta2)));
        double bc1 = 1 - Math.pow(beta1, t);
        double bc2 = 1 - Math.pow(beta2, t);
        Tensor decayed = weightDecay == 0 ? p : p.mul(1 - lr * weightDecay);
        Tensor denom = v[i].div(bc2).sqrt().add(eps);
        assign(p, decayed.sub(m[i].div(denom).mul(lr / bc1)));
    }

    @Override
    public long stateBytes() {
        long n = 0;
        for (int i = 0; i < m.length; i++)
            if (m[i] != null) n += m[i].storage().byteSize() + v[i].storage().byteSize();
        return n;
    }
}
