package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The same op on the same input gives the same bits before and after the JIT compiles its kernel. A child JVM runs
 * the ops interpreted only ({@code -Xint}: the Vector API's Java fallback for every vector operation) and prints the
 * bits of each result; this JVM runs them after a warm-up that gets the kernels compiled by C2 (the intrinsics) and
 * compares. Covers the lane reductions (row sums, norms, dots: {@link LaneSum}) and exp/tanh ({@link VectorMath}),
 * which with {@code reduceLanes(ADD)} and the Vector API's EXP/TANH differed by an ulp between the two paths.
 */
class TierDeterminismTest {
    /** Prints one line per op: its name and the hash of its result's float bits. */
    public static final class Probe {
        public static void main(String[] args) {
            for (var e : results(1).entrySet()) System.out.println(e.getKey() + "=" + e.getValue());
        }
    }

    /** The ops' results as hashes of their bits, after running each {@code rounds} times. */
    static Map<String, Integer> results(int rounds) {
        if (!Backends.forDevice(Device.CPU).name().equals("simd"))
            throw new IllegalStateException("the simd backend must serve, not "
                    + Backends.forDevice(Device.CPU).name());
        Tensor x = Tensor.randn(Shape.of(13, 389), 3).mul(3).add(1);
        Tensor w = Tensor.randn(Shape.of(389), 4), b = Tensor.randn(Shape.of(389), 5);
        Tensor v = Tensor.randn(Shape.of(389), 6);
        Map<String, Integer> out = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            out.put("sum", hash(x.sum(new int[] {1}, false)));
            out.put("layerNorm", hash(x.layerNorm(w, b, 1e-5)));
            out.put("rmsNorm", hash(x.rmsNorm(w, 1e-5)));
            out.put("softmax", hash(x.softmax(-1)));
            out.put("exp", hash(x.exp()));
            out.put("tanh", hash(x.tanh()));
            out.put("sigmoid", hash(x.sigmoid()));
            out.put("gemv", hash(x.matmul(v)));
        }
        return out;
    }

    private static int hash(Tensor t) {
        return java.util.Arrays.hashCode(t.toFloatArray());
    }

    @Test
    void interpretedAndCompiledKernelsGiveTheSameBits() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java")
                        .toString(),
                "-Xint",
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED"));
        for (String flag : ProcessHandle.current().info().arguments().orElse(new String[0])) {
            if (flag.startsWith("-XX:UseAVX") || flag.startsWith("-Dpanthera.simd")) cmd.add(flag);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Probe.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "interpreted probe JVM did not finish");
        assertEquals(0, p.exitValue(), "probe failed:\n" + out);

        Map<String, Integer> compiled = results(3000);
        for (var e : compiled.entrySet()) {
            assertTrue(
                    out.contains(e.getKey() + "=" + e.getValue() + "\n"),
                    e.getKey() + ": compiled result (bits hash " + e.getValue()
                            + ") differs from the interpreted one:\n" + out);
        }
    }
}
