package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.cuda.CudaException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A cuDNN that loads but cannot give a handle leaves the backend running on its own kernels (no GPU needed). */
class CudnnFallbackTest {
    private static final MemorySegment HANDLE = MemorySegment.ofAddress(0x1234);

    private static CudaException status(String fn, int code, String name) {
        return new CudaException("cudnn", fn, code, name, null);
    }

    @Test
    void absentCudnnGivesNoHandle() {
        MemorySegment h = CudaBackend.openCudnn(
                false, () -> fail("create called without cuDNN"), x -> fail("bind"), x -> fail("destroy"));
        assertEquals(MemorySegment.NULL, h);
    }

    @Test
    void aHandleThatCannotBeCreatedFallsBackToTheKernels() {
        MemorySegment h = CudaBackend.openCudnn(
                true,
                () -> {
                    throw status("cudnnCreate", 1008, "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED");
                },
                x -> fail("bind without a handle"),
                x -> fail("destroy without a handle"));
        assertEquals(MemorySegment.NULL, h);
    }

    @Test
    void missingSymbolsFallBackToo() {
        MemorySegment h = CudaBackend.openCudnn(
                true,
                () -> {
                    throw new CudaException("cudnn", "cudnnCreate", CudaException.SYMBOL_NOT_FOUND, "X", null);
                },
                x -> {},
                x -> {});
        assertEquals(MemorySegment.NULL, h);
    }

    @Test
    void aHandleThatCannotTakeTheStreamIsDestroyedAndLeftOut() {
        List<MemorySegment> destroyed = new ArrayList<>();
        MemorySegment h = CudaBackend.openCudnn(
                true,
                () -> HANDLE,
                x -> {
                    throw status("cudnnSetStream", 2000, "CUDNN_STATUS_BAD_PARAM");
                },
                destroyed::add);
        assertEquals(MemorySegment.NULL, h);
        assertEquals(List.of(HANDLE), destroyed);
    }

    @Test
    void aWorkingCudnnIsUsed() {
        List<MemorySegment> bound = new ArrayList<>();
        assertEquals(HANDLE, CudaBackend.openCudnn(true, () -> HANDLE, bound::add, x -> fail("destroy")));
        assertEquals(List.of(HANDLE), bound);
    }

    @Test
    void aDeviceFaultIsNotHidden() {
        assertThrows(
                CudaException.class,
                () -> CudaBackend.openCudnn(
                        true,
                        () -> {
                            throw status("cudnnCreate", 5003, "CUDNN_STATUS_EXECUTION_FAILED_CUDART");
                        },
                        x -> {},
                        x -> {}));
    }
}
