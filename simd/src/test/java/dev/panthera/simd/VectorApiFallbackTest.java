package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A consumer's JVM without {@code --add-modules jdk.incubator.vector}: a child process on this test class path
 * selects the CPU backend, and the warning naming the flag appears on its stderr exactly once while the reference
 * backend serves.
 */
class VectorApiFallbackTest {
    @TempDir
    Path dir;

    /** Selects the CPU backend twice over, asks the provider again, and runs one op; prints the serving backend. */
    public static final class Probe {
        public static void main(String[] args) {
            String first = Backends.forDevice(Device.CPU).name();
            List<String> available = Backends.available();
            boolean again = new SimdBackendProvider().isAvailable();
            double sum = Tensor.of(new float[] {1, 2, 3}).sum().item();
            System.out.println("backend=" + first + " available=" + available + " again=" + again + " sum=" + sum);
        }
    }

    @Test
    void withoutTheFlagOneWarningOnStderrAndTheReferenceBackendServes() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(
                List.of(java.toString(), "-cp", System.getProperty("java.class.path"), Probe.class.getName()));
        Path errFile = dir.resolve("stderr.txt");
        Process p = new ProcessBuilder(cmd).redirectError(errFile.toFile()).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe JVM did not finish");
        String err = Files.readString(errFile);
        assertEquals(0, p.exitValue(), "probe JVM failed:\n" + out + err);

        assertFalse(
                ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty(),
                "this test JVM itself runs with the Vector API; only the child runs without");
        assertTrue(out.contains("backend=reference "), "reference backend should serve:\n" + out);
        assertTrue(out.contains("available=[reference (CPU)]"), out);
        assertTrue(out.contains("again=false sum=6.0"), out);
        long lines = err.lines()
                .filter(l -> l.contains(SimdBackendProvider.MISSING_VECTOR_API))
                .count();
        assertEquals(1, lines, "the warning should appear once on stderr:\n" + err);
        assertTrue(err.lines().anyMatch(l -> l.equals("WARNING: " + SimdBackendProvider.MISSING_VECTOR_API)), err);
        assertTrue(SimdBackendProvider.MISSING_VECTOR_API.contains("--add-modules jdk.incubator.vector"));
    }
}
