package dev.panthera.quant.ggml;

import dev.panthera.simd.Sgemm;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar conversions between GGML block formats and F32, following the block definitions of ggml-common.h and
 * ggml-quants.c: dequantizers for F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and the K-quants, and ggml's reference
 * quantizers ({@code quantize_row_*_ref}) for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K and Q8_K, which give
 * ggml's bytes. F16 rounding is IEEE round-to-nearest-even ({@link Float#floatToFloat16}), as ggml's conversion does.
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
            case F32 -> MemorySegment.copy(src, LE_F32, 0, dst, OUT, 0, n); // byte-swapped where native is not LE
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
            case Q5_0, Q5_1 -> {
                boolean withMin = type == GgmlType.Q5_1;
                int ts = type.typeSize(), qh = withMin ? 4 : 2;
                for (long b = 0; b < blocks; b++) {
                    long s = b * ts, o = b * 32 * 4;
                    float d = f16(src, s), m = withMin ? f16(src, s + 2) : 0;
                    int h = src.get(LE_I32, s + qh), bias = withMin ? 0 : 16;
                    for (int j = 0; j < 16; j++) {
                        int q = u8(src, s + qh + 4 + j);
                        int q0 = ((q & 0xF) | (((h >>> j) & 1) << 4)) - bias;
                        int q1 = ((q >> 4) | (((h >>> (j + 16)) & 1) << 4)) - bias;
                        dst.set(OUT, o + 4L * j, q0 * d + m);
                        dst.set(OUT, o + 4L * (j + 16), q1 * d + m);
                    }
                }
            }
            case Q4_K -> {
                for (long b = 0; b < blocks; b++) GgmlKQuants.q4k(src, b * 144, dst, b * 256 * 4);
            }
            case Q5_K -> {
                for (long b = 0; b < blocks; b++) GgmlKQuants.q5k(src, b * 176, dst, b * 256 * 4);
            }
            case Q6_K -> {
                for (long b = 0; b < blocks; b++) GgmlKQuants.q6k(src, b * 210, dst, b * 256 * 4);
            }
            case Q8_K -> {
                for (long b = 0; b < blocks; b++) GgmlKQuants.q8k(src, b * 292, dst, b * 256 * 4);
            }
        }
    }

    /**
     * The 6-bit scale ({@code which} 0) or min ({@code which} 1) of sub-block {@code j} (0..7) from the 12 packed bytes
     * at {@code at} of a Q4_K/Q5_K block ({@code get_scale_min_k4}).
     */
    public static int scaleMinK4(MemorySegment s, long at, int j, int which) {
        return GgmlKQuants.scaleMinK4(s, at, j, which);
    }

    /** C {@code roundf}: halfway cases away from zero. */
    static float roundf(float v) {
        return v < 0 ? -(float) Math.floor(-v + 0.5) : (float) Math.floor(v + 0.5);
    }

    /**
     * Roughly the arithmetic of one Q4_K, Q5_K or Q6_K block's scale search (Q4_K: eight sub-blocks of 32, 21 candidate
     * scales, each a pass of about eight operations per weight), for {@link Sgemm#parallelRanges}' threshold: the
     * K-quant blocks of a tensor run on GEMM's threads, each block on its own, so the bytes do not depend on the split.
     */
    private static final long K_WORK = 8 * 21 * 32 * 8;

    /**
     * Quantizes {@code x} (length a multiple of the block size) to {@code type} (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K or Q8_K), returning
     * the little-endian bytes as stored in GGUF.
     */
    public static byte[] quantize(GgmlType type, float[] x) {
        if (x.length % type.blockSize() != 0) {
            throw new IllegalArgumentException(
                    "quantize " + type + ": " + x.length + " weights is not a multiple of " + type.blockSize());
        }
        if (type.isQuantized()) {
            for (int i = 0; i < x.length; i++) {
                if (!Float.isFinite(x[i])) {
                    throw new IllegalArgumentException(
                            "quantize " + type + ": weight " + i + " of " + x.length + " is " + x[i]);
                }
            }
        }
        byte[] out = new byte[Math.toIntExact(type.bytesFor(x.length))];
        MemorySegment o = MemorySegment.ofArray(out);
        switch (type) {
            case F32 -> MemorySegment.copy(x, 0, o, LE_F32, 0, x.length);
            case F16 -> {
                for (int i = 0; i < x.length; i++) o.set(LE_I16, 2L * i, Float.floatToFloat16(x[i]));
            }
            case BF16 -> {
                for (int i = 0; i < x.length; i++) o.set(LE_I16, 2L * i, toBf16(x[i]));
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
            case Q4_1, Q5_1 -> quantizeWithMin(type, x, o);
            case Q5_0 -> {
                for (int b = 0; b < x.length / 32; b++) {
                    float amax = 0, max = 0;
                    for (int j = 0; j < 32; j++) {
                        float v = x[32 * b + j];
                        if (amax < Math.abs(v)) {
                            amax = Math.abs(v);
                            max = v;
                        }
                    }
                    float d = max / -16f, id = d != 0 ? 1f / d : 0f;
                    o.set(LE_I16, 22L * b, Float.floatToFloat16(d));
                    int qh = 0;
                    for (int j = 0; j < 16; j++) {
                        int q0 = Math.min(31, (int) (byte) (int) (x[32 * b + j] * id + 16.5f));
                        int q1 = Math.min(31, (int) (byte) (int) (x[32 * b + 16 + j] * id + 16.5f));
                        out[22 * b + 6 + j] = (byte) ((q0 & 0xF) | ((q1 & 0xF) << 4));
                        qh |= ((q0 >> 4) & 1) << j | ((q1 >> 4) & 1) << (j + 16);
                    }
                    o.set(LE_I32, 22L * b + 2, qh);
                }
            }
            case Q8_K -> GgmlKQuants.quantizeQ8K(x, o, x.length / 256);
            case Q4_K, Q5_K, Q6_K -> {
                int blocks = x.length / 256;
                Sgemm.parallelRanges(blocks, K_WORK * blocks, 1, (from, to) -> {
                    if (type == GgmlType.Q6_K) GgmlKQuantizers.quantizeQ6K(x, o, from, to);
                    else GgmlKQuantizers.quantizeQ45K(x, o, from, to, type == GgmlType.Q4_K ? 4 : 5);
                });
            }
            default ->
                throw new IllegalArgumentException("quantize: writing " + type
                        + " is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q8_K)");
        }
        return out;
    }

    /**
     * ggml's {@code ggml_compute_fp32_to_bf16}: the upper 16 bits rounded to nearest even; a NaN stays a (quiet) NaN
     * rather than rounding into infinity.
     */
    static short toBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 64);
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /**
     * Q4_1 and Q5_1 ({@code quantize_row_q4_1_ref}, {@code quantize_row_q5_1_ref}): d = (max - min)/(2^bits - 1), m =
     * min, q = (x - min)/d + 0.5 truncated (and clamped to 15 for Q4_1, as ggml does).
     */
    private static void quantizeWithMin(GgmlType type, float[] x, MemorySegment o) {
        boolean five = type == GgmlType.Q5_1;
        int ts = type.typeSize(), qs = five ? 8 : 4;
        for (int b = 0; b < x.length / 32; b++) {
            float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
            for (int j = 0; j < 32; j++) {
                min = Math.min(min, x[32 * b + j]);
                max = Math.max(max, x[32 * b + j]);
            }
            float d = (max - min) / (five ? 31 : 15), id = d != 0 ? 1f / d : 0f;
            long base = (long) ts * b;
            o.set(LE_I16, base, Float.floatToFloat16(d));
            o.set(LE_I16, base + 2, Float.floatToFloat16(min));
            int qh = 0;
            for (int j = 0; j < 16; j++) {
                int q0 = (int) (byte) (int) ((x[32 * b + j] - min) * id + 0.5f);
                int q1 = (int) (byte) (int) ((x[32 * b + 16 + j] - min) * id + 0.5f);
                if (five) {
                    q0 &= 0xFF;
                    q1 &= 0xFF;
                    qh |= ((q0 >> 4) & 1) << j | ((q1 >> 4) & 1) << (j + 16);
                } else {
                    q0 = Math.min(15, q0);
                    q1 = Math.min(15, q1);
                }
                o.set(ValueLayout.JAVA_BYTE, base + qs + j, (byte) ((q0 & 0xF) | ((q1 & 0xF) << 4)));
            }
            if (five) o.set(LE_I32, base + 4, qh);
        }
    }
}
