package dev.panthera.tensor;

/** Elementwise functions of two broadcast tensors. Comparisons produce {@link DType#BOOL}. */
public enum BinaryOp {
    ADD,
    SUB,
    MUL,
    DIV,
    POW,
    MAXIMUM,
    MINIMUM,
    EQ,
    NE,
    LT,
    LE,
    GT,
    GE;

    /** True for the comparisons. */
    public boolean isComparison() {
        return switch (this) {
            case EQ, NE, LT, LE, GT, GE -> true;
            case ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM -> false;
        };
    }
}
