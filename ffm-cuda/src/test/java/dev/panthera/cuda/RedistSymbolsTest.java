package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every function the cudart and NVRTC bindings declare is exported by the real CUDA 13.3 libraries from Maven
 * Central, and the version calls that need no device answer. cuBLAS, cuBLASLt and cuDNN are too large for every
 * build: {@link CudaLibrarySymbolsTest} checks them in the cuda-symbols profile.
 */
class RedistSymbolsTest {
    @Test
    void cudartExportsEveryBoundSymbolAndReportsItsVersionWithoutADevice() throws Exception {
        Path dir = RedistLibraries.unpack("libcudart.so.13");
        try (Arena arena = Arena.ofShared()) {
            Cudart rt = new Cudart(RedistLibraries.open(CudaLibrary.CUDART, dir.resolve("libcudart.so.13"), arena));
            assertEquals(List.of(), RedistLibraries.missing(rt));
            assertEquals(13030, rt.runtimeVersion());
            assertTrue(rt.driverVersion() >= 0);
        }
    }

    @Test
    void nvrtcExportsEveryBoundSymbol() throws Exception {
        Path dir = RedistLibraries.unpack("libnvrtc.so.13", "libnvrtc-builtins.so.13.3");
        try (Arena arena = Arena.ofShared()) {
            Nvrtc nvrtc = new Nvrtc(RedistLibraries.open(CudaLibrary.NVRTC, dir.resolve("libnvrtc.so.13"), arena));
            assertEquals(List.of(), RedistLibraries.missing(nvrtc));
            assertEquals("13.3", nvrtc.versionString());
        }
    }
}
