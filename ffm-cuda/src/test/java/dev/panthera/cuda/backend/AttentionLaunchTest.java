package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.cuda.KernelSources;
import org.junit.jupiter.api.Test;

/** The attention kernel's launch shape: no key-length limit, a clear error past its head-dim limit (no GPU). */
class AttentionLaunchTest {
    @Test
    void sharedMemoryDependsOnTheHeadDimOnly() {
        assertEquals(4L * 4 * 128, CudaBackend.attentionSharedBytes(128));
        assertEquals(4L * 4 * 3072, CudaBackend.attentionSharedBytes(3072));
        var e = assertThrows(UnsupportedOperationException.class, () -> CudaBackend.attentionSharedBytes(3073));
        assertTrue(e.getMessage().contains("3073"), e.getMessage());
    }

    @Test
    void theKernelAndTheLaunchAgreeOnTheWarpsPerBlock() {
        String src = KernelSources.source("attention");
        assertTrue(src.contains("#define ATT_WARPS " + CudaBackend.ATTENTION_WARPS + "\n"), "ATT_WARPS differs");
    }
}
