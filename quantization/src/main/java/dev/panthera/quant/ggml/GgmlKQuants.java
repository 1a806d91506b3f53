package dev.panthera.quant.ggml;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The K-quant block formats (256 weights a block, ggml-common.h's {@code block_q4_K}, {@code block_q5_K},
 * {@code block_q6_K}, {@code block_q8_K}): scalar dequantizers, and the reference quantizer of Q8_K
 * ({@code quantize_row_q8_K_ref}).
 */
final class GgmlKQuants {
    private GgmlKQuants() {}

    private static final ValueLayout.OfFloat OUT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort LE_I16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static float f16(MemorySegment s, long at) {
        return Float.float16ToFloat(s.get(LE_I16, at));
    }

    private static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    /** Scale ({@code which} 0) or min ({@code which} 1) number {@code j} (0..7) of the 12 packed bytes at {@code at}. */
    static int scaleMinK4(MemorySegment s, long at, int j, int which) {
        if (j < 4) return u8(s, at + j + 4L * which) & 63;
        return which == 0
                ? (u8(s, at + j + 4) & 0xF) | ((u8(s, at + j - 4) >> 6) << 4)
                : (u8(s, at + j + 4) >> 4) | ((u8(s, at + j) >> 6) << 4);
    }

    /** One Q4_K block at {@code s} to 256 floats at byte {@code o} of {@code dst}. */
    static void q4k(MemorySegment src, long s, MemorySegment dst, long o) {
        float d = f16(src, s), dmin = f16(src, s + 2);
        long scales = s + 4, qs = s + 16;
        for (int chunk = 0; chunk < 4; chunk++) { // 64 weights per chunk: 32 low nibbles, 32 high nibbles
            float d1 = d * scaleMinK4(src, scales, 2 * chunk, 0), m1 = dmin * scaleMinK4(src, scales, 2 * chunk, 1);
            float d2 = d * scaleMinK4(src, scales, 2 * chunk + 1, 0);
            float m2 = dmin * scaleMinK4(src, scales, 2 * chunk + 1, 1);
            for (int l = 0; l < 32; l++) {
                int q = u8(src, qs + 32L * chunk + l);
                dst.set(OUT, o + 4L * (64 * chunk + l), d1 * (q & 0xF) - m1);
                dst.set(OUT, o + 4L * (64 * chunk + 32 + l), d2 * (q >> 4) - m2);
            }
        }
    }

    /** One Q5_K block: as Q4_K, with bit 2·chunk (low nibbles) or 2·chunk+1 (high) of qh[l] adding 16. */
    static void q5k(MemorySegment src, long s, MemorySegment dst, long o) {
        float d = f16(src, s), dmin = f16(src, s + 2);
        long scales = s + 4, qh = s + 16, qs = s + 48;
        for (int chunk = 0; chunk < 4; chunk++) {
            float d1 = d * scaleMinK4(src, scales, 2 * chunk, 0), m1 = dmin * scaleMinK4(src, scales, 2 * chunk, 1);
            float d2 = d * scaleMinK4(src, scales, 2 * chunk + 1, 0);
            float m2 = dmin * scaleMinK4(src, scales, 2 * chunk + 1, 1);
            for (int l = 0; l < 32; l++) {
                int q = u8(src, qs + 32L * chunk + l), h = u8(src, qh + l);
                int lo = (q & 0xF) | (((h >> (2 * chunk)) & 1) << 4);
                int hi = (q >> 4) | (((h >> (2 * chunk + 1)) & 1) << 4);
                dst.set(OUT, o + 4L * (64 * chunk + l), d1 * lo - m1);
                dst.set(OUT, o + 4L * (64 * chunk + 32 + l), d2 * hi - m2);
            }
        }
    }

    /** One Q6_K block (16 sub-blocks of 16 weights, int8 scales, 6-bit q offset by 32). */
    static void q6k(MemorySegment src, long s, MemorySegment dst, long o) {
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

    /** One Q8_K block: x = q·d with an fp32 d (the bsums are a cache for dots, not needed here). */
    static void q8k(MemorySegment src, long s, MemorySegment dst, long o) {
        float d = src.get(LE_F32, s);
        for (int j = 0; j < 256; j++) dst.set(OUT, o + 4L * j, d * src.get(ValueLayout.JAVA_BYTE, s + 4 + j));
    }

    /**
     * ggml's {@code nearest_int}: adding 1.5·2^23 puts the rounded value in the low mantissa bits, so this is
     * round-half-to-even for |v| < 2^22 (the quantizers never pass more).
     */
    static int nearestInt(float v) {
        return (int) Math.rint(v);
    }

    /**
     * Quantizes 256·k weights from {@code x} at {@code off} to Q8_K blocks in {@code o}: d = max / -127 where max is
     * the signed value of largest magnitude, q = min(127, nearest(-127/max · x)), bsums = sums of 16 q. An all-zero
     * block is all zero bytes (ggml leaves its bsums unwritten there; the zeroed output array makes them 0).
     */
    static void quantizeQ8K(float[] x, MemorySegment o, int blocks) {
        for (int b = 0; b < blocks; b++) {
            long base = 292L * b;
            float amax = 0, max = 0;
            for (int j = 0; j < 256; j++) {
                float ax = Math.abs(x[256 * b + j]);
                if (ax > amax) {
                    amax = ax;
                    max = x[256 * b + j];
                }
            }
            if (amax == 0) continue;
            float iscale = -127f / max;
            int[] q = new int[256];
            for (int j = 0; j < 256; j++) {
                q[j] = Math.min(127, nearestInt(iscale * x[256 * b + j]));
                o.set(ValueLayout.JAVA_BYTE, base + 4 + j, (byte) q[j]);
            }
            for (int g = 0; g < 16; g++) {
                int sum = 0;
                for (int j = 0; j < 16; j++) sum += q[16 * g + j];
                o.set(LE_I16, base + 260 + 2L * g, (short) sum);
            }
            o.set(LE_F32, base, 1 / iscale);
        }
    }
}
