package dev.panthera.nn.optim;

import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.List;

/**
 * torch.optim.SGD: g = grad + wd·p; with momentum μ, buf = g on the first step, else μ·buf + (1-dampening)·g; the
 * update direction is g + μ·buf with Nesterov, else buf; p -= lr·direction. In place, as PyTorch's SGD: the momentum
 * buffer (on the parameter's device, in its dtype) is updated with mul_/add_, and the gradient is copied only when
 * weight decay or Nesterov change it.
 */
public final class Sgd extends Optimizer {
    private final double momentum;
    private final double dampening;
    private final double weightDecay;
    private final boolean nesterov;
    private final Tensor[] buf;

    public Sgd(
            List<Tensor> params, double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        super(params, lr);
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new IllegalArgumentException("Sgd: Nesterov momentum requires a momentum and zero dampening");
        this.momentum = momentum;
        this.dampening = dampening;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
        this.buf = new Tensor[this.params.size()];
    }

    /** Plain SGD. */
    public Sgd(List<Tensor> params, double lr) {
        this(params, lr, 0, 0, 0, false);
    }

    @Override
    protected void update(int i, Tensor p, Tensor grad, double lr, long step) {
        // g is the gradient itself unless weight decay or Nesterov need a working copy: the gradient is not ours
        Tensor g = weightDecay == 0 ? grad : grad.copy().add_(p, weightDecay);
        if (momentum != 0) {
            if (buf[i] == null) {
                Tensor first = g;
                buf[i] = MemoryScope.unscoped(() -> first.copy());
            } else {
                buf[i].mul_(momentum).add_(g, 1 - dampening);
            }
            if (nesterov) g = (g == grad ? grad.copy() : g).add_(buf[i], momentum);
            else g = buf[i];
        }
        p.sub_(g, lr);
    }

    @Override
    public long stateBytes() {
        long n = 0;
        for (Tensor b : buf) if (b != null) n += b.storage().byteSize();
        return n;
    }
}
