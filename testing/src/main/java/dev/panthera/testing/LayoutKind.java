package dev.panthera.testing;

/**
 * How a drawn tensor's elements sit in its storage. Listed simplest first: layouts shrink toward
 * {@link #CONTIGUOUS}.
 */
public enum LayoutKind {
    /** Row-major, dense, offset 0. */
    CONTIGUOUS,
    /** A transpose of two dimensions of a dense storage (strides out of order). */
    TRANSPOSED,
    /** Every k-th element along one dimension (k = 2 or 3), starting at element k − 1. */
    STEPPED,
    /** A narrowed view of a larger storage: a non-zero offset and a row stride larger than the row. */
    OFFSET,
    /** Some dimensions expanded from size 1: stride 0, the same element read repeatedly. */
    BROADCAST
}
