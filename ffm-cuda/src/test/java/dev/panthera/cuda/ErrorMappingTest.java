package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/**
 * Status → exception mapping of each binding. The cuBLAS/cuDNN/NVRTC/driver bindings are built here over
 * libcudart (which exports none of their functions): construction binds nothing, and check() must still name
 * the status from our table and the function, falling back cleanly when the library's message function is missing.
 */
class ErrorMappingTest {
    private static NativeLibrary cudart() {
        assumeTrue(
                CudaLibraries.isLoadable(CudaLibrary.CUDART), "libcudart not found: bindings cannot be built over it");
        return CudaLibraries.get(CudaLibrary.CUDART);
    }

    @Test
    void cublasStatus() {
        CudaException e = assertThrows(CudaException.class, () -> new Cublas(cudart()).check("cublasGemmEx", 15));
        assertEquals("cublas", e.library());
        assertEquals("cublasGemmEx", e.function());
        assertEquals(15, e.code());
        assertEquals("CUBLAS_STATUS_NOT_SUPPORTED", e.codeName());
        assertTrue(
                e.getMessage().contains("cublasGemmEx") && e.getMessage().contains("CUBLAS_STATUS_NOT_SUPPORTED"),
                e.getMessage());
        assertDoesNotThrow(() -> new Cublas(cudart()).check("cublasGemmEx", 0));
    }

    @Test
    void cudnnStatus() {
        CudaException e =
                assertThrows(CudaException.class, () -> new Cudnn(cudart()).check("cudnnSoftmaxForward", 2000));
        assertEquals("CUDNN_STATUS_BAD_PARAM", e.codeName());
        assertEquals("cudnnSoftmaxForward", e.function());
    }

    @Test
    void nvrtcStatusCarriesTheCompileLog() {
        CudaException e = assertThrows(
                CudaException.class,
                () -> new Nvrtc(cudart())
                        .check("nvrtcCompileProgram", 6, "kernel.cu(3): error: identifier \"x\" is undefined"));
        assertEquals("NVRTC_ERROR_COMPILATION", e.codeName());
        assertTrue(e.getMessage().contains("identifier \"x\" is undefined"), e.getMessage());
    }

    @Test
    void driverStatus() {
        CudaException e =
                assertThrows(CudaException.class, () -> new CudaDriver(cudart()).check("cuLaunchKernel", 700));
        assertEquals("CUDA_ERROR_ILLEGAL_ADDRESS", e.codeName());
        assertEquals("cuda", e.library());
    }

    @Test
    void unknownCodesStillProduceANamedException() {
        CudaException e = assertThrows(CudaException.class, () -> new Cublas(cudart()).check("cublasSgemm_v2", 4242));
        assertEquals("UNKNOWN_STATUS_4242", e.codeName());
    }
}
