package dev.panthera.tensor;

/**
 * Elementwise functions of one tensor. Each backend implements all of them; gradients live in {@code Autograd}. The
 * CUDA kernels name each {@link #code()} as {@code #define UNARY_<NAME> <code>} (elementwise.cu).
 */
public enum UnaryOp {
    NEG(0),
    EXP(1),
    LOG(2),
    SQRT(3),
    RSQRT(4),
    ABS(5),
    TANH(6),
    SIGMOID(7),
    RELU(8),
    /** GELU with the exact erf: x·Φ(x). */
    GELU_ERF(9),
    /** GELU's tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
    GELU_TANH(10),
    /** x·sigmoid(x). */
    SILU(11),
    /** The sign function (-1, 0, 1; NaN stays NaN). */
    SIGN(12);

    private final int code;

    UnaryOp(int code) {
        this.code = code;
    }

    /**
     * A stable number for this op, what native kernels switch on. Codes are explicit, never {@code ordinal()}: a new
     * op takes an unused number and a removed op's number is never given to another op.
     */
    public int code() {
        return code;
    }

    /** True for ops whose result is floating point even for integer input (PyTorch promotes those to float). */
    public boolean needsFloat() {
        return switch (this) {
            case NEG, ABS, RELU, SIGN -> false;
            case EXP, LOG, SQRT, RSQRT, TANH, SIGMOID, GELU_ERF, GELU_TANH, SILU -> true;
        };
    }
}
