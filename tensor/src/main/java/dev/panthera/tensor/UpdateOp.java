package dev.panthera.tensor;

/**
 * Fused in-place updates of a tensor {@code x} from operands a, b and a scalar v, as optimizers use them (PyTorch's
 * {@code add_(a, alpha)}, {@code addcmul_}, {@code addcdiv_}, {@code lerp_}): one pass over x, no temporaries.
 */
public enum UpdateOp {
    /** x ← x + v·a (b unused). */
    ADD_SCALED,
    /** x ← x + v·a·b. */
    ADDCMUL,
    /** x ← x + v·a/b. */
    ADDCDIV,
    /** x ← x + v·(a − x), as PyTorch computes it: a − (a − x)·(1 − v) when v ≥ 0.5 (b unused). */
    LERP;

    /** The update of one element in float64. */
    public double apply(double x, double a, double b, double v) {
        return switch (this) {
            case ADD_SCALED -> x + v * a;
            case ADDCMUL -> x + v * a * b;
            case ADDCDIV -> x + v * a / b;
            case LERP -> Math.abs(v) < 0.5 ? x + v * (a - x) : a - (a - x) * (1 - v);
        };
    }

    /** Whether operand b takes part. */
    public boolean usesB() {
        return this == ADDCMUL || this == ADDCDIV;
    }
}
