package dev.panthera.models.io;

import static dev.panthera.models.io.FormatFuzz.len;
import static dev.panthera.models.io.FormatFuzz.num;
import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Work and memory a reader spends are bounded by what the file holds, and repeated calls do not repeat work. */
class WeightsBoundsTest {
    @TempDir
    Path dir;

    /**
     * Heap bytes still reachable from what {@code make} returns, measured as used heap after a full collection
     * (System.gc) before and after: coarse, but the cases here differ by hundreds of MiB.
     */
    static long retained(ThrowingSupplier make) throws Exception {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        Object kept = make.get();
        System.gc();
        long after = rt.totalMemory() - rt.freeMemory();
        java.lang.ref.Reference.reachabilityFence(kept);
        return after - before;
    }

    interface ThrowingSupplier {
        Object get() throws Exception;
    }

    @Test
    void packedDimsStopAtTheDimensionLimit() {
        // 400,000 one-byte dims: appending each to a copied array before checking the limit is quadratic (minutes)
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        byte[] ones = new byte[400_000];
        java.util.Arrays.fill(ones, (byte) 1);
        len(t, 1, ones);
        num(t, 2, 1);
        len(t, 8, "many".getBytes(StandardCharsets.UTF_8));
        byte[] file = OnnxWireTest.model(t.toByteArray());
        var e = assertTimeoutPreemptively(
                Duration.ofSeconds(3), () -> assertThrows(ModelFormatException.class, () -> OnnxWireTest.parse(file)));
        assertTrue(e.getMessage().contains("more than 16 dimensions"), e.getMessage());
    }

    @Test
    void emptyOnnxNodesCostNoHeapPerNode() throws Exception {
        byte[] nodes = new byte[8 << 20]; // 4M empty NodeProto fields (tag 0x0A, length 0)
        for (int i = 0; i < nodes.length; i += 2) nodes[i] = 0x0A;
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        num(m, 1, 7);
        len(m, 7, nodes);
        byte[] file = m.toByteArray();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(file.length);
            s.copyFrom(MemorySegment.ofArray(file));
            OnnxWeights[] w = new OnnxWeights[1];
            long bytes = retained(() -> w[0] = OnnxWeights.parse(s, Arena.ofConfined()));
            try (OnnxWeights onnx = w[0]) {
                assertTrue(bytes < 32 << 20, "8 MiB of empty nodes hold " + (bytes >> 20) + " MiB of heap");
                assertEquals(4 << 20, onnx.nodes().size());
                assertEquals("", onnx.nodes().get(123).name());
            }
        }
    }
}
