package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.cuda.CudaException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    /** cudart and the driver share these numbers; each leaves the context unusable for the rest of the process. */
    @ParameterizedTest
    @ValueSource(ints = {700, 702, 710, 714, 715, 716, 717, 718, 719, 999})
    void everyStickyContextFaultPoisonsTheBackend(int code) {
        assertTrue(fault("cudart", code), "cudart " + code);
        assertTrue(fault("cuda", code), "driver " + code);
    }

    /** cuDNN 9's execution failures, each naming the library underneath that failed. */
    @ParameterizedTest
    @ValueSource(ints = {5000, 5001, 5002, 5003, 5004})
    void cudnnExecutionFailuresPoisonTheBackend(int code) {
        assertTrue(fault("cudnn", code), "cudnn " + code);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 98, 209, 701, 720})
    void recoverableCudartErrorsDoNot(int code) { // invalid value, OOM, invalid device function, no binary, resources
        assertFalse(fault("cudart", code), "cudart " + code);
    }

    @ParameterizedTest
    @ValueSource(ints = {2000, 3000, 4000, 5005})
    void cudnnUsageErrorsDoNot(int code) { // bad param, not supported, internal error, an unknown execution sub-code
        assertFalse(fault("cudnn", code), "cudnn " + code);
    }
}
