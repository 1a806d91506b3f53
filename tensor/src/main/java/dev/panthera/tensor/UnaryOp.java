package dev.panthera.tensor;

/** Elementwise functions of one tensor. Each backend implements all of them; gradients live in {@code Autograd}. */
public enum UnaryOp {
    NEG,
    EXP,
    LOG,
    SQRT,
    RSQRT,
    ABS,
    TANH,
    SIGMOID,
    RELU,
    /** GELU with the exact erf: x·Φ(x). */
    GELU_ERF,
    /** GELU's tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
    GELU_TANH,
    /** x·sigmoid(x). */
    SILU,
    /** The sign function (-1, 0, 1; NaN stays NaN). */
    SIGN;

    /** True for ops whose result is floating point even for integer input (PyTorch promotes those to float). */
    public boolean needsFloat() {
        return switch (this) {
            case NEG, ABS, RELU, SIGN -> false;
            case EXP, LOG, SQRT, RSQRT, TANH, SIGMOID, GELU_ERF, GELU_TANH, SILU -> true;
        };
    }
}
