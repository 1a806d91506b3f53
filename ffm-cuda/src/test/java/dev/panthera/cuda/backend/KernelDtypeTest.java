package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import org.junit.jupiter.api.Test;

/** Which kernels take which dtypes (no GPU needed). */
class KernelDtypeTest {
    @Test
    void allF32OperandsUseTheF32KernelsHalfTypesTheFloatKernels() {
        assertTrue(CudaBackend.allF32("unary", DType.F32, DType.F32));
        assertTrue(CudaBackend.allF32("rmsNorm", DType.F32, null, DType.F32));
        assertFalse(CudaBackend.allF32("unary", DType.BF16, DType.BF16));
        assertFalse(CudaBackend.allF32("binary", DType.F32, DType.F16, DType.F32));
        assertFalse(CudaBackend.allF32("layerNorm", DType.BF16, DType.F32, null, DType.BF16));
    }

    @Test
    void otherDtypesAreRefusedByName() {
        for (DType t : new DType[] {DType.F64, DType.I32, DType.I64, DType.U8, DType.BOOL}) {
            var e = assertThrows(UnsupportedOperationException.class, () -> CudaBackend.allF32("unary EXP", t));
            assertTrue(e.getMessage().contains(t.toString()) && e.getMessage().contains("unary EXP"), e.getMessage());
        }
    }

    @Test
    void kernelTypeCodesAreTheDtypeIds() {
        for (DType t : new DType[] {DType.F32, DType.F64, DType.F16, DType.BF16})
            assertEquals(t.id(), CudaBackend.floatCode(t), t.toString());
        assertEquals(-1, CudaBackend.floatCode(DType.I32));
    }
}
