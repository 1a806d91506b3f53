package dev.panthera.tensor;

/** Reductions over a set of dimensions. ARGMAX/ARGMIN reduce one dimension and produce {@link DType#I64}. */
public enum ReduceOp {
    SUM,
    MAX,
    MIN,
    ARGMAX,
    ARGMIN
}
