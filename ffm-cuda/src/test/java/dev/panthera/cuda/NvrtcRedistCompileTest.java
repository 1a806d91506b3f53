package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
    private static final String PREFIX = "org/bytedeco/cuda/linux-x86_64/";
    private static Arena arena;
    private static Nvrtc nvrtc;

    /** Unpacks NVRTC and its builtins once per build into target/cuda-redist (reused while the sizes match). */
    static Path unpackNvrtc() throws IOException {
        Path dir = Path.of("target", "cuda-redist").toAbsolutePath();
        Files.createDirectories(dir);
        Path nvrtcFile = null;
        for (String name : List.of("libnvrtc.so.13", "libnvrtc-builtins.so.13.3")) {
            URL url = NvrtcRedistCompileTest.class.getClassLoader().getResource(PREFIX + name);
            assertNotNull(url, "org.bytedeco:cuda-redist on the test classpath has no " + PREFIX + name);
            Path out = dir.resolve(name);
            long size = url.openConnection().getContentLengthLong();
            if (!Files.exists(out) || Files.size(out) != size) {
                Path tmp = Files.createTempFile(dir, name, ".part");
                try (InputStream in = url.openStream()) {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                }
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            if (name.startsWith("libnvrtc.so")) nvrtcFile = out;
        }
        return nvrtcFile;
    }

    @BeforeAll
    static void load() throws IOException {
        Path file = unpackNvrtc();
        assertEquals(
                List.of(file.resolveSibling("libnvrtc-builtins.so.13.3")),
                LibraryLocator.companions(CudaLibrary.NVRTC, file));
        arena = Arena.ofShared();
        Path nothing = file.resolveSibling("none");
        var env = new LibraryLocator.Environment(
                Map.of(CudaLibrary.NVRTC.propertyName(), file.toString()), Map.of(), nothing, nothing, nothing);
        NativeLibrary lib = NativeLibrary.load(CudaLibrary.NVRTC, env, arena);
        assertEquals(file.toString(), lib.source());
        nvrtc = new Nvrtc(lib);
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
        List<String> failed = new ArrayList<>();
        for (String arch : KernelSources.TARGET_ARCHS) {
            try {
                byte[] cubin = nvrtc.compile(
                        family + ".cu", KernelSources.source(family), KernelSources.compileOptions(arch), false);
                assertTrue(cubin.length > 4 && cubin[0] == 0x7f && cubin[1] == 'E', family + " " + arch + ": not ELF");
                String text = new String(cubin, java.nio.charset.StandardCharsets.ISO_8859_1);
                for (String entry : KernelSources.entryPoints(family))
                    assertTrue(text.contains(entry), family + " " + arch + ": no symbol " + entry);
            } catch (CudaException e) {
                failed.add(arch + ": " + e.getMessage());
            }
        }
        assertEquals(List.of(), failed, family);
    }

    @Test
    void aCompileErrorCarriesNvrtcsLog() {
        var e = assertThrows(
                CudaException.class,
                () -> nvrtc.compile("bad.cu", "extern \"C\" __global__ void k() { undeclared(); }", List.of(), false));
        assertTrue(e.getMessage().contains("undeclared"), e.getMessage());
    }
}
