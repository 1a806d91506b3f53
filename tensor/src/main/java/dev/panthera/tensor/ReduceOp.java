package dev.panthera.tensor;

/**
 * Reductions over a set of dimensions. ARGMAX/ARGMIN reduce one dimension and produce {@link DType#I64}. The CUDA
 * kernels name each {@link #code()} as {@code #define REDUCE_<NAME> <code>} (reductions.cu).
 */
public enum ReduceOp {
    SUM(0),
    MAX(1),
    MIN(2),
    ARGMAX(3),
    ARGMIN(4);

    private final int code;

    ReduceOp(int code) {
        this.code = code;
    }

    /**
     * A stable number for this op, what native kernels switch on. Codes are explicit, never {@code ordinal()}: a new
     * op takes an unused number and a removed op's number is never given to another op.
     */
    public int code() {
        return code;
    }
}
