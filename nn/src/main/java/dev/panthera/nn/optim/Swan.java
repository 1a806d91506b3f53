package dev.panthera.nn.optim;

import dev.panthera.nn.Module;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SWAN (Ma et al., "SWAN: SGD with Normalization and Whitening Enables Stateless LLM Training", arXiv 2412.13148).
 * For a matrix gradient G [m, n]: GradNorm standardises each row (subtract the row mean, divide by the row standard
 * deviation + eps), then GradWhitening replaces it by (G Gᵀ)^(-1/2) G, its orthogonal polar factor, computed by the
 * Newton–Schulz iteration X ← 1.5X − 0.5·X Xᵀ X from X₀ = G/‖G‖_F (on Gᵀ when m > n, which gives the same factor with
 * a smaller Gram matrix; singular directions, such as the all-ones direction that GradNorm removes from every row, stay
 * zero as with a pseudo-inverse). With {@code rescale} (the paper's optional step, on by default) X is scaled to the
 * Frobenius norm of the normalised gradient, X ← (‖G̃‖/‖X‖)·X, which makes its entries O(1) like Adam's; p ← p − lr·X.
 *
 * <p>As in the paper, the embedding, the output head and every parameter that is not a matrix (norm weights, biases)
 * are updated by Adam instead (the same arithmetic as {@link AdamW}, betas 0.9/0.999, eps 1e-8, no weight decay), so
 * SWAN keeps Adam's two moments for those parameters only. {@link #forModel} picks the embedding and head by name;
 * the list constructors give Adam to the parameters named in {@code adamParams} and to every non-matrix.
 *
 * <p>A consequence of GradNorm worth knowing: every row of a whitened update has zero mean, so SWAN never changes the
 * mean of a weight row.
 */
public final class Swan extends Optimizer {
    private final int iterations;
    private final double eps;
    private final boolean rescale;
    private final AdamW adam;
    private final int[] adamIndex; // per parameter: its index in adam's list, or -1 when it is whitened

    /**
     * SWAN over {@code params}; the ones in {@code adamParams} (by identity) and every non-matrix use Adam with the same
     * learning rate.
     */
    public Swan(
            List<Tensor> params,
            Collection<Tensor> adamParams,
            double lr,
            int iterations,
            double eps,
            boolean rescale) {
        super(params, lr);
        this.rescale = rescale;
        if (iterations < 1)
            throw new IllegalArgumentException("Swan: Newton–Schulz iterations must be >= 1, got " + iterations);
        this.iterations = iterations;
        this.eps = eps;
        Set<Tensor> chosen = Collections.newSetFromMap(new IdentityHashMap<>());
        chosen.addAll(adamParams);
        List<Tensor> adamList = new ArrayList<>();
        adamIndex = new int[this.params.size()];
        for (int i = 0; i < adamIndex.length; i++) {
            Tensor p = this.params.get(i);
            if (p.rank() != 2 || chosen.remove(p)) {
                adamIndex[i] = adamList.size();
                adamList.add(p);
            } else adamIndex[i] = -1;
        }
        if (!chosen.isEmpty())
            throw new IllegalArgumentException(
                    "Swan: " + chosen.size() + " of adamParams are not among the parameters to optimize");
        adam = adamList.isEmpty() ? null : new AdamW(adamList, lr, 0.9, 0.999, 1e-8, 0);
    }

    /** Every matrix whitened, every non-matrix by Adam. */
    public Swan(List<Tensor> params, double lr, int iterations, double eps, boolean rescale) {
        this(params, List.of(), lr, iterations, eps, rescale);
    }

    /** 10 Newton–Schulz iterations, eps 1e-8, with rescaling; every matrix whitened, every non-matrix by Adam. */
    public Swan(List<Tensor> params, double lr) {
        this(params, List.of(), lr, 10, 1e-8, true);
    }

    /**
     * SWAN as the paper sets it up for a language model: the trainable parameters of {@code model}, with Adam for the
     * token embedding and the output head (parameters whose name contains {@code embed} or {@code lm_head}) and for
     * every non-matrix. 10 Newton–Schulz iterations, eps 1e-8, with rescaling.
     */
    public static Swan forModel(Module model, double lr) {
        List<Tensor> params = new ArrayList<>();
        List<Tensor> adamParams = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
            if (!e.getValue().requiresGrad()) continue;
            params.add(e.getValue());
            String name = e.getKey();
            if (name.contains("embed") || name.contains("lm_head")) adamParams.add(e.getValue());
        }
        return new Swan(params, adamParams, lr, 10, 1e-8, true);
    }

    /** True when parameter {@code p} is updated by Adam rather than whitened. */
    public boolean usesAdam(Tensor p) {
        int i = indexOf(p);
        if (i < 0) throw new IllegalArgumentException("Swan.usesAdam: " + p.describe() + " is not optimized here");
        return adamIndex[i] >= 0;
    }

    private int indexOf(Tensor p) {
        for (int i = 0; i < params.size(); i++) if (params.get(i) == p) return i;
        return -1;
    }

    @Override
    protected void update(int i, Tensor p, Tensor grad, double lr, long step) {
        if (adamIndex[i] >= 0) adam.update(adamIndex[i], p, grad, lr, step);
        else p.sub_(direction(grad), lr);
    }

    /** The SWAN update direction for one matrix gradient (exposed for tests). */
    public Tensor direction(Tensor grad) {
        if (grad.rank() != 2)
            throw new IllegalArgumentException(
                    "Swan.direction: whitening needs a matrix gradient, got " + grad.shape());
        Tensor g = grad.to(DType.F32);
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

    /** Adam's moments for the embedding, head and non-matrices; whitened matrices keep no state. */
    @Override
    public long stateBytes() {
        return adam == null ? 0 : adam.stateBytes();
    }
}
