package dev.panthera.nn.optim;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.util.List;

/**
 * SWAN (Ma et al., arXiv 2412.13148), stateless. For a matrix gradient G [m, n]: GradNorm standardises each row
 * (subtract the row mean, divide by the row standard deviation + eps), then GradWhitening replaces it by
 * (G Gᵀ)^(-1/2) G, its orthogonal polar factor, computed by the Newton–Schulz iteration X ← 1.5X − 0.5·X Xᵀ X from
 * X₀ = G/‖G‖_F (on Gᵀ when m > n, which gives the same factor with a smaller Gram matrix; singular directions, such
 * as the all-ones direction that GradNorm removes from every row, stay zero as with a pseudo-inverse). With
 * {@code rescale} (the paper's optional step, on by default) X is scaled to the Frobenius norm of the normalised
 * gradient, X ← (‖G̃‖/‖X‖)·X, which makes its entries O(1) like Adam's; p ← p − lr·X.
 *
 * <p>A consequence of GradNorm worth knowing: every row of the update has zero mean, so SWAN never changes the mean of
 * a weight row.
 *
 * <p>Fallback for vectors (norm weights, biases), where whitening is not defined: the gradient divided by its RMS,
 * g/(√mean(g²)+eps), which is also stateless. The paper keeps Adam for such parameters (and for the embedding and
 * output head); this class keeps zero state and whitens every matrix, embeddings and output head included.
 */
public final class Swan extends Optimizer {
    private final int iterations;
    private final double eps;
    private final boolean rescale;

    public Swan(List<Tensor> params, double lr, int iterations, double eps, boolean rescale) {
        super(params, lr);
        this.rescale = rescale;
        if (iterations < 1)
            throw new IllegalArgumentException("Swan: Newton–Schulz iterations must be >= 1, got " + iterations);
        this.iterations = iterations;
        this.eps = eps;
    }

    /** 10 Newton–Schulz iterations, eps 1e-8, with rescaling. */
    public Swan(List<Tensor> params, double lr) {
        this(params, lr, 10, 1e-8, true);
    }

    @Override
    protected void update(int i, Tensor p, Tensor grad, double lr, long step) {
        p.sub_(direction(grad), lr);
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
        double normalised = Math.sqrt(x.pow(2).sum().item());
        boolean tall = x.size(0) > x.size(1);
        if (tall) x = x.t().contiguous();
        double fro = Math.sqrt(x.pow(2).sum().item());
        x = x.div(fro + eps);
        for (int k = 0; k < iterations; k++) {
            Tensor gram = x.matmul(x.t().contiguous());
            x = x.mul(1.5).sub(gram.matmul(x).mul(0.5));
        }
        if (tall) x = x.t().contiguous();
        // exact result rows are combinations of G̃'s zero-mean rows; removing the row mean drops float noise that the
        // iteration amplifies (×1.5 per step) along the null direction 1_n of a tall or square G̃
        x = x.sub(x.mean(new int[] {1}, true));
        if (rescale) {
            double nx = Math.sqrt(x.pow(2).sum().item());
            if (nx > 0) x = x.mul(normalised / nx);
        }
        return x.to(grad.dtype());
    }

    /** Always 0: SWAN keeps no optimizer state. */
    @Override
    public long stateBytes() {
        return 0;
    }
}
