package dev.panthera.models.io;

import static dev.panthera.models.io.FormatFuzz.len;
import static dev.panthera.models.io.FormatFuzz.num;
import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
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
     * Heap bytes this thread allocates while running {@code r}, from the JDK's per-thread allocation counter
     * ({@code com.sun.management.ThreadMXBean}, reached reflectively: the tests compile as part of a module that
     * does not read java.management).
     */
    static long allocated(ThrowingRunnable r) throws Exception {
        Object mx = Class.forName("java.lang.management.ManagementFactory")
                .getMethod("getThreadMXBean")
                .invoke(null);
        var counter = Class.forName("com.sun.management.ThreadMXBean").getMethod("getThreadAllocatedBytes", long.class);
        long id = Thread.currentThread().threadId();
        long before = (long) counter.invoke(mx, id);
        r.run();
        return (long) counter.invoke(mx, id) - before;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
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
}
