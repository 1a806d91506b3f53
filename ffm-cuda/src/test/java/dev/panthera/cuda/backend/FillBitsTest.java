package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import org.junit.jupiter.api.Test;

/** The bit patterns fill_bits writes for each dtype (no GPU needed). */
class FillBitsTest {
    @Test
    void everyDtypeGetsTheReferenceBackendsBits() {
        assertEquals(Float.floatToRawIntBits(1.5f) & 0xFFFF_FFFFL, CudaBackend.fillBits(DType.F32, 1.5));
        assertEquals(Double.doubleToRawLongBits(-2.25), CudaBackend.fillBits(DType.F64, -2.25));
        assertEquals(0x3E00L, CudaBackend.fillBits(DType.F16, 1.5));
        assertEquals(0x3FC0L, CudaBackend.fillBits(DType.BF16, 1.5));
        assertEquals(0xFFFF_FFFDL, CudaBackend.fillBits(DType.I32, -3));
        assertEquals(-3L, CudaBackend.fillBits(DType.I64, -3));
        assertEquals(0xFDL, CudaBackend.fillBits(DType.I8, -3));
        assertEquals(200L, CudaBackend.fillBits(DType.U8, 200));
        assertEquals(1L, CudaBackend.fillBits(DType.BOOL, 1));
        assertEquals(0L, CudaBackend.fillBits(DType.BOOL, 0));
    }
}
