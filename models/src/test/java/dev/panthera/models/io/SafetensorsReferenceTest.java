package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against the reference implementation (the Python {@code safetensors} package, Rust core, with numpy): the files in
 * resources/safetensors were written by it (models/src/test/python/safetensors_fixtures.py). reference.safetensors is
 * read here with the values the script's formulas define and written back by our writer byte for byte;
 * abc.safetensors holds tensors this test builds itself, and our writer must produce exactly its bytes, so the
 * reference reads what we write.
 */
class SafetensorsReferenceTest {
    @TempDir
    Path dir;

    /** A fixture copied out of the test class path into a file (the reader maps files). */
    private Path fixture(String name) throws Exception {
        try (var in = SafetensorsReferenceTest.class.getResourceAsStream("/safetensors/" + name)) {
            assertNotNull(in, "test resource /safetensors/" + name);
            Path p = dir.resolve(name);
            Files.write(p, in.readAllBytes());
            return p;
        }
    }

    @Test
    void referenceWrittenFileReadsAndRewritesByteForByte() throws Exception {
        Path ref = fixture("reference.safetensors");
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
    void ourWriterProducesTheReferenceBytes() throws Exception {
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
        // save_file lays tensors out by dtype size, largest first, then by name; our writer keeps the caller's order
        List<SafetensorsWriter.Item> referenceOrder = List.of(items.get("b"), items.get("a"), items.get("c"));
        SafetensorsWriter.write(p, Map.of("k", "v"), referenceOrder);
        assertArrayEquals(Files.readAllBytes(fixture("abc.safetensors")), Files.readAllBytes(p), "reference bytes");
    }
}
