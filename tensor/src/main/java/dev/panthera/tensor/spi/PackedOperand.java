package dev.panthera.tensor.spi;

/**
 * A backend's private, pre-arranged form of a constant matmul operand (for a CPU GEMM: the weight already cut into
 * the panels its micro-kernel reads), made once by {@link Backend#packMatmulOperand} and kept beside the weight's
 * values in a {@link PackedStorage}. Opaque to tensor: only the backend that made it reads it.
 */
public interface PackedOperand {
    /** The memory this form takes in addition to the weight itself, in bytes. */
    long byteSize();
}
