package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Reading an empty view whose offset lies past its empty storage gives an empty array. Found by panthera-testing's
 * arbitraries (a stepped [1, 0] view of a [2, 0] storage: offset 1 row, storage of no elements).
 */
class EmptyViewToArrayTest {
    @Test
    void anEmptySteppedViewReadsAsNoValues() {
        Tensor v = Tensor.of(new float[0], 2, 0).slice(0, 1, 2, 2);
        assertEquals(2, v.rank());
        assertEquals(0, v.toFloatArray().length);
        assertEquals(0, v.contiguous().toFloatArray().length);
        assertEquals(0, v.toDoubleArray().length);
        assertEquals(0, v.to(DType.BF16).toFloatArray().length);
    }
}
