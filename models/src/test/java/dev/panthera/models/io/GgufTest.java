package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

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

/**
 * GGUF reading and writing. Expected dequantized values come from float64 loops written here from the block
 * definitions in ggml-common.h / ggml-quants.c (the blocks are built from chosen quants and scales with the packing
 * of the reference quantizers, so the test does not reuse the reader's unpacking).
 */
class GgufTest {
    @TempDir
    Path dir;

    static final Random R = new Random(42);

    static short h(double v) {
        return Float.floatToFloat16((float) v);
    }

    static double hf(short s) {
        return Float.float16ToFloat(s);
    }

    static float[] deq(GgmlType t, byte[] blocks, int n) {
        float[] out = new float[n];
        GgmlQuants.dequantize(t, MemorySegment.ofArray(blocks), MemorySegment.ofArray(out), n);
        return out;
    }

    static void close(double[] want, float[] got, double[] scale) {
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-6 * scale[i] + 1e-30, "element " + i);
        }
    }

    @Test
    void blockLayoutsHaveGgmlByteSizes() {
        assertEquals(34, GgmlType.Q8_0.blockLayout().byteSize());
        assertEquals(18, GgmlType.Q4_0.blockLayout().byteSize());
        assertEquals(20, GgmlType.Q4_1.blockLayout().byteSize());
        assertEquals(144, GgmlType.Q4_K.blockLayout().byteSize());
        assertEquals(210, GgmlType.Q6_K.blockLayout().byteSize());
        for (GgmlType t : GgmlType.values())
            assertEquals(t.typeSize(), t.blockLayout().byteSize(), t.name());
        assertEquals(8, GgmlType.Q8_0.id());
        assertEquals(12, GgmlType.Q4_K.id());
        assertEquals(14, GgmlType.Q6_K.id());
        assertEquals(30, GgmlType.BF16.id());
    }

    @Test
    void q8_0_q4_0_q4_1AgainstBlockDefinitions() {
        int blocks = 7;
        ByteBuffer q8 = ByteBuffer.allocate(34 * blocks).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer q40 = ByteBuffer.allocate(18 * blocks).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer q41 = ByteBuffer.allocate(20 * blocks).order(ByteOrder.LITTLE_ENDIAN);
        double[] w8 = new double[32 * blocks], w40 = new double[32 * blocks], w41 = new double[32 * blocks];
        double[] s8 = new double[32 * blocks], s40 = new double[32 * blocks], s41 = new double[32 * blocks];
        for (int b = 0; b < blocks; b++) {
            short d = h(R.nextGaussian()), m = h(R.nextGaussian());
            q8.putShort(d);
            q40.putShort(d);
            q41.putShort(d).putShort(m);
            int[] q4 = new int[32];
            for (int j = 0; j < 32; j++) {
                int q = R.nextInt(256) - 128;
                q8.put((byte) q);
                w8[32 * b + j] = q * hf(d);
                s8[32 * b + j] = Math.abs(w8[32 * b + j]);
                q4[j] = R.nextInt(16);
                w40[32 * b + j] = (q4[j] - 8) * hf(d);
                s40[32 * b + j] = Math.abs(w40[32 * b + j]);
                w41[32 * b + j] = q4[j] * hf(d) + hf(m);
                s41[32 * b + j] = Math.abs(q4[j] * hf(d)) + Math.abs(hf(m));
            }
            for (int j = 0; j < 16; j++) {
                q40.put((byte) (q4[j] | q4[j + 16] << 4));
                q41.put((byte) (q4[j] | q4[j + 16] << 4));
            }
        }
        close(w8, deq(GgmlType.Q8_0, q8.array(), 32 * blocks), s8);
        close(w40, deq(GgmlType.Q4_0, q40.array(), 32 * blocks), s40);
        close(w41, deq(GgmlType.Q4_1, q41.array(), 32 * blocks), s41);
    }

    @Test
    void q4_KAgainstBlockDefinition() {
        int blocks = 3;
        ByteBuffer buf = ByteBuffer.allocate(144 * blocks).order(ByteOrder.LITTLE_ENDIAN);
        double[] want = new double[256 * blocks], scale = new double[256 * blocks];
        for (int b = 0; b < blocks; b++) {
            short d = h(R.nextDouble()), dmin = h(R.nextDouble());
            int[] sc = new int[8], mn = new int[8];
            for (int j = 0; j < 8; j++) {
                sc[j] = R.nextInt(64);
                mn[j] = R.nextInt(64);
            }
            byte[] packed = new byte[12]; // packing of quantize_row_q4_K_ref
            for (int j = 0; j < 4; j++) {
                packed[j] = (byte) (sc[j] | (sc[j + 4] >> 4) << 6);
                packed[j + 4] = (byte) (mn[j] | (mn[j + 4] >> 4) << 6);
                packed[j + 8] = (byte) ((sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4);
            }
            int[] q = new int[256];
            for (int i = 0; i < 256; i++) q[i] = R.nextInt(16);
            buf.putShort(d).putShort(dmin).put(packed);
            // 4 chunks of 64 weights: byte l of chunk c holds weight 64c+l (low nibble) and 64c+32+l (high nibble)
            for (int c = 0; c < 4; c++)
                for (int l = 0; l < 32; l++) buf.put((byte) (q[64 * c + l] | q[64 * c + 32 + l] << 4));
            for (int i = 0; i < 256; i++) {
                int sub = i / 32; // 8 sub-blocks of 32 weights
                want[256 * b + i] = hf(d) * sc[sub] * q[i] - hf(dmin) * mn[sub];
                scale[256 * b + i] = Math.abs(hf(d) * sc[sub] * q[i]) + Math.abs(hf(dmin) * mn[sub]);
            }
        }
        close(want, deq(GgmlType.Q4_K, buf.array(), 256 * blocks), scale);
    }

    @Test
    void q6_KAgainstBlockDefinition() {
        int blocks = 3;
        ByteBuffer buf = ByteBuffer.allocate(210 * blocks).order(ByteOrder.LITTLE_ENDIAN);
        double[] want = new double[256 * blocks], scale = new double[256 * blocks];
        for (int b = 0; b < blocks; b++) {
            int[] q = new int[256];
            for (int i = 0; i < 256; i++) q[i] = R.nextInt(64);
            byte[] sc = new byte[16];
            for (int j = 0; j < 16; j++) sc[j] = (byte) (R.nextInt(256) - 128);
            short d = h(R.nextGaussian() * 0.01);
            byte[] ql = new byte[128], qh = new byte[64]; // packing of quantize_row_q6_K_ref
            for (int half = 0; half < 2; half++) {
                for (int l = 0; l < 32; l++) {
                    int base = 128 * half;
                    int q1 = q[base + l], q2 = q[base + l + 32], q3 = q[base + l + 64], q4 = q[base + l + 96];
                    ql[64 * half + l] = (byte) ((q1 & 0xF) | (q3 & 0xF) << 4);
                    ql[64 * half + l + 32] = (byte) ((q2 & 0xF) | (q4 & 0xF) << 4);
                    qh[32 * half + l] = (byte) ((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
                }
            }
            buf.put(ql).put(qh).put(sc).putShort(d);
            for (int i = 0; i < 256; i++) {
                want[256 * b + i] = hf(d) * sc[i / 16] * (q[i] - 32); // 16 sub-blocks of 16 weights
                scale[256 * b + i] = Math.abs(want[256 * b + i]);
            }
        }
        close(want, deq(GgmlType.Q6_K, buf.array(), 256 * blocks), scale);
    }

    @Test
    void q8_0RoundsHalfAwayFromZeroAsRoundf() {
        float[] x = new float[32];
        x[0] = 127;
        x[1] = 62.5f;
        x[2] = -62.5f;
        x[3] = 0.5f;
        x[4] = -0.5f;
        x[5] = 1.49f;
        byte[] b = GgmlQuants.quantize(GgmlType.Q8_0, x);
        assertEquals(1.0, hf(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getShort(0))); // d = amax / 127
        assertArrayEquals(new byte[] {127, 63, -63, 1, -1, 1, 0}, java.util.Arrays.copyOfRange(b, 2, 9));
        assertArrayEquals(
                new byte[34], GgmlQuants.quantize(GgmlType.Q8_0, new float[32]), "all-zero block: d = 0, q = 0");
    }

    @Test
    void q4_0UsesSignedMaxAndTruncation() {
        float[] x = new float[32];
        x[0] = -8; // the value of largest magnitude is negative: d = -8 / -8 = 1
        x[1] = 0.5f; // 0.5 + 8.5 = 9   -> 9
        x[2] = -0.6f; // -0.6 + 8.5 = 7.9 -> 7 (truncation, not rounding)
        x[3] = 7.9f; // 16.4 -> 16 -> min(15, 16) = 15
        x[16] = 3; // high nibble of byte 0: 11.5 -> 11
        byte[] b = GgmlQuants.quantize(GgmlType.Q4_0, x);
        assertEquals(1.0, hf(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getShort(0)));
        assertEquals(0 | 11 << 4, b[2] & 0xFF);
        assertEquals(9 | 8 << 4, b[3] & 0xFF);
        assertEquals(7 | 8 << 4, b[4] & 0xFF);
        assertEquals(15 | 8 << 4, b[5] & 0xFF);
        float[] y = new float[32];
        y[0] = 8; // positive max: d = -1, so q = -x + 8.5
        assertEquals(
                -1.0,
                hf(ByteBuffer.wrap(GgmlQuants.quantize(GgmlType.Q4_0, y))
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .getShort(0)));
        assertEquals(0, GgmlQuants.quantize(GgmlType.Q4_0, y)[2] & 0xF);
    }

    @Test
    void quantizeErrorWithinHalfAStep() {
        float[] x = new float[32 * 50];
        for (int i = 0; i < x.length; i++) x[i] = (float) (R.nextGaussian() * Math.exp(R.nextGaussian()));
        for (GgmlType t : List.of(GgmlType.Q8_0, GgmlType.Q4_0)) {
            float[] y = deq(t, GgmlQuants.quantize(t, x), x.length);
            for (int b = 0; b < 50; b++) {
                double amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]));
                double step = t == GgmlType.Q8_0 ? amax / 127 : amax / 8;
                for (int j = 0; j < 32; j++) {
                    int i = 32 * b + j;
                    // half a step, plus the fp16 rounding of d times the largest code, plus Q4_0's clamp at 15 (one
                    // step)
                    double bound = (t == GgmlType.Q8_0 ? 0.5 : 1.0) * step + 128 * step * 0x1p-11;
                    assertTrue(Math.abs(x[i] - y[i]) <= bound, t + " element " + i + ": " + x[i] + " -> " + y[i]);
                }
            }
        }
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
