package dev.panthera.quant.ggml;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.simd.GemmConfig;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The GGML block formats. Expected dequantized values come from float64 loops written here from the block
 * definitions in ggml-common.h / ggml-quants.c (the blocks are built from chosen quants and scales with the packing
 * of the reference quantizers, so the test does not reuse the reader's unpacking).
 */
class GgmlQuantsTest {
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
        assertEquals(22, GgmlType.Q5_0.blockLayout().byteSize());
        assertEquals(24, GgmlType.Q5_1.blockLayout().byteSize());
        assertEquals(176, GgmlType.Q5_K.blockLayout().byteSize());
        assertEquals(292, GgmlType.Q8_K.blockLayout().byteSize());
        assertEquals(6, GgmlType.Q5_0.id());
        assertEquals(7, GgmlType.Q5_1.id());
        assertEquals(13, GgmlType.Q5_K.id());
        assertEquals(15, GgmlType.Q8_K.id());
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
    void badInputIsRejectedWithTheTypeAndPosition() {
        float[] x = new float[64];
        x[40] = Float.NaN;
        var e = assertThrows(IllegalArgumentException.class, () -> GgmlQuants.quantize(GgmlType.Q5_0, x));
        assertTrue(e.getMessage().contains("Q5_0") && e.getMessage().contains("weight 40"), e.getMessage());
        x[40] = Float.POSITIVE_INFINITY;
        assertThrows(IllegalArgumentException.class, () -> GgmlQuants.quantize(GgmlType.Q8_0, x));
        var e2 = assertThrows(IllegalArgumentException.class, () -> GgmlQuants.quantize(GgmlType.Q8_K, new float[300]));
        assertTrue(e2.getMessage().contains("300") && e2.getMessage().contains("256"), e2.getMessage());
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
    void kQuantBytesDoNotDependOnTheThreadCount() {
        // 37 blocks: uneven splits; each block's bytes must be its own whatever range a thread takes
        float[] x = new float[256 * 37];
        for (int i = 0; i < x.length; i++) x[i] = (float) (R.nextGaussian() * Math.exp(R.nextGaussian()));
        for (GgmlType t : List.of(GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)) {
            byte[] one;
            try (var scope = GemmConfig.of(1).use()) {
                one = GgmlQuants.quantize(t, x);
            }
            for (int threads : new int[] {2, 3}) {
                try (var scope = GemmConfig.of(threads).use()) {
                    assertArrayEquals(one, GgmlQuants.quantize(t, x), t + " on " + threads + " threads");
                }
            }
        }
    }

    @Test
    void f32IsLittleEndianBothWays() {
        float[] x = new float[37];
        for (int i = 0; i < x.length; i++) x[i] = (float) R.nextGaussian();
        x[3] = -0f;
        x[4] = Float.MIN_VALUE;
        ByteBuffer want = ByteBuffer.allocate(4 * x.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : x) want.putFloat(v);
        byte[] bytes = GgmlQuants.quantize(GgmlType.F32, x);
        assertArrayEquals(want.array(), bytes);
        float[] back = deq(GgmlType.F32, bytes, x.length);
        for (int i = 0; i < x.length; i++)
            assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(back[i]), "element " + i);
    }
}
