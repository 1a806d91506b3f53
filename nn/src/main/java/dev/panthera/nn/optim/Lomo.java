package dev.panthera.nn.optim;

import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * LOMO (Lv et al., arXiv 2306.09782): SGD fused into backward. {@link #backward(Tensor)} runs autograd with a leaf hook
 * that applies p ← p − lr·(g + wd·p) as soon as a parameter's gradient is complete and then drops that gradient, so no
 * full set of gradients ever exists and no optimizer state is kept. Gradient-norm clipping, which needs every gradient
 * first, is not offered (the paper does it with a second backward pass); element-wise clipping is.
 */
public final class Lomo {
    private final Map<Tensor, Boolean> params = new IdentityHashMap<>();
    private final double lr;
    private final double weightDecay;
    private final double clipValue;
    private long maxGradBytes;
    private long steps;

    /** {@code clipValue} ≤ 0 disables element-wise clipping of gradients to [-clip, clip]. */
    public Lomo(List<Tensor> params, double lr, double weightDecay, double clipValue) {
        if (params.isEmpty()) throw new IllegalArgumentException("Lomo: no parameters to optimize");
        for (Tensor p : params) this.params.put(p, Boolean.TRUE);
        this.lr = lr;
        this.weightDecay = weightDecay;
        this.clipValue = clipValue;
    }

    public Lomo(List<Tensor> params, double lr) {
        this(params, lr, 0, 0);
    }

    /** Backward from the scalar {@code loss}, updating each parameter as its gradient completes. */
    public void backward(Tensor loss) {
        if (loss.numel() != 1)
            throw new IllegalArgumentException("Lomo.backward: loss must be a scalar, got " + loss.shape());
        steps++;
        Autograd.backward(loss, Tensor.onesLike(loss), this::onGradient);
    }

    private void onGradient(Tensor leaf, Tensor g) {
        if (!params.containsKey(leaf)) return; // a leaf this optimizer does not own: its gradient is discarded
        maxGradBytes = Math.max(maxGradBytes, g.storage().byteSize());
        // g may be shared with other parts of the graph: clipped into a copy, never in place
        Tensor d = clipValue > 0 ? g.copy().clamp_(-clipValue, clipValue) : g;
        if (weightDecay != 0) leaf.mul_(1 - lr * weightDecay); // p − lr·(d + wd·p) = p·(1 − lr·wd) − lr·d
        leaf.sub_(d, lr);
        leaf.zeroGrad();
    }

    /** The largest single gradient (bytes) delivered to the hook so far: LOMO's gradient footprint. */
    public long maxGradientBytes() {
        return maxGradBytes;
    }

    /** Backward passes run. */
    public long steps() {
        return steps;
    }
}
