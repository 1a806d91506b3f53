package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.cuda.backend.CudaBackend.SoftmaxPath;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import org.junit.jupiter.api.Test;

/** Which implementation serves a softmax, with and without cuDNN (pure Java; no GPU needed). */
class SoftmaxPathTest {
    private static SoftmaxPath path(boolean cudnn, DType t, Shape s, int dim) {
        long outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= s.dim(i);
        for (int i = dim + 1; i < s.rank(); i++) inner *= s.dim(i);
        return CudaBackend.softmaxPath(cudnn, t, outer, s.dim(dim), inner, s, dim);
    }

    @Test
    void cudnnServesEveryFloatSoftmaxWhenPresent() {
        assertEquals(SoftmaxPath.CUDNN, path(true, DType.F32, Shape.of(3, 4), 0));
        assertEquals(SoftmaxPath.CUDNN, path(true, DType.BF16, Shape.of(3, 4), 1));
    }

    @Test
    void withoutCudnnTheLastDimF32GoesToTheRowKernel() {
        assertEquals(SoftmaxPath.KERNEL_F32_LAST, path(false, DType.F32, Shape.of(3, 4), 1));
    }

    @Test
    void withoutCudnnAnyDimAndAnyFloatTypeGoesToTheStridedKernel() {
        assertEquals(SoftmaxPath.KERNEL_STRIDED, path(false, DType.F32, Shape.of(3, 4), 0));
        assertEquals(SoftmaxPath.KERNEL_STRIDED, path(false, DType.F32, Shape.of(2, 3, 4), 1));
        for (DType t : new DType[] {DType.F16, DType.BF16, DType.F64}) {
            assertEquals(SoftmaxPath.KERNEL_STRIDED, path(false, t, Shape.of(3, 4), 1), t.toString());
            assertEquals(SoftmaxPath.KERNEL_STRIDED, path(false, t, Shape.of(3, 4), 0), t.toString());
        }
    }

    @Test
    void beyondCudnnsIntRangeTheKernelsTakeOver() {
        long big = 1L << 31;
        assertEquals(
                SoftmaxPath.KERNEL_F32_LAST, CudaBackend.softmaxPath(true, DType.F32, big, 2, 1, Shape.of(big, 2), 1));
    }

    @Test
    void nonFloatTypesAreRefusedClearly() {
        var e = assertThrows(UnsupportedOperationException.class, () -> path(false, DType.I32, Shape.of(3, 4), 1));
        assertTrue(e.getMessage().contains("I32"), e.getMessage());
    }
}
