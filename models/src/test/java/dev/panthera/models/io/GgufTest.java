package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.ggml.GgmlQuants;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GGUF reading and writing. The block formats themselves are tested in the quantization module (GgmlQuantsTest). */
class GgufTest {
    @TempDir
    Path dir;

    static final Random R = new Random(42);

    static float[] deq(GgmlType t, byte[] blocks, int n) {
        float[] out = new float[n];
        GgmlQuants.dequantize(t, MemorySegment.ofArray(blocks), MemorySegment.ofArray(out), n);
        return out;
    }

    @Test
    void writesAndReadsEveryValueTypeAndTensorType() throws Exception {
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", "llama")
                .putU32("general.alignment", 64)
                .put("u8", new GgufValue.U8(255))
                .put("i8", new GgufValue.I8((byte) -3))
                .put("u16", new GgufValue.U16(65535))
                .put("i16", new GgufValue.I16((short) -300))
                .put("u32", new GgufValue.U32(4_000_000_000L))
                .put("i32", new GgufValue.I32(-5))
                .put("f32", 1.25f)
                .put("b", new GgufValue.Bool(true))
                .put("u64", new GgufValue.U64(-1L))
                .put("i64", new GgufValue.I64(Long.MIN_VALUE))
                .put("f64", new GgufValue.F64(Math.PI))
                .put("s", "ünïcödé")
                .put(
                        "arr",
                        new GgufValue.Array(GgufValue.STRING, List.of(new GgufValue.Str("a"), new GgufValue.Str(""))))
                .put(
                        "nested",
                        new GgufValue.Array(
                                GgufValue.ARRAY,
                                List.of(new GgufValue.Array(GgufValue.INT32, List.of(new GgufValue.I32(7))))));
        float[] v = new float[64 * 3];
        for (int i = 0; i < v.length; i++) v[i] = (float) R.nextGaussian();
        w.tensor("f32", GgmlType.F32, new long[] {3, 64}, v)
                .tensor("f16", GgmlType.F16, new long[] {3, 64}, v)
                .tensor("q8", GgmlType.Q8_0, new long[] {3, 64}, v)
                .tensor("q4", GgmlType.Q4_0, new long[] {3, 64}, v);
        Path p = dir.resolve("t.gguf");
        w.write(p);
        try (GgufFile f = (GgufFile) Weights.open(p)) {
            assertEquals(3, f.version());
            assertEquals(64, f.alignment());
            assertEquals(0, f.dataOffset() % 64);
            assertEquals(new GgufValue.U32(4_000_000_000L), f.metadata().get("u32"));
            assertEquals(4_000_000_000L, f.metadata().get("u32").asLong());
            assertEquals(new GgufValue.I64(Long.MIN_VALUE), f.metadata().get("i64"));
            assertEquals("ünïcödé", f.metadata().get("s").asString());
            assertEquals(Math.PI, f.metadata().get("f64").asDouble());
            assertEquals(new GgufValue.Bool(true), f.metadata().get("b"));
            assertEquals(2, ((GgufValue.Array) f.metadata().get("arr")).values().size());
            assertEquals(
                    new GgufValue.I32(7),
                    ((GgufValue.Array) ((GgufValue.Array) f.metadata().get("nested"))
                                    .values()
                                    .get(0))
                            .values()
                            .get(0));
            assertEquals(List.of("f32", "f16", "q8", "q4"), f.names());
            assertArrayEquals(new long[] {64, 3}, f.info("q8").dims());
            assertArrayEquals(new long[] {3, 64}, f.shape("q8"));
            assertArrayEquals(v, f.tensor("f32").toFloatArray());
            Tensor h16 = f.tensor("f16");
            assertEquals(DType.F16, h16.dtype());
            for (int i = 0; i < v.length; i++)
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[i])), f.dequantize("f16")[i]);
            assertArrayEquals(
                    deq(GgmlType.Q8_0, GgmlQuants.quantize(GgmlType.Q8_0, v), v.length),
                    f.tensor("q8").toFloatArray());
            assertArrayEquals(deq(GgmlType.Q4_0, GgmlQuants.quantize(GgmlType.Q4_0, v), v.length), f.dequantize("q4"));
            assertEquals(3 * 2 * 18, f.rawBlocks("q4").byteSize());
            for (GgufFile.TensorInfo t : f.tensorInfos()) assertEquals(0, t.offset() % 64);
        }
    }

    /**
     * Arrays of every fixed-size numeric type come back element for element (they are read in one piece, each value
     * made when asked for), and {@link GgufFile#metadataString} finds a key written after arrays of every kind,
     * stepping over them without decoding.
     */
    @Test
    void numericArraysAndTheMetadataPeek() throws Exception {
        List<GgufValue.Array> arrays = List.of(
                new GgufValue.Array(
                        GgufValue.UINT8, List.of(new GgufValue.U8(0), new GgufValue.U8(255), new GgufValue.U8(7))),
                new GgufValue.Array(GgufValue.INT8, List.of(new GgufValue.I8((byte) -3), new GgufValue.I8((byte) 127))),
                new GgufValue.Array(GgufValue.UINT16, List.of(new GgufValue.U16(65535), new GgufValue.U16(1))),
                new GgufValue.Array(GgufValue.INT16, List.of(new GgufValue.I16((short) -300))),
                new GgufValue.Array(GgufValue.UINT32, List.of(new GgufValue.U32(4_000_000_000L), new GgufValue.U32(0))),
                new GgufValue.Array(
                        GgufValue.INT32,
                        List.of(new GgufValue.I32(-5), new GgufValue.I32(Integer.MAX_VALUE), new GgufValue.I32(3))),
                new GgufValue.Array(
                        GgufValue.FLOAT32,
                        List.of(new GgufValue.F32(1.25f), new GgufValue.F32(-0f), new GgufValue.F32(Float.NaN))),
                new GgufValue.Array(GgufValue.UINT64, List.of(new GgufValue.U64(-1L))),
                new GgufValue.Array(GgufValue.INT64, List.of(new GgufValue.I64(Long.MIN_VALUE), new GgufValue.I64(9))),
                new GgufValue.Array(GgufValue.FLOAT64, List.of(new GgufValue.F64(Math.PI))),
                new GgufValue.Array(GgufValue.FLOAT32, List.of()),
                new GgufValue.Array(GgufValue.BOOL, List.of(new GgufValue.Bool(true), new GgufValue.Bool(false))),
                new GgufValue.Array(GgufValue.STRING, List.of(new GgufValue.Str("▁ü"), new GgufValue.Str(""))),
                new GgufValue.Array(
                        GgufValue.ARRAY,
                        List.of(new GgufValue.Array(GgufValue.INT16, List.of(new GgufValue.I16((short) 2))))));
        GgufWriter w = new GgufWriter();
        for (int i = 0; i < arrays.size(); i++) w.put("a" + i, arrays.get(i));
        w.put("n", new GgufValue.U32(5)).put("general.architecture", "llama"); // written last
        Path p = dir.resolve("arrays.gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            for (int i = 0; i < arrays.size(); i++) {
                GgufValue.Array a = (GgufValue.Array) f.metadata().get("a" + i);
                assertEquals(arrays.get(i), a, "a" + i);
                assertEquals(arrays.get(i).values(), a.values(), "a" + i);
                assertThrows(
                        UnsupportedOperationException.class, () -> a.values().add(new GgufValue.I32(1)));
                assertThrows(
                        IndexOutOfBoundsException.class,
                        () -> a.values().get(a.values().size()));
            }
            GgufValue.Array f32 = (GgufValue.Array) f.metadata().get("a6");
            assertArrayEquals(new float[] {1.25f, -0f, Float.NaN}, f32.toFloatArray());
            assertArrayEquals(
                    new int[] {-5, Integer.MAX_VALUE, 3},
                    ((GgufValue.Array) f.metadata().get("a5")).toIntArray());
            assertThrows(IllegalStateException.class, f32::toIntArray);
            assertThrows(IllegalStateException.class, () -> arrays.get(5).toFloatArray());
            assertArrayEquals(new float[] {1.25f, -0f, Float.NaN}, arrays.get(6).toFloatArray()); // a list in memory
        }
        assertEquals("llama", GgufFile.metadataString(p, "general.architecture"));
        assertNull(GgufFile.metadataString(p, "n")); // not a string
        assertNull(GgufFile.metadataString(p, "absent"));
        byte[] whole = java.nio.file.Files.readAllBytes(p);
        // cut inside a8's values (INT64, from byte 309) and inside a12's first string length (from byte 439)
        for (int[] at : new int[][] {{315, 8}, {440, 12}}) {
            Path cut = dir.resolve("cut" + at[0] + ".gguf");
            java.nio.file.Files.write(cut, java.util.Arrays.copyOf(whole, at[0]));
            ModelFormatException e = assertThrows(
                    ModelFormatException.class, () -> GgufFile.metadataString(cut, "general.architecture"));
            assertTrue(e.getMessage().contains("metadata 'a" + at[1] + "'"), e.getMessage());
        }
    }

    static byte[] minimal(int typeId, long ne0, long offset, long extra) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(GgufFile.MAGIC).putInt(3).putLong(1).putLong(0);
        b.putLong(1).put((byte) 'w').putInt(1).putLong(ne0).putInt(typeId).putLong(offset);
        int pos = b.position();
        int data = (pos + 31) / 32 * 32;
        o.write(b.array(), 0, data);
        o.writeBytes(new byte[(int) (4 * 32 + extra)]);
        return o.toByteArray();
    }

    static ModelFormatException reject(byte[] file) {
        try (Arena a = Arena.ofConfined()) {
            return assertThrows(
                    ModelFormatException.class,
                    () -> GgufFile.parse(MemorySegment.ofArray(file), a).close());
        }
    }

    @Test
    void hostileHeadersNameTheField() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            GgufFile.parse(MemorySegment.ofArray(minimal(0, 32, 0, 0)), a); // the valid base case
        }
        assertTrue(reject(minimal(0, 33, 0, 0)).getMessage().contains("size"));
        assertTrue(reject(minimal(0, 32, 32, 0)).getMessage().contains("size"));
        assertTrue(reject(minimal(0, 32, 8, 0)).getMessage().contains("offset"));
        assertTrue(reject(minimal(99, 32, 0, 0)).getMessage().contains("type"));
        assertTrue(reject(minimal(8, 31, 0, 0)).getMessage().contains("ne[0]"));
        assertTrue(reject(minimal(0, -1, 0, 0)).getMessage().contains("ne[0]"));
        assertTrue(reject(minimal(0, 1L << 40, 0, 0)).getMessage().contains("size"));
        byte[] m = minimal(0, 32, 0, 0);
        m[0] = 'X';
        assertTrue(reject(m).getMessage().contains("magic"));
        m = minimal(0, 32, 0, 0);
        m[4] = 1;
        assertTrue(reject(m).getMessage().contains("version"));
        m = minimal(0, 32, 0, 0);
        ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putLong(8, Long.MAX_VALUE);
        assertTrue(reject(m).getMessage().contains("tensor_count"));
        m = minimal(0, 32, 0, 0);
        ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putLong(24, 1L << 40); // name length
        assertTrue(reject(m).getMessage().contains("name"));
        m = minimal(0, 32, 0, 0);
        m[32] = (byte) 0xFF; // name byte: invalid UTF-8
        assertTrue(reject(m).getMessage().contains("UTF-8"));
        m = minimal(0, 32, 0, 0);
        reject(java.util.Arrays.copyOf(m, 40));
        // an array length within the file's bytes but above the metadata value limit (heap amplification)
        ByteBuffer big = ByteBuffer.allocate(24 + 8 + 1 + 4 + 4 + 8 + (int) GgufFile.MAX_METADATA_VALUES + 1)
                .order(ByteOrder.LITTLE_ENDIAN);
        big.putInt(GgufFile.MAGIC)
                .putInt(3)
                .putLong(0)
                .putLong(1)
                .putLong(1)
                .put((byte) 'k')
                .putInt(GgufValue.ARRAY)
                .putInt(GgufValue.UINT8)
                .putLong(GgufFile.MAX_METADATA_VALUES + 1);
        assertTrue(reject(big.array()).getMessage().contains("metadata limit"));
        // two tensors overlapping
        GgufWriter w = new GgufWriter()
                .tensor("a", GgmlType.F32, new long[] {32}, new float[32])
                .tensor("b", GgmlType.F32, new long[] {32}, new float[32]);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        w.write(o);
        byte[] two = o.toByteArray();
        ByteBuffer bb = ByteBuffer.wrap(two).order(ByteOrder.LITTLE_ENDIAN);
        int bOffsetAt = 24 + (8 + 1 + 4 + 8 + 4 + 8) + (8 + 1 + 4 + 8 + 4);
        assertEquals(128, bb.getLong(bOffsetAt));
        bb.putLong(bOffsetAt, 96);
        assertTrue(reject(two).getMessage().contains("overlaps"));
    }
}
