package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.cuda.CudaException;
import org.junit.jupiter.api.Test;

/** Which failures put the CUDA backend into its failed state (sticky context faults) and which do not. */
class DeviceFaultTest {
    private static boolean fault(String lib, int code) {
        return CudaBackend.isDeviceFault(new CudaException(lib, "f", code, "X", null));
    }

    @Test
    void stickyFaultsPoisonTheBackendOrdinaryErrorsDoNot() {
        assertTrue(fault("cudart", 700)); // cudaErrorIllegalAddress
        assertTrue(fault("cuda", 719)); // CUDA_ERROR_LAUNCH_FAILED
        assertTrue(fault("cudart", 710)); // cudaErrorAssert
        assertTrue(fault("cublas", 13)); // CUBLAS_STATUS_EXECUTION_FAILED
        assertTrue(fault("cudnn", 5000)); // CUDNN_STATUS_EXECUTION_FAILED
        assertFalse(fault("cudart", 2)); // out of memory: the caller may free and retry
        assertFalse(fault("cublas", 15)); // not supported
        assertFalse(fault("cublas", 700)); // 700 means nothing to cuBLAS
        assertFalse(fault("nvrtc", 6)); // a compile error
    }
}
