package dev.panthera.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kernel resource compiles with the CUDA toolkit's nvcc to PTX (the same front end NVRTC uses), with no
 * system headers, and defines the entry points the backend launches. Skipped with a message where nvcc is absent.
 */
class KernelSourcesCompileTest {
    @TempDir
    Path dir;

    static List<String> families() {
        return KernelSources.FAMILIES;
    }

    private static String nvcc() {
        for (String c : new String[] {
            System.getenv("CUDA_HOME") == null ? null : System.getenv("CUDA_HOME") + "/bin/nvcc",
            "/usr/local/cuda/bin/nvcc",
            "/usr/local/bin/nvcc"
        }) {
            if (c != null && Files.isExecutable(Path.of(c))) return c;
        }
        return null;
    }

    @ParameterizedTest
    @MethodSource("families")
    void compilesToPtxWithItsEntryPoints(String family) throws Exception {
        String nvcc = nvcc();
        assumeTrue(
                nvcc != null,
                "nvcc not found in $CUDA_HOME/bin, /usr/local/cuda/bin or /usr/local/bin: kernel compile check skipped");
        Path src = Files.writeString(dir.resolve(family + ".cu"), KernelSources.source(family));
        Path ptx = dir.resolve(family + ".ptx");
        Process p = new ProcessBuilder(nvcc, "--ptx", "-arch=sm_80", "-o", ptx.toString(), src.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "nvcc timed out");
        assertEquals(0, p.exitValue(), "nvcc failed on " + family + ":\n" + out);
        String text = Files.readString(ptx);
        List<String> entries = KernelSources.entryPoints(family);
        assertFalse(entries.isEmpty(), family + " defines no kernels");
        for (String e : entries) assertTrue(text.contains(".entry " + e + "("), family + ": no PTX entry for " + e);
    }
}
