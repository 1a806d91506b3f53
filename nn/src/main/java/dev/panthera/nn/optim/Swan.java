package dev.panthera.nn.optim;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.util.List;

/**
 * SWAN (Ma et al., arXiv 2412.13148), stateless. For a matrix gradient G [m, n]: GradNorm standardises each row
 * (subtract the row mean, divide by the row standard deviation + eps), then GradWhitening replaces it by
 * (G Gᵀ)^(-1/2) G, its orthogonal polar factor, computed by the Newton–Schulz iteration X ← 1.5X − 0.5·X Xᵀ X from
 * X₀ = G/‖G‖_F (on Gᵀ when m > n, which gives the same factor with a smaller Gram matrix); p ← p − lr·X.
 *
 * <p>Fallback for vectors (norm weights, biases), where whitening is not defined: the gradient divided by its RMS,
 * g/(√mean(g²)+eps), which is also stateless. The paper keeps Adam for such parameters; this class keeps zero state.
 */
public final class Swan extends Optimizer {
    private final int iterations;
    private final double eps;

    public Swan(List<Tensor> params, double lr, int iterations, double eps) {
        super(params, lr);
        if (iterations < 1) throw new IllegalArgumentException("Swan: Newton–Schulz iterations must be >= 1, got " + iterations);
        this.iterations = iterations;
        this.eps = eps;
    }

    /** 10 Newton–Schulz iterations, eps 1e-8. */
    public Swan(List<Tensor> params, double lr) { this(params, lr, 10, 1e-8); }

    @Override
    protected void update(int i, Tensor p, Tensor grad, double lr, long step) {
        assign(p, p.sub(direction(grad).mul(lr)));
    }

    /** The SWAN update direction for one gradient (exposed for tests). */
    public Tensor direction(Tensor grad) {
        Tensor g = grad.to(DType.F32);
        if (g.rank() != 2) {
            Tensor rms = g.pow(2).mean().sqrt().add(eps);
            return g.div(rms).to(grad.dtype());
        }
        Tensor centred = g.sub(g.mean(new int[] {1}, true));
        Tensor std = centred.pow(2).mean(new int[] {1}, true).sqrt().add(eps);
        Tensor x = centred.div(std);
        boolean tall = x.size(0) > x.size(1);
        if (tall) x = x.t().contiguous();
        double fro = Math.sqrt(x.pow(2).sum().item());
        x = x.div(fro + eps);
        for (int k = 0; k < iterations; k++) {
            x = x.mul(1.5).sub(x.matmul(x.t()).matmul(x).mul(0.5));
        }
        if (tall) x = x.t().contiguous();
        return x.to(grad.dtype());
    }

    /** Always 0: SWAN keeps no optimizer state. */
    @Override
    public long stateBytes() { return 0; }
}
