package dev.panthera.nn.optim;

import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * LOMO (Lv et al., "Full Parameter Fine-tuning for Large Language Models with Limited Resources", arXiv 2306.09782):
 * SGD fused into backward. {@link #backward(Tensor)} runs {@link Autograd#backwardReleasing} with a leaf hook that
 * applies p ← p − lr·(d + wd·p) as soon as a parameter's gradient is complete; the gradient's memory goes back to the
 * pool right after, so one parameter's gradient (plus the intermediate gradients in flight) exists at a time, and no
 * optimizer state is kept. d is the gradient after, in order, unscaling by the loss scale, global-norm clipping and
 * element-wise clipping.
 *
 * <p>As in the paper (section 3.3), global gradient-norm clipping and overflow detection need every gradient before
 * the first update, so they take two backward passes over the same graph: the first only accumulates Σ‖g‖² (and sees
 * whether a scaled gradient overflowed), releasing each gradient at once; the second applies the clipped updates.
 * With a {@link DynamicLossScaler} the upstream gradient is the loss scale instead of 1 (the gradient of loss·scale);
 * an overflow skips the whole step — no parameter changes — and lowers the scale. A skipped step does not advance the
 * learning-rate schedule: {@link #steps()} counts applied updates.
 */
public final class Lomo {
    private final Map<Tensor, Boolean> params = new IdentityHashMap<>();
    private final double lr;
    private final double weightDecay;
    private final double clipValue;
    private double maxNorm;
    private LrSchedule schedule = LrSchedule.constant();
    private DynamicLossScaler scaler;
    private long maxGradBytes;
    private long steps;
    private long skipped;
    private double lastNorm = Double.NaN;

    /** {@code clipValue} ≤ 0 disables element-wise clipping of gradients to [-clip, clip]. */
    public Lomo(List<Tensor> params, double lr, double weightDecay, double clipValue) {
        if (params.isEmpty()) throw new IllegalArgumentException("Lomo: no parameters to optimize");
        if (!(lr >= 0)) throw new IllegalArgumentException("Lomo: learning rate must be >= 0, got " + lr);
        for (Tensor p : params) this.params.put(p, Boolean.TRUE);
        this.lr = lr;
        this.weightDecay = weightDecay;
        this.clipValue = clipValue;
    }

    public Lomo(List<Tensor> params, double lr) {
        this(params, lr, 0, 0);
    }

    /**
     * Clips the global L2 norm of the (unscaled) gradients to {@code maxNorm} with torch's coefficient
     * min(1, maxNorm/(norm + 1e-6)), computed by a first backward pass; ≤ 0 turns clipping off. Returns this.
     */
    public Lomo clipGradNorm(double maxNorm) {
        this.maxNorm = maxNorm;
        return this;
    }

    /** Sets the learning-rate schedule, a factor of the base rate by applied step (returns this). */
    public Lomo schedule(LrSchedule s) {
        if (s == null) throw new IllegalArgumentException("Lomo.schedule: null schedule");
        this.schedule = s;
        return this;
    }

    /** Scales the loss dynamically, for 16-bit parameters whose small gradients would underflow (returns this). */
    public Lomo lossScaler(DynamicLossScaler s) {
        this.scaler = s;
        return this;
    }

    /** The learning rate the next applied step uses. */
    public double currentLr() {
        return lr * schedule.factor(steps);
    }

    /**
     * Backward from the scalar {@code loss}, updating each parameter as its gradient completes. Returns false when a
     * loss-scaled gradient overflowed and the step was skipped (no parameter changed), true otherwise.
     */
    public boolean backward(Tensor loss) {
        if (loss.numel() != 1)
            throw new IllegalArgumentException("Lomo.backward: loss must be a scalar, got " + loss.shape());
        double scale = scaler == null ? 1 : scaler.scale();
        double coef = 1;
        try (var scope = MemoryScope.open()) {
            Tensor upstream = Tensor.full(loss.dtype(), scale, loss.shape(), loss.device());
            if (maxNorm > 0 || scaler != null) {
                double[] sq = {0};
                boolean[] overflow = {false};
                Autograd.backwardReleasing(
                        loss,
                        upstream,
                        (leaf, g) -> {
                            if (!params.containsKey(leaf) || overflow[0]) return;
                            double s = g.to(DType.F64).pow(2).sum().item();
                            if (!Double.isFinite(s)) overflow[0] = true;
                            else sq[0] += s;
                        },
                        true);
                if (scaler != null) scaler.update(overflow[0]);
                if (overflow[0]) {
                    skipped++;
                    lastNorm = Double.NaN;
                    return false;
                }
                lastNorm = Math.sqrt(sq[0]) / scale;
                if (maxNorm > 0) coef = Math.min(1, maxNorm / (lastNorm + 1e-6));
            }
            double stepLr = currentLr();
            double gradFactor = coef / scale;
            Autograd.backwardReleasing(loss, upstream, (leaf, g) -> apply(leaf, g, gradFactor, stepLr), true);
        }
        steps++;
        return true;
    }

    private void apply(Tensor leaf, Tensor g, double gradFactor, double stepLr) {
        if (!params.containsKey(leaf)) return; // a leaf this optimizer does not own: its gradient is discarded
        maxGradBytes = Math.max(maxGradBytes, g.storage().byteSize());
        // g may be shared with pending gradients: scaled and clipped into new tensors, never in place
        Tensor d = gradFactor != 1 ? g.mul(gradFactor) : g;
        if (clipValue > 0) d = (d == g ? g.copy() : d).clamp_(-clipValue, clipValue);
        if (weightDecay != 0) leaf.mul_(1 - stepLr * weightDecay); // p − lr·(d + wd·p) = p·(1 − lr·wd) − lr·d
        leaf.sub_(d, stepLr);
        leaf.zeroGrad();
    }

    /** The largest single gradient (bytes) delivered to the hook so far: LOMO's gradient footprint. */
    public long maxGradientBytes() {
        return maxGradBytes;
    }

    /** Updates applied (backward passes that were not skipped for overflow). */
    public long steps() {
        return steps;
    }

    /** Steps skipped because a loss-scaled gradient overflowed. */
    public long skippedSteps() {
        return skipped;
    }

    /** The global gradient norm (unscaled) the last step measured; NaN when it measured none or overflowed. */
    public double lastGradNorm() {
        return lastNorm;
    }
}
