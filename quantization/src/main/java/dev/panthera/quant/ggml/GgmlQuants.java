package dev.panthera.quant.ggml;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar conversions between GGML block formats and F32, following the block definitions of ggml-quants.c: the
 * dequantizers for F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K and Q6_K, and the reference quantizers for Q8_0 and Q4_0
 * (the rounding of {@code quantize_row_q8_0_ref}/{@code quantize_row_q4_0_ref}). F16 rounding is IEEE
 * round-to-nearest-even ({@link Float#floatToFloat16}), as ggml's conversion does.
 */
public final class GgmlQuants {
    private GgmlQuants() {}

    private static final ValueLayout.OfFloat OUT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    // GGML data is little-endian and blocks are not aligned
    private static final ValueLayout.OfShort LE_I16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble LE_F64 =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static float f16(MemorySegment s, long at) {
        return Float.float16ToFloat(s.get(LE_I16, at));
    }

    private static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    /**
     * Converts {@code n} weights of {@code type} in {@code src} (little-endian blocks) to floats in {@code dst}
     * (native order). {@code n} must be a multiple of the block size and both segments large enough.
     */
    public static void dequantize(GgmlType type, MemorySegment src, MemorySegment dst, long n) {
        if (n % type.blockSize() != 0 || src.byteSize() < type.bytesFor(n) || dst.byteSize() < n * 4) {
            throw new IllegalArgumentException(
                    "dequantize " + type + ": " + n + " weights need " + type.bytesFor(n) + " source bytes (have "
                            + src.byteSize() + ") and " + n * 4 + " destination bytes (have " + dst.byteSize() + ")");
        }
        long blocks = n / type.blockSize();
        switch (type) {
            case F32 -> {
                for (long i = 0; i < n; i++) dst.set(OUT, 4 * i, src.get(LE_F32, 4 * i));
            }
            case F16 -> {
                for (long i = 0; i < n; i++) dst.set(OUT, 4 * i, f16(src, 2 * i));
            }
            case BF16 -> {
                for (long i = 0; i < n; i++)
                    dst.set(OUT, 4 * i, Float.intBitsToFloat((src.get(LE_I16, 2 * i) & 0xFFFF) << 16));
            }
            case F64 -> {
                for (long i = 0; i < n; i++) dst.set(OUT, 4 * i, (float) src.get(LE_F64, 8 * i));
            }
            case I8 -> {
                for (long i = 0; i < n; i++) dst.set(OUT, 4 * i, src.get(ValueLayout.JAVA_BYTE, i));
            }
            case I16 -> {
                for (long i = 0; i < n; i++) dst.set(OUT, 4 * i, src.get(LE_I16, 2 * i));
            }
            case I32 -> {
                for (long i = 0; i < n; i++) dst.set(OUT, 4 * i, src.get(LE_I32, 4 * i));
            }
            case I64 -> {
                for (long i = 0; i < n; i++) dst.set(OUT, 4 * i, src.get(LE_I64, 8 * i));
            }
            case Q8_0 -> {
                for (long b = 0; b < blocks; b++) {
                    long s = b * 34, o = b * 32 * 4;
                    float d = f16(src, s);
                    for (int j = 0; j < 32; j++)
                        dst.set(OUT, o + 4L * j, src.get(ValueLayout.JAVA_BYTE, s + 2 + j) * d);
                }
            }
            case Q4_0 -> {
                for (long b = 0; b < blocks; b++) {
                    long s = b * 18, o = b * 32 * 4;
                    float d = f16(src, s);
                    for (int j = 0; j < 16; j++) {
                        int q = u8(src, s + 2 + j);
                        dst.set(OUT, o + 4L * j, ((q & 0xF) - 8) * d);
                        dst.set(OUT, o + 4L * (j + 16), ((q >> 4) - 8) * d);
                    }
                }
            }
            case Q4_1 -> {
                for (long b = 0; b < blocks; b++) {
                    long s = b * 20, o = b * 32 * 4;
                    float d = f16(src, s), m = f16(src, s + 2);
                    for (int j = 0; j < 16; j++) {
                        int q = u8(src, s + 4 + j);
                        dst.set(OUT, o + 4L * j, (q & 0xF) * d + m);
                        dst.set(OUT, o + 4L * (j + 16), (q >> 4) * d + m);
                    }
                }
            }
            case Q4_K -> {
                for (long b = 0; b < blocks; b++) q4k(src, b * 144, dst, b * 256 * 4);
            }
            case Q6_K -> {
                for (long b = 0; b < blocks; b++) q6k(src, b * 210, dst, b * 256 * 4);
            }
        }
    }

    /** Scale and min number {@code j} (0..7) of a Q4_K block's 12 packed bytes at {@code at}: {scale, min}. */
    static int[] scaleMinK4(MemorySegment s, long at, int j) {
        if (j < 4) return new int[] {u8(s, at + j) & 63, u8(s, at + j + 4) & 63};
        int sc = (u8(s, at + j + 4) & 0xF) | ((u8(s, at + j - 4) >> 6) << 4);
        int m = (u8(s, at + j + 4) >> 4) | ((u8(s, at + j) >> 6) << 4);
        return new int[] {sc, m};
    }

    private static void q4k(MemorySegment src, long s, MemorySegment dst, long o) {
        float d = f16(src, s), dmin = f16(src, s + 2);
        long scales = s + 4, qs = s + 16;
        for (int chunk = 0; chunk < 4; chunk++) { // 64 weights per chunk: 32 low nibbles, 32 high nibbles
            int[] sm1 = scaleMinK4(src, scales, 2 * chunk), sm2 = scaleMinK4(src, scales, 2 * chunk + 1);
            float d1 = d * sm1[0], m1 = dmin * sm1[1], d2 = d * sm2[0], m2 = dmin * sm2[1];
            for (int l = 0; l < 32; l++) {
                int q = u8(src, qs + 32L * chunk + l);
                dst.set(OUT, o + 4L * (64 * chunk + l), d1 * (q & 0xF) - m1);
                dst.set(OUT, o + 4L * (64 * chunk + 32 + l), d2 * (q >> 4) - m2);
            }
        }
    }

    private static void q6k(MemorySegment src, long s, MemorySegment dst, long o) {
        float d = f16(src, s + 208);
        for (int half = 0; half < 2; half++) { // 128 weights per half
            long ql = s + 64L * half, qh = s + 128 + 32L * half, sc = s + 192 + 8L * half;
            long y = o + 4L * 128 * half;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int h = u8(src, qh + l), a = u8(src, ql + l), b = u8(src, ql + l + 32);
                int q1 = ((a & 0xF) | ((h & 3) << 4)) - 32;
                int q2 = ((b & 0xF) | (((h >> 2) & 3) << 4)) - 32;
                int q3 = ((a >> 4) | (((h >> 4) & 3) << 4)) - 32;
                int q4 = ((b >> 4) | (((h >> 6) & 3) << 4)) - 32;
                dst.set(OUT, y + 4L * l, d * src.get(ValueLayout.JAVA_BYTE, sc + is) * q1);
                dst.set(OUT, y + 4L * (l + 32), d * src.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2);
                dst.set(OUT, y + 4L * (l + 64), d * src.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3);
                dst.set(OUT, y + 4L * (l + 96), d * src.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4);
            }
        }
    }

    /** C {@code roundf}: halfway cases away from zero. */
    static float roundf(float v) {
        return v < 0 ? -(float) Math.floor(-v + 0.5) : (float) Math.floor(v + 0.5);
    }

    /**
     * Quantizes {@code x} (length a multiple of the block size) to {@code type} (F32, F16, Q8_0 or Q4_0), returning
     * the little-endian bytes as stored in GGUF.
     */
    public static byte[] quantize(GgmlType type, float[] x) {
        if (x.length % type.blockSize() != 0) {
            throw new IllegalArgumentException(
                    "quantize " + type + ": " + x.length + " weights is not a multiple of " + type.blockSize());
        }
        byte[] out = new byte[Math.toIntExact(type.bytesFor(x.length))];
        MemorySegment o = MemorySegment.ofArray(out);
        switch (type) {
            case F32 -> {
                for (int i = 0; i < x.length; i++) o.set(LE_F32, 4L * i, x[i]);
            }
            case F16 -> {
                for (int i = 0; i < x.length; i++) o.set(LE_I16, 2L * i, Float.floatToFloat16(x[i]));
            }
            case Q8_0 -> {
                for (int b = 0; b < x.length / 32; b++) {
                    float amax = 0;
                    for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]));
                    float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
                    o.set(LE_I16, 34L * b, Float.floatToFloat16(d));
                    for (int j = 0; j < 32; j++) out[34 * b + 2 + j] = (byte) (int) roundf(x[32 * b + j] * id);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < x.length / 32; b++) {
                    float amax = 0, max = 0;
                    for (int j = 0; j < 32; j++) {
                        float v = x[32 * b + j];
                        if (amax < Math.abs(v)) {
                            amax = Math.abs(v);
                            max = v;
                        }
                    }
                    float d = max / -8f, id = d != 0 ? 1f / d : 0f;
                    o.set(LE_I16, 18L * b, Float.floatToFloat16(d));
                    for (int j = 0; j < 16; j++) {
                        int q0 = Math.min(15, (int) (byte) (int) (x[32 * b + j] * id + 8.5f));
                        int q1 = Math.min(15, (int) (byte) (int) (x[32 * b + 16 + j] * id + 8.5f));
                        out[18 * b + 2 + j] = (byte) (q0 | (q1 << 4));
                    }
                }
            }
            default ->
                throw new IllegalArgumentException(
                        "quantize: writing " + type + " is not supported (F32, F16, Q8_0, Q4_0)");
        }
        return out;
    }
}
