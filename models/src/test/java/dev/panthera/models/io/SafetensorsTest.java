package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
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
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    /** A file written by hand from the format definition (8-byte LE length, JSON, data), independent of the writer. */
    static byte[] handMade(String json, byte[] data) {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    @Test
    void readsHandMadeFileZeroCopy() throws Exception {
        byte[] data = new byte[24 + 8];
        System.arraycopy(floats(1, 2, 3, 4, 5, 6), 0, data, 0, 24);
        ByteBuffer.wrap(data, 24, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(-7L);
        // header length 96 (a multiple of 8) keeps the data 8-aligned in the mapping
        String json =
                "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                        + "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[24,32]}}";
        json = json + " ".repeat((8 - json.length() % 8) % 8);
        Path p = dir.resolve("a.safetensors");
        Files.write(p, handMade(json, data));
        Tensor held;
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(List.of("w", "i"), f.names());
            Tensor w = f.tensor("w");
            assertArrayEquals(new long[] {2, 3}, w.dims());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, w.toFloatArray());
            assertEquals(
                    f.bytes("w").address(), w.storage().segment().address(), "F32 at an aligned offset is not copied");
            assertEquals(DType.I64, f.tensor("i").dtype());
            assertEquals(-7L, f.bytes("i").get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
            held = w;
        }
        Tensor after = held;
        assertThrows(
                IllegalStateException.class, after::toFloatArray, "a tensor outlives its mapping only as an error");
    }

    @Test
    void unalignedSliceIsCopiedNotMisread() throws Exception {
        String json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"; // 53 bytes: data at 61
        assertNotEquals(0, (8 + json.length()) % 4);
        Path p = dir.resolve("u.safetensors");
        Files.write(p, handMade(json, floats(1.5f, -2f)));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[] {1.5f, -2f}, f.tensor("w").toFloatArray());
        }
    }

    static List<SafetensorsWriter.Item> allDtypes(Arena arena, Random r) {
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        int k = 0;
        for (DType t : DType.values()) {
            long[] shape = {1 + r.nextInt(5), 1 + r.nextInt(7)};
            MemorySegment s = arena.allocate(shape[0] * shape[1] * t.byteSize());
            for (long i = 0; i < s.byteSize(); i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt());
            if (t == DType.BOOL)
                for (long i = 0; i < s.byteSize(); i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) (i % 2));
            items.add(new SafetensorsWriter.Item("t" + k++ + "." + t, t, shape, s));
        }
        return items;
    }

    @Test
    void writeReadWriteIsByteForByte() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            List<SafetensorsWriter.Item> items = allDtypes(arena, new Random(1));
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("note", "quote \" backslash \\ unicode é 猫");
            Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
            SafetensorsWriter.write(a, meta, items);
            assertEquals(
                    0,
                    (Files.readAllBytes(a).length
                                    - items.stream()
                                            .mapToLong(i -> i.bytes().byteSize())
                                            .sum())
                            % 8);
            try (SafetensorsFile f = SafetensorsFile.open(a)) {
                assertEquals(meta, f.metadata());
                List<SafetensorsWriter.Item> again = new ArrayList<>();
                for (SafetensorsFile.Entry e : f.entries()) {
                    again.add(new SafetensorsWriter.Item(e.name(), e.dtype(), e.shape(), f.bytes(e.name())));
                    SafetensorsWriter.Item orig = items.stream()
                            .filter(i -> i.name().equals(e.name()))
                            .findFirst()
                            .orElseThrow();
                    assertEquals(orig.dtype(), e.dtype());
                    assertArrayEquals(orig.shape(), e.shape());
                    assertEquals(-1, orig.bytes().mismatch(f.bytes(e.name())), e.name());
                    assertEquals(orig.dtype(), f.tensor(e.name()).dtype());
                }
                SafetensorsWriter.write(b, f.metadata(), again);
            }
            assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        }
    }

    @Test
    void shardedCheckpointThroughIndex() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = MemorySegment.ofArray(floats(1, 2)), y = MemorySegment.ofArray(floats(3, 4, 5));
            SafetensorsWriter.write(
                    dir.resolve("model-00001-of-00002.safetensors"),
                    Map.of(),
                    List.of(new SafetensorsWriter.Item("a", DType.F32, new long[] {2}, x)));
            SafetensorsWriter.write(
                    dir.resolve("model-00002-of-00002.safetensors"),
                    Map.of(),
                    List.of(new SafetensorsWriter.Item("b", DType.F32, new long[] {3}, y)));
            Files.writeString(
                    dir.resolve("model.safetensors.index.json"),
                    "{\"metadata\":{\"total_size\":20},\"weight_map\":"
                            + "{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}");
            try (Weights w = Weights.open(dir)) {
                assertEquals(List.of("a", "b"), w.names());
                assertArrayEquals(new float[] {3, 4, 5}, w.tensor("b").toFloatArray());
                assertEquals("20", ((ShardedSafetensors) w).metadata().get("total_size"));
            }
            Files.writeString(dir.resolve("bad.index.json"), "{\"weight_map\":{\"a\":\"../etc/passwd\"}}");
            var e = assertThrows(
                    ModelFormatException.class, () -> ShardedSafetensors.open(dir.resolve("bad.index.json")));
            assertTrue(e.getMessage().contains("weight_map.a"), e.getMessage());
            Files.writeString(
                    dir.resolve("bad2.index.json"), "{\"weight_map\":{\"c\":\"model-00001-of-00002.safetensors\"}}");
            assertThrows(ModelFormatException.class, () -> ShardedSafetensors.open(dir.resolve("bad2.index.json")));
        }
    }

    static ModelFormatException reject(byte[] file) {
        try (Arena a = Arena.ofConfined()) {
            return assertThrows(
                    ModelFormatException.class,
                    () -> SafetensorsFile.parse(MemorySegment.ofArray(file), a).close());
        }
    }

    @Test
    void hostileHeadersNameTheField() {
        byte[] d8 = floats(1, 2);
        String ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        // header length larger than the file / absurd (100 GB)
        byte[] big = handMade(ok, d8);
        ByteBuffer.wrap(big).order(ByteOrder.LITTLE_ENDIAN).putLong(100L << 30);
        assertTrue(reject(big).getMessage().contains("header length"));
        assertTrue(reject(new byte[5]).getMessage().contains("header length"));
        assertTrue(
                reject(handMade(ok.replace("[0,8]", "[0,16]"), d8)).getMessage().contains("w"));
        assertTrue(
                reject(handMade(ok.replace("F32", "F8_E4M3"), d8)).getMessage().contains("w.dtype"));
        assertTrue(reject(handMade(ok.replace("[2]", "[-2]"), d8)).getMessage().contains("w.shape"));
        assertTrue(reject(handMade(ok.replace("[2]", "[4611686018427387904,4]"), d8))
                .getMessage()
                .contains("w"));
        assertTrue(
                reject(handMade(ok.replace("[0,8]", "[8,0]"), d8)).getMessage().contains("data_offsets"));
        assertTrue(
                reject(handMade(ok, floats(1, 2, 3))).getMessage().contains("data_offsets"),
                "trailing bytes not covered");
        String overlap =
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        assertTrue(reject(handMade(overlap, d8)).getMessage().contains("data_offsets"));
        assertTrue(reject(handMade("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", d8))
                .getMessage()
                .contains("header"));
        assertTrue(reject(handMade("[1,2]", d8)).getMessage().contains("header"));
        byte[] badUtf8 = handMade("{\"w\u00e9\":1}", d8);
        badUtf8[10] = (byte) 0xC3;
        badUtf8[11] = (byte) 0x28;
        assertTrue(reject(badUtf8).getMessage().contains("UTF-8"));
        String dup =
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        assertTrue(reject(handMade(dup, d8)).getMessage().contains("header"));
        String deep = "{\"__metadata__\":" + "{\"a\":".repeat(50) + "1" + "}".repeat(51);
        reject(handMade(deep, new byte[0]));
        byte[] full = handMade(ok, d8);
        reject(java.util.Arrays.copyOf(full, full.length - 1));
        assertTrue(reject(handMade("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", d8))
                .getMessage()
                .contains("needs dtype, shape and data_offsets"));
        // the element count fits in a long, the byte count does not
        assertTrue(reject(handMade(ok.replace("F32", "F64").replace("[2]", "[2305843009213693952]"), d8))
                .getMessage()
                .contains("more than 2^63"));
    }

    /**
     * Written by the reference implementation (Python safetensors 0.8.0, numpy 2.4.6):
     * {@code save_file({"w": np.arange(6, dtype=np.float32).reshape(2,3)/3, "d": np.array([1.25, -3.5]),
     * "h": np.array([0.1, 2.0], dtype=np.float16)}, "p.safetensors", metadata={"format": "pt"})}, then base64.
     * Pinned here so the check runs where Python is absent ({@code SafetensorsReferenceTest} runs the package live).
     */
    static final String PYTHON_FILE =
            "yAAAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJwdCJ9LCJkIjp7ImR0eXBlIjoiRjY0Iiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbMCwxNl19LCJ3Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyLDNdLCJkYXRhX29mZnNldHMiOlsxNiw0MF19LCJoIjp7ImR0eXBlIjoiRjE2Iiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbNDAsNDRdfX0gIAAAAAAAAPQ/AAAAAAAADMAAAAAAq6qqPquqKj8AAIA/q6qqP1VV1T9mLgBA";

    @Test
    void readsAFileWrittenByThePythonPackage() throws Exception {
        byte[] bytes = java.util.Base64.getDecoder().decode(PYTHON_FILE);
        Arena a = Arena.ofConfined(); // the file owns it from here and closes it
        try (SafetensorsFile f = SafetensorsFile.parse(a.allocateFrom(ValueLayout.JAVA_BYTE, bytes), a)) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(List.of("d", "w", "h"), f.names());
            assertArrayEquals(new long[] {2, 3}, f.shape("w"));
            assertArrayEquals(
                    new float[] {0, 1 / 3f, 2 / 3f, 1, 4 / 3f, 5 / 3f},
                    f.tensor("w").toFloatArray());
            assertArrayEquals(new double[] {1.25, -3.5}, f.tensor("d").toDoubleArray());
            assertEquals(DType.F16, f.tensor("h").dtype());
            assertArrayEquals(
                    new float[] {Float.float16ToFloat(Float.floatToFloat16(0.1f)), 2f},
                    f.tensor("h").toFloatArray());
        }
    }

    @Test
    void writerRejectsWrongByteCount() {
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> SafetensorsWriter.write(
                        new ByteArrayOutputStream(),
                        Map.of(),
                        List.of(new SafetensorsWriter.Item(
                                "w", DType.F32, new long[] {3}, MemorySegment.ofArray(new byte[8])))));
        assertTrue(e.getMessage().contains("'w'"));
    }

    @Test
    void writesTensorsAndOpensThroughWeights() throws Exception {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Path p = dir.resolve("t.safetensors");
        SafetensorsWriter.write(
                p,
                Map.of(),
                List.of(SafetensorsWriter.Item.of("a", a), SafetensorsWriter.Item.of("row", a.select(0, 1))));
        try (Weights w = Weights.open(p)) {
            assertInstanceOf(SafetensorsFile.class, w);
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, w.tensor("a").toFloatArray());
            assertArrayEquals(new float[] {4, 5, 6}, w.tensor("row").toFloatArray(), "a view at a non-zero offset");
        }
        var e = assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.Item.of("t", a.transpose(0, 1)));
        assertTrue(e.getMessage().contains("non-contiguous"));
    }
}
