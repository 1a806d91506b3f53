package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against the reference implementation (the Python {@code safetensors} package, Rust core, with numpy), run as a
 * separate process when it is installed: a file it writes is read here with the values its formulas define, and
 * written back by our writer byte for byte; a file we write is loaded by it with the same values.
 */
class SafetensorsReferenceTest {
    @TempDir
    Path dir;

    static String python(String script) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder("python3", "-c", script)
                    .redirectErrorStream(true)
                    .start();
        } catch (java.io.IOException e) {
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) return "FAILED: " + out;
        return out;
    }

    static final String GEN = """
            import numpy as np
            from safetensors.numpy import save_file
            i = lambda n: np.arange(n)
            d = {"w.f64": (i(6) * 0.25 - 1).reshape(2, 3).astype(np.float64), "w.f32": (i(12) * 0.5 - 3).reshape(3, 4).astype(np.float32),
                 "w.f16": (i(5) * 0.125).astype(np.float16), "n.i64": (i(4) * 1000000007 - 5).astype(np.int64),
                 "n.i32": (i(7) * 3 - 10).astype(np.int32), "n.i8": (i(9) * 29 - 128).astype(np.int8), "n.u8": (i(3) * 100).astype(np.uint8),
                 "m.bool": (i(5) % 2 == 0), "s.scalar": np.array(2.5, dtype=np.float32), "e.empty": np.zeros((0, 3), dtype=np.float32)}
            save_file(d, "OUT_PATH", metadata={"format": "np", "note": "ünï"})
            """;

    @Test
    void referenceWrittenFileReadsAndRewritesByteForByte() throws Exception {
        Assumptions.assumeTrue(
                "ok\n".equals(python("import safetensors.numpy, numpy; print('ok')")),
                "skipped: python3 with the safetensors and numpy packages is not installed");
        Path ref = dir.resolve("ref.safetensors");
        String out = python(GEN.replace("OUT_PATH", ref.toString()));
        assertEquals("", out, "reference writer");
        try (SafetensorsFile f = SafetensorsFile.open(ref)) {
            assertEquals(Map.of("format", "np", "note", "ünï"), f.metadata());
            assertEquals(DType.F64, f.entry("w.f64").dtype());
            double[] f64 = f.bytes("w.f64").toArray(ValueLayout.JAVA_DOUBLE_UNALIGNED);
            for (int k = 0; k < 6; k++) assertEquals(k * 0.25 - 1, f64[k]);
            assertArrayEquals(new long[] {3, 4}, f.shape("w.f32"));
            float[] f32 = f.tensor("w.f32").toFloatArray();
            for (int k = 0; k < 12; k++) assertEquals(k * 0.5f - 3, f32[k]);
            short[] f16 = f.bytes("w.f16").toArray(ValueLayout.JAVA_SHORT_UNALIGNED);
            for (int k = 0; k < 5; k++) assertEquals(k * 0.125f, Float.float16ToFloat(f16[k]));
            long[] i64 = f.bytes("n.i64").toArray(ValueLayout.JAVA_LONG_UNALIGNED);
            for (int k = 0; k < 4; k++) assertEquals(k * 1000000007L - 5, i64[k]);
            int[] i32 = f.bytes("n.i32").toArray(ValueLayout.JAVA_INT_UNALIGNED);
            for (int k = 0; k < 7; k++) assertEquals(k * 3 - 10, i32[k]);
            byte[] i8 = f.bytes("n.i8").toArray(ValueLayout.JAVA_BYTE);
            for (int k = 0; k < 9; k++) assertEquals((byte) (k * 29 - 128), i8[k]);
            assertArrayEquals(new byte[] {0, 100, (byte) 200}, f.bytes("n.u8").toArray(ValueLayout.JAVA_BYTE));
            assertEquals(DType.BOOL, f.entry("m.bool").dtype());
            assertArrayEquals(new byte[] {1, 0, 1, 0, 1}, f.bytes("m.bool").toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(new long[0], f.shape("s.scalar"));
            assertEquals(2.5f, f.tensor("s.scalar").toFloatArray()[0]);
            assertArrayEquals(new long[] {0, 3}, f.shape("e.empty"));
            List<SafetensorsWriter.Item> items = new ArrayList<>();
            for (SafetensorsFile.Entry e : f.entries())
                items.add(new SafetensorsWriter.Item(e.name(), e.dtype(), e.shape(), f.bytes(e.name())));
            Path ours = dir.resolve("ours.safetensors");
            SafetensorsWriter.write(ours, f.metadata(), items);
            assertArrayEquals(
                    Files.readAllBytes(ref), Files.readAllBytes(ours), "our writer reproduces the reference file");
        }
    }

    @Test
    void referenceReadsWhatWeWrite() throws Exception {
        Assumptions.assumeTrue(
                "ok\n".equals(python("import safetensors.numpy, numpy; print('ok')")),
                "skipped: python3 with the safetensors and numpy packages is not installed");
        Map<String, SafetensorsWriter.Item> items = new LinkedHashMap<>();
        float[] f = new float[10];
        for (int k = 0; k < f.length; k++) f[k] = k * 0.75f - 2;
        ByteBuffer b = ByteBuffer.allocate(8 * 3)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(-9)
                .putLong(1L << 40)
                .putLong(7);
        items.put("a", new SafetensorsWriter.Item("a", DType.F32, new long[] {2, 5}, MemorySegment.ofArray(f)));
        items.put("b", new SafetensorsWriter.Item("b", DType.I64, new long[] {3}, MemorySegment.ofArray(b.array())));
        items.put(
                "c",
                new SafetensorsWriter.Item(
                        "c", DType.U8, new long[] {1, 1, 2}, MemorySegment.ofArray(new byte[] {3, (byte) 250})));
        Path p = dir.resolve("ours.safetensors");
        SafetensorsWriter.write(p, Map.of("k", "v"), List.copyOf(items.values()));
        String out = python("""
                from safetensors.numpy import load_file
                from safetensors import safe_open
                d = load_file("%s")
                with safe_open("%s", framework="np") as f: m = f.metadata()
                for k in sorted(d): print(k, d[k].dtype, list(d[k].shape), d[k].reshape(-1).tolist())
                print(m)
                """.formatted(p, p));
        assertEquals("""
                a float32 [2, 5] [-2.0, -1.25, -0.5, 0.25, 1.0, 1.75, 2.5, 3.25, 4.0, 4.75]
                b int64 [3] [-9, 1099511627776, 7]
                c uint8 [1, 1, 2] [3, 250]
                {'k': 'v'}
                """, out);
    }
}
