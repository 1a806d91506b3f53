package dev.panthera.quant.ggml;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The reference quantizers of Q4_K, Q5_K and Q6_K (ggml's {@code quantize_row_q4_K_ref}, {@code _q5_K_ref},
 * {@code _q6_K_ref}, the ones llama.cpp uses without an importance matrix). Q4_K/Q5_K: per 32-weight sub-block a
 * weighted least-squares search over 1 + nstep candidate scales for scale and min ({@link #scaleMin}), then 6-bit
 * scales and mins relative to the block's largest; Q6_K: per 16-weight sub-block a weighted search for a symmetric
 * scale ({@link #symmetricScale}), then int8 scales. All arithmetic in float32 in ggml's order, so the bytes match.
 */
final class GgmlKQuantizers {
    private GgmlKQuantizers() {}

    private static final ValueLayout.OfShort LE_I16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** ggml's GROUP_MAX_EPS: a sub-block whose largest magnitude is below this is all zero. */
    private static final float GROUP_MAX_EPS = 1e-15f;

    private static int nearest(float v) {
        return GgmlKQuants.nearestInt(v);
    }

    /**
     * ggml's {@code make_qkx2_quants}: quantizes n weights x[xo..] to L in 0..nmax with x ≈ scale·L - min, choosing
     * scale and min by weighted least squares over iscale = (rmin + rdelta·is + nmax)/(max - min), is = 0..nstep.
     * Returns {scale, min} (min ≥ 0 is subtracted).
     */
    static float[] scaleMin(
            int n, int nmax, float[] x, int xo, float[] w, int[] l, int lo, float rmin, float rdelta, int nstep) {
        float min = x[xo], max = x[xo];
        float sumW = w[0], sumX = sumW * x[xo];
        for (int i = 1; i < n; i++) {
            if (x[xo + i] < min) min = x[xo + i];
            if (x[xo + i] > max) max = x[xo + i];
            sumW += w[i];
            sumX += w[i] * x[xo + i];
        }
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; i++) l[lo + i] = 0;
            return new float[] {0f, -min};
        }
        float iscale = nmax / (max - min), scale = 1 / iscale, best = 0;
        for (int i = 0; i < n; i++) {
            int q = Math.max(0, Math.min(nmax, nearest(iscale * (x[xo + i] - min))));
            l[lo + i] = q;
            float diff = scale * q + min - x[xo + i];
            best += w[i] * (diff * diff);
        }
        int[] aux = new int[n];
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++) {
                int q = Math.max(0, Math.min(nmax, nearest(iscale * (x[xo + i] - min))));
                aux[i] = q;
                sumL += w[i] * q;
                sumL2 += w[i] * q * q;
                sumXL += w[i] * q * x[xo + i];
            }
            float d = sumW * sumL2 - sumL * sumL;
            if (d > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / d;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / d;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float err = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * aux[i] + thisMin - x[xo + i];
                    err += w[i] * (diff * diff);
                }
                if (err < best) {
                    System.arraycopy(aux, 0, l, lo, n);
                    best = err;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        return new float[] {scale, -min};
    }

    /**
     * Q4_K (bits 4) or Q5_K (bits 5) blocks {@code from} to {@code to} (exclusive) of {@code x} into {@code o}: each
     * block depends on its own 256 weights only, so ranges may run on different threads.
     */
    static void quantizeQ45K(float[] x, MemorySegment o, int from, int to, int bits) {
        int nmax = (1 << bits) - 1, ts = bits == 4 ? 144 : 176;
        float rmin = bits == 4 ? -1f : -0.5f;
        int nstep = bits == 4 ? 20 : 15;
        float[] w = new float[32], scales = new float[8], mins = new float[8];
        int[] l = new int[256];
        // the eight sub-blocks' searches side by side (KQuantLanes): weights, importances and levels transposed
        float[] xt = new float[256], wt = new float[256];
        int[] lt = new int[256], aux = new int[256];
        for (int b = from; b < to; b++) {
            int xb = 256 * b;
            long base = (long) ts * b;
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; j++) {
                float sumX2 = 0;
                for (int i = 0; i < 32; i++) sumX2 += x[xb + 32 * j + i] * x[xb + 32 * j + i];
                float av = (float) Math.sqrt(sumX2 / 32);
                for (int i = 0; i < 32; i++) w[i] = av + Math.abs(x[xb + 32 * j + i]);
                if (KQuantLanes.ENABLED) {
                    for (int i = 0; i < 32; i++) {
                        xt[8 * i + j] = x[xb + 32 * j + i];
                        wt[8 * i + j] = w[i];
                    }
                    continue;
                }
                float[] sm = scaleMin(32, nmax, x, xb + 32 * j, w, l, 32 * j, rmin, 0.1f, nstep);
                scales[j] = sm[0];
                mins[j] = sm[1];
            }
            if (KQuantLanes.ENABLED) {
                KQuantLanes.scaleMin8(xt, wt, nmax, rmin, 0.1f, nstep, lt, aux, scales, mins);
                for (int j = 0; j < 8; j++) for (int i = 0; i < 32; i++) l[32 * j + i] = lt[8 * i + j];
            }
            for (int j = 0; j < 8; j++) {
                if (scales[j] > maxScale) maxScale = scales[j];
                if (mins[j] > maxMin) maxMin = mins[j];
            }
            float invScale = maxScale > 0 ? 63f / maxScale : 0f, invMin = maxMin > 0 ? 63f / maxMin : 0f;
            byte[] packed = new byte[12];
            for (int j = 0; j < 8; j++) {
                // uint8_t in ggml: the int keeps its low 8 bits before the MIN
                int ls = Math.min(63, nearest(invScale * scales[j]) & 0xFF);
                int lm = Math.min(63, nearest(invMin * mins[j]) & 0xFF);
                if (j < 4) {
                    packed[j] = (byte) ls;
                    packed[j + 4] = (byte) lm;
                } else {
                    packed[j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                    packed[j - 4] |= (byte) ((ls >> 4) << 6);
                    packed[j] |= (byte) ((lm >> 4) << 6);
                }
            }
            short d16 = Float.floatToFloat16(maxScale / 63f), dmin16 = Float.floatToFloat16(maxMin / 63f);
            o.set(LE_I16, base, d16);
            o.set(LE_I16, base + 2, dmin16);
            MemorySegment.copy(MemorySegment.ofArray(packed), 0, o, base + 4, 12);
            MemorySegment sc = MemorySegment.ofArray(packed);
            for (int j = 0; j < 8; j++) {
                float d = Float.float16ToFloat(d16) * GgmlKQuants.scaleMinK4(sc, 0, j, 0);
                if (d == 0) continue;
                float dm = Float.float16ToFloat(dmin16) * GgmlKQuants.scaleMinK4(sc, 0, j, 1);
                for (int i = 0; i < 32; i++)
                    l[32 * j + i] = Math.max(0, Math.min(nmax, nearest((x[xb + 32 * j + i] + dm) / d)));
            }
            long qh = base + 16, qs = bits == 4 ? base + 16 : base + 48;
            if (bits == 5) for (int i = 0; i < 32; i++) o.set(ValueLayout.JAVA_BYTE, qh + i, (byte) 0);
            for (int c = 0; c < 4; c++) {
                for (int i = 0; i < 32; i++) {
                    int l1 = l[64 * c + i], l2 = l[64 * c + 32 + i];
                    if (bits == 5) {
                        int h = o.get(ValueLayout.JAVA_BYTE, qh + i) & 0xFF;
                        if (l1 > 15) {
                            l1 -= 16;
                            h |= 1 << (2 * c);
                        }
                        if (l2 > 15) {
                            l2 -= 16;
                            h |= 2 << (2 * c);
                        }
                        o.set(ValueLayout.JAVA_BYTE, qh + i, (byte) h);
                    }
                    o.set(ValueLayout.JAVA_BYTE, qs + 32L * c + i, (byte) (l1 | (l2 << 4)));
                }
            }
        }
    }

    /**
     * ggml's {@code make_qx_quants} with rmse_type 1 (weights x²): L in -nmax..nmax-1 (stored + nmax) for x ≈ scale·L,
     * trying iscale = -(nmax + 0.1·is)/max for is = -9..9 and keeping the best weighted fit.
     */
    static float symmetricScale(int n, int nmax, float[] x, int xo, int[] l, int lo) {
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xo + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) l[lo + i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0, sumL2 = 0;
        for (int i = 0; i < n; i++) {
            int q = Math.max(-nmax, Math.min(nmax - 1, nearest(iscale * x[xo + i])));
            l[lo + i] = q + nmax;
            float w = x[xo + i] * x[xo + i];
            sumLX += w * x[xo + i] * q;
            sumL2 += w * q * q;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0f;
        float best = scale * sumLX;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) continue;
            iscale = -(nmax + 0.1f * is) / max;
            sumLX = 0;
            sumL2 = 0;
            for (int i = 0; i < n; i++) {
                int q = Math.max(-nmax, Math.min(nmax - 1, nearest(iscale * x[xo + i])));
                float w = x[xo + i] * x[xo + i];
                sumLX += w * x[xo + i] * q;
                sumL2 += w * q * q;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
                for (int i = 0; i < n; i++)
                    l[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearest(iscale * x[xo + i])));
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }

    /** Q6_K blocks {@code from} to {@code to} (exclusive) of {@code x} into {@code o}, as {@link #quantizeQ45K}. */
    static void quantizeQ6K(float[] x, MemorySegment o, int from, int to) {
        int[] l = new int[256];
        float[] scales = new float[16];
        // eight sub-blocks' searches side by side (KQuantLanes), weights and levels transposed
        float[] xt = new float[128], eight = new float[8];
        int[] lt = new int[128], aux = new int[128];
        for (int b = from; b < to; b++) {
            int xb = 256 * b;
            long base = 210L * b;
            float maxScale = 0, maxAbs = 0;
            if (KQuantLanes.ENABLED) {
                for (int h = 0; h < 2; h++) {
                    for (int j = 0; j < 8; j++)
                        for (int i = 0; i < 16; i++) xt[8 * i + j] = x[xb + 16 * (8 * h + j) + i];
                    KQuantLanes.symmetric8(xt, 32, lt, aux, eight);
                    for (int j = 0; j < 8; j++) {
                        scales[8 * h + j] = eight[j];
                        for (int i = 0; i < 16; i++) l[16 * (8 * h + j) + i] = lt[8 * i + j];
                    }
                }
            } else {
                for (int ib = 0; ib < 16; ib++) scales[ib] = symmetricScale(16, 32, x, xb + 16 * ib, l, 16 * ib);
            }
            for (int ib = 0; ib < 16; ib++) {
                float s = scales[ib];
                if (Math.abs(s) > maxAbs) {
                    maxAbs = Math.abs(s);
                    maxScale = s;
                }
            }
            if (maxAbs < GROUP_MAX_EPS) continue; // the output is zeroed: an all-zero block
            float iscale = -128f / maxScale;
            short d16 = Float.floatToFloat16(1 / iscale);
            o.set(LE_I16, base + 208, d16);
            byte[] sc = new byte[16];
            for (int ib = 0; ib < 16; ib++) sc[ib] = (byte) Math.min(127, nearest(iscale * scales[ib]));
            MemorySegment.copy(MemorySegment.ofArray(sc), 0, o, base + 192, 16);
            for (int j = 0; j < 16; j++) {
                float d = Float.float16ToFloat(d16) * sc[j];
                if (d == 0) continue;
                for (int i = 0; i < 16; i++)
                    l[16 * j + i] = Math.max(-32, Math.min(31, nearest(x[xb + 16 * j + i] / d))) + 32;
            }
            for (int half = 0; half < 2; half++) {
                for (int i = 0; i < 32; i++) {
                    int j = 128 * half;
                    int q1 = l[j + i], q2 = l[j + i + 32], q3 = l[j + i + 64], q4 = l[j + i + 96];
                    o.set(ValueLayout.JAVA_BYTE, base + 64L * half + i, (byte) ((q1 & 0xF) | ((q3 & 0xF) << 4)));
                    o.set(ValueLayout.JAVA_BYTE, base + 64L * half + 32 + i, (byte) ((q2 & 0xF) | ((q4 & 0xF) << 4)));
                    o.set(ValueLayout.JAVA_BYTE, base + 128 + 32L * half + i, (byte)
                            ((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)));
                }
            }
        }
    }
}
