package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The real runtime on this machine: loads, names errors itself, and reports NO_DRIVER where there is no driver. */
class CudartProbeTest {
    private static boolean cudartPresent() {
        return CudaLibraries.isLoadable(CudaLibrary.CUDART);
    }

    @Test
    void probeReportsNoDriverOnAMachineWithoutADriver() {
        assumeTrue(cudartPresent(), "libcudart.so.13/12 not found: the NO_DRIVER probe needs the CUDA runtime");
        assumeTrue(
                !CudaLibraries.isLoadable(CudaLibrary.DRIVER),
                "a driver (libcuda.so.1) is installed: this test is for CPU machines");
        CudaProbe.Result r = CudaProbe.probe();
        assertEquals(CudaProbe.Status.NO_DRIVER, r.status(), r.reason());
        // cudaGetDeviceCount returns cudaErrorInsufficientDriver (35) there, as REFERENCES.md records
        assertTrue(r.reason().contains("35") && r.reason().contains("cudaErrorInsufficientDriver"), r.reason());
        assertEquals(0, r.deviceCount());
    }

    @Test
    void nonZeroStatusBecomesAnExceptionWithTheRuntimesNameAndMessage() {
        assumeTrue(cudartPresent(), "libcudart not found");
        assumeTrue(!CudaLibraries.isLoadable(CudaLibrary.DRIVER), "a driver is installed");
        CudaException e = assertThrows(CudaException.class, () -> Cudart.get().deviceCount());
        assertEquals("cudart", e.library());
        assertEquals("cudaGetDeviceCount", e.function());
        assertEquals(35, e.code());
        assertEquals("cudaErrorInsufficientDriver", e.codeName());
        assertNotNull(e.libraryMessage());
        assertTrue(e.libraryMessage().toLowerCase().contains("driver"), e.libraryMessage());
    }

    @Test
    void runtimeNamesAgreeWithOurTable() {
        assumeTrue(cudartPresent(), "libcudart not found");
        Cudart rt = Cudart.get();
        for (var entry : StatusNames.CUDART.entrySet()) {
            CudaException e = rt.error("f", entry.getKey());
            assertEquals(entry.getValue(), e.codeName(), "cudaGetErrorName(" + entry.getKey() + ")");
        }
    }

    @Test
    void aMissingSymbolFailsOnlyWhenCalledAndNamesIt() {
        assumeTrue(cudartPresent(), "libcudart not found");
        NativeLibrary lib = CudaLibraries.get(CudaLibrary.CUDART);
        NativeFunction f = lib.function("cudaNoSuchFunction_v9", FunctionDescriptor.of(ValueLayout.JAVA_INT));
        assertFalse(f.isPresent());
        CudaException e = assertThrows(CudaException.class, f::callInt);
        assertEquals(CudaException.SYMBOL_NOT_FOUND, e.code());
        assertTrue(e.getMessage().contains("cudaNoSuchFunction_v9"), e.getMessage());
        assertTrue(lib.function("cudaMallocAsync", FunctionDescriptor.of(ValueLayout.JAVA_INT))
                .isPresent());
    }

    @Test
    void classifyMapsEveryStatusToAVerdict() {
        assertEquals(CudaProbe.Status.OK, CudaProbe.classify(0, 2, "x", null).status());
        assertEquals(
                CudaProbe.Status.NO_DEVICE, CudaProbe.classify(0, 0, "x", null).status());
        assertEquals(
                CudaProbe.Status.NO_DEVICE,
                CudaProbe.classify(100, 0, "x", "no device").status());
        assertEquals(
                CudaProbe.Status.NO_DRIVER,
                CudaProbe.classify(35, 0, "x", "insufficient").status());
        assertEquals(
                CudaProbe.Status.NO_DRIVER,
                CudaProbe.classify(34, 0, "x", "stub").status());
    }

    @Test
    void librariesAbsentHereFailWithNoLibraryNamingWhatWasTried() {
        assumeTrue(!CudaLibraries.isLoadable(CudaLibrary.CUBLAS), "cuBLAS is installed here");
        CudaException e = assertThrows(CudaException.class, Cublas::get);
        assertEquals(CudaException.NO_LIBRARY, e.code());
        assertTrue(
                e.getMessage().contains("libcublas.so.13") && e.getMessage().contains("panthera.cuda.cublas.path"),
                e.getMessage());
    }
}
