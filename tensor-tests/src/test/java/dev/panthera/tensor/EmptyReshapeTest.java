package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * An empty tensor takes any shape of no elements as a view, whatever its strides. Found by the simd backend's
 * conformance property: a batched matmul of a [1, 2, 0] operand with strides [2, 1, 1] flattened it to [2, 0] with
 * reshape, whose view of the contiguous copy was refused ("cannot be viewed as [2, 0]").
 */
class EmptyReshapeTest {
    @Test
    void anEmptyViewWithAnyStridesReshapes() {
        Tensor e = Tensor.zeros(DType.F32, Shape.of(2, 3, 4)).narrow(2, 1, 0); // [2, 3, 0], strides [12, 4, 1]
        assertEquals(Shape.of(6, 0), e.reshape(6, 0).shape());
        assertEquals(Shape.of(0), e.reshape(-1).shape());
        assertEquals(Shape.of(3, 0, 2), e.view(3, 0, 2).shape());
        assertEquals(Shape.of(2, 0), e.narrow(0, 0, 1).contiguous().view(2, 0).shape());
    }

    @Test
    void aBatchedMatmulWithAnEmptyInnerDimensionIsZeros() {
        Tensor a = Tensor.zeros(DType.F32, Shape.of(1, 2, 3)).narrow(2, 0, 0); // [1, 2, 0]
        Tensor b = Tensor.zeros(DType.F32, Shape.of(0, 5));
        Tensor y = a.matmul(b);
        assertEquals(Shape.of(1, 2, 5), y.shape());
        assertArrayEquals(new float[10], y.toFloatArray());
    }
}
