package dev.panthera.nn.optim;

/**
 * Dynamic loss scaling for 16-bit training (Micikevicius et al., "Mixed Precision Training", arXiv 1710.03740; the
 * rule of torch.amp.GradScaler and of the Megatron/DeepSpeed scaler LOMO uses): the loss is multiplied by
 * {@link #scale()} so small gradients survive 16-bit, and the gradients are divided by it before the update. A step
 * whose scaled gradients overflowed (a non-finite value) is skipped and the scale is divided by {@code factor} (not
 * below {@code minScale}); after {@code window} consecutive steps without overflow it is multiplied by {@code factor}.
 */
public final class DynamicLossScaler {
    private final double factor;
    private final long window;
    private final double minScale;
    private double scale;
    private long goodSteps;

    /** Scale starts at {@code initScale}; torch's defaults are 2^16, factor 2, window 2000. */
    public DynamicLossScaler(double initScale, double factor, long window, double minScale) {
        if (!(initScale > 0) || Double.isInfinite(initScale))
            throw new IllegalArgumentException(
                    "DynamicLossScaler: initial scale must be finite and > 0, got " + initScale);
        if (!(factor > 1)) throw new IllegalArgumentException("DynamicLossScaler: factor must be > 1, got " + factor);
        if (window < 1) throw new IllegalArgumentException("DynamicLossScaler: window must be >= 1, got " + window);
        if (!(minScale > 0) || minScale > initScale)
            throw new IllegalArgumentException(
                    "DynamicLossScaler: min scale must be in (0, initScale], got " + minScale + " for " + initScale);
        this.scale = initScale;
        this.factor = factor;
        this.window = window;
        this.minScale = minScale;
    }

    /** torch.amp.GradScaler's defaults: 2^16, ×2 / ÷2, growth after 2000 good steps; min scale 1. */
    public DynamicLossScaler() {
        this(65536, 2, 2000, 1);
    }

    /** The factor the loss (the upstream gradient) is multiplied by in the next step. */
    public double scale() {
        return scale;
    }

    /** Records one step's outcome: an overflow lowers the scale, {@code window} good steps in a row raise it. */
    public void update(boolean overflow) {
        if (overflow) {
            scale = Math.max(scale / factor, minScale);
            goodSteps = 0;
        } else if (++goodSteps == window) {
            scale *= factor;
            goodSteps = 0;
        }
    }
}
