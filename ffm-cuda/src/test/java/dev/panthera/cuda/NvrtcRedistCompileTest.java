package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The real NVRTC (from {@code org.bytedeco:cuda-redist}, a test dependency) compiles every kernel family to CUBIN for
 * every target architecture with exactly the backend's options; no GPU needed. NVRTC is opened by absolute path from
 * the unpacked folder, so its builtins must come from that folder too (LibraryLocator's companions).
 */
class NvrtcRedistCompileTest {
    private static Arena arena;
    private static Nvrtc nvrtc;

    @BeforeAll
    static void load() throws IOException {
        Path file = RedistLibraries.unpack("libnvrtc.so.13", "libnvrtc-builtins.so.13.3")
                .resolve("libnvrtc.so.13");
        assertEquals(
                List.of(file.resolveSibling("libnvrtc-builtins.so.13.3")),
                LibraryLocator.companions(CudaLibrary.NVRTC, file));
        arena = Arena.ofShared();
        nvrtc = new Nvrtc(RedistLibraries.open(CudaLibrary.NVRTC, file, arena));
    }

    @AfterAll
    static void unload() {
        if (arena != null) arena.close();
    }

    @Test
    void isNvrtc13() {
        assertTrue(nvrtc.versionString().startsWith("13."), nvrtc.versionString());
    }

    static List<String> families() {
        return KernelSources.FAMILIES;
    }

    @ParameterizedTest
    @MethodSource("families")
    void compilesForEveryTargetArchitecture(String family) {
        // architectures compile in parallel (NVRTC programs are independent): the check takes half the time
        List<String> failed = KernelSources.TARGET_ARCHS.parallelStream()
                .map(arch -> compileProblem(family, arch))
                .filter(p -> p != null)
                .toList();
        assertEquals(List.of(), failed, family);
    }

    /** Null when {@code family} compiles for {@code arch} to a CUBIN holding every entry point, else what failed. */
    private static String compileProblem(String family, String arch) {
        try {
            byte[] cubin = nvrtc.compile(
                    family + ".cu", KernelSources.source(family), KernelSources.compileOptions(arch), false);
            if (cubin.length < 4 || cubin[0] != 0x7f || cubin[1] != 'E') return arch + ": not an ELF CUBIN";
            String text = new String(cubin, java.nio.charset.StandardCharsets.ISO_8859_1);
            for (String entry : KernelSources.entryPoints(family))
                if (!text.contains(entry)) return arch + ": no symbol " + entry;
            return null;
        } catch (CudaException e) {
            return arch + ": " + e.getMessage();
        }
    }

    @Test
    void aCompileErrorCarriesNvrtcsLog() {
        var e = assertThrows(
                CudaException.class,
                () -> nvrtc.compile("bad.cu", "extern \"C\" __global__ void k() { undeclared(); }", List.of(), false));
        assertTrue(e.getMessage().contains("undeclared"), e.getMessage());
    }
}
