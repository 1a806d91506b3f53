package dev.panthera.tensor;

/**
 * Elementwise functions of two broadcast tensors. Comparisons produce {@link DType#BOOL}. The CUDA kernels name each
 * {@link #code()} as {@code #define BINARY_<NAME> <code>} (elementwise.cu).
 */
public enum BinaryOp {
    ADD(0),
    SUB(1),
    MUL(2),
    DIV(3),
    POW(4),
    MAXIMUM(5),
    MINIMUM(6),
    EQ(7),
    NE(8),
    LT(9),
    LE(10),
    GT(11),
    GE(12);

    private final int code;

    BinaryOp(int code) {
        this.code = code;
    }

    /**
     * A stable number for this op, what native kernels switch on. Codes are explicit, never {@code ordinal()}: a new
     * op takes an unused number and a removed op's number is never given to another op.
     */
    public int code() {
        return code;
    }

    /** True for the comparisons. */
    public boolean isComparison() {
        return switch (this) {
            case EQ, NE, LT, LE, GT, GE -> true;
            case ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM -> false;
        };
    }
}
