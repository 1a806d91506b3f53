package dev.panthera.quant;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.simd.FilledSgemm;
import dev.panthera.simd.Sgemm;
import jdk.incubator.vector.FloatVector;

/**
 * y = x · Wᵀ over an {@link InterleavedWeight}: below {@link QuantizedMatmul#DOTS_BELOW_M} activation rows the group
 * kernels of {@link InterleavedDot} (sixteen output rows per pass, each weight byte read once per activation row while
 * the group is in L1; rows over Q8_0, Q4_0, Q4_K, Q5_K or Q6_K first quantized to 8 bits as llama.cpp does and dotted
 * in 16-bit lanes, several rows per pass, see {@link QuantizedMatmul#groupedInt}); from there on SGEMM's micro-kernel
 * over blocks of Wᵀ decoded from the groups straight into its slivers ({@link FilledSgemm}). Output rows split over
 * GEMM's threads in whole groups.
 */
final class InterleavedMatmul {
    private InterleavedMatmul() {}

    private static final int ROWS = InterleavedWeight.ROWS;

    /** y[i·out + n] = Σ_k x[i·in + k]·W[n, k] for i < m. */
    static void matmul(float[] x, int m, InterleavedWeight w, float[] y) {
        int n = w.out, k = w.in;
        QuantizedMatmul.checkSizes(x, m, y, w.name, n, k);
        if (m == 0) return;
        if (QuantizedMatmul.groupedInt(w.type, m)) { // quantized once here, read by every thread
            int nb = w.blocksPerRow();
            short[] xq = new short[m * k];
            float[] dx = new float[m * nb];
            if (w.type == GgmlType.Q8_0 || w.type == GgmlType.Q4_0) { // blocks of 32; Q8_0 has no use for the sums
                int[] xs8 = new int[m * nb];
                for (int i = 0; i < m; i++) Q8Activation.q8_0Lanes(x, i * k, k, xq, dx, xs8, i);
                Sgemm.parallelRanges(
                        n,
                        2L * m * n * k,
                        ROWS,
                        w.type == GgmlType.Q8_0
                                ? (from, to) -> dotsQ8_0Int(xq, dx, m, w, y, from, to)
                                : (from, to) -> dotsQ4_0Int(xq, dx, xs8, m, w, y, from, to));
            } else { // Q4_K, Q5_K and Q6_K: super-blocks of 256; Q6_K has no use for the sums
                int[] xs32 = new int[m * (k / 32)];
                for (int i = 0; i < m; i++) Q8Activation.q8KLanes(x, i * k, k, xq, dx, xs32, i);
                int[] xp = w.type == GgmlType.Q6_K ? null : InterleavedKIntDot.pairs(xq);
                Sgemm.parallelRanges(
                        n,
                        2L * m * n * k,
                        ROWS,
                        switch (w.type) {
                            case Q6_K -> (from, to) -> dotsQ6KInt(xq, dx, m, w, y, from, to);
                            case Q5_K -> (from, to) -> dotsQ5KInt(xp, dx, xs32, m, w, y, from, to);
                            default -> (from, to) -> dotsQ4KInt(xp, dx, xs32, m, w, y, from, to);
                        });
            }
            if (m == 1) ReadAhead.after(w);
            return;
        }
        if (m < QuantizedMatmul.DOTS_BELOW_M) {
            float[] xs = w.type == GgmlType.Q8_0 ? null : QuantizedMatmul.groupSums(x, m, k);
            Sgemm.parallelRanges(n, 2L * m * n * k, ROWS, (from, to) -> dots(x, xs, m, w, y, from, to));
        } else {
            panels(x, m, w, y);
        }
    }

    /**
     * Output rows [from, to) (multiples of 16) of every activation row, by the float group kernels (Q5_K and Q6_K have
     * none: they are regrouped only where {@link QuantizedMatmul#groupedInt} takes their rows).
     */
    static void dots(float[] x, float[] xs, int m, InterleavedWeight w, float[] y, int from, int to) {
        switch (w.type) {
            case Q4_0 -> dotsQ4_0(x, xs, m, w, y, from, to);
            case Q8_0 -> dotsQ8_0(x, m, w, y, from, to);
            case Q4_K -> dotsQ4K(x, xs, m, w, y, from, to);
            default -> throw new IllegalStateException("InterleavedMatmul: no float group kernel for " + w.type);
        }
    }

    // one loop per type, so that each is compiled with only its own kernel inlined (C2's node limit, see GgmlDot)

    private static void dotsQ4_0(float[] x, float[] xs, int m, InterleavedWeight w, float[] y, int from, int to) {
        int n = w.out, k = w.in, nb = w.blocksPerRow(), gb = w.groupBytes();
        for (int g = from / ROWS; g < to / ROWS; g++) {
            for (int i = 0; i < m; i++) {
                for (int h = 0; h < ROWS; h += InterleavedDot.L)
                    InterleavedDot.q4_0(w.data, g * gb, nb, x, i * k, xs, i * nb, h, y, i * n + g * ROWS + h);
            }
        }
    }

    /**
     * Output rows [from, to) of m activation rows quantized to 8 bits ({@link Q8Activation#q8_0Lanes}), by the 16-bit
     * Q4_0 kernels: four rows per pass while four remain, then one; each row's outputs are the one-row kernel's bits.
     */
    private static void dotsQ4_0Int(
            short[] xq, float[] dx, int[] xs8, int m, InterleavedWeight w, float[] y, int from, int to) {
        int n = w.out, k = w.in, nb = w.blocksPerRow(), gb = w.groupBytes();
        for (int g = from / ROWS; g < to / ROWS; g++) {
            int i = 0;
            for (; i + 4 <= m; i += 4)
                InterleavedIntDot.q4_0Int4(w.data, g * gb, nb, xq, k, dx, xs8, i, y, n, g * ROWS);
            for (; i < m; i++) InterleavedIntDot.q4_0Int(w.data, g * gb, nb, xq, dx, xs8, i, y, i * n + g * ROWS);
        }
    }

    /**
     * Output rows [from, to) of m activation rows quantized to 8 bits ({@link Q8Activation#q8_0Lanes}), by the 16-bit
     * Q8_0 kernels: four rows per pass while four remain, then one; each row's outputs are the one-row kernel's bits.
     */
    private static void dotsQ8_0Int(short[] xq, float[] dx, int m, InterleavedWeight w, float[] y, int from, int to) {
        int n = w.out, k = w.in, nb = w.blocksPerRow(), gb = w.groupBytes();
        for (int g = from / ROWS; g < to / ROWS; g++) {
            int i = 0;
            for (; i + 4 <= m; i += 4) InterleavedIntDot.q8_0Int4(w.data, g * gb, nb, xq, k, dx, i, y, n, g * ROWS);
            for (; i < m; i++) InterleavedIntDot.q8_0Int(w.data, g * gb, nb, xq, dx, i, y, i * n + g * ROWS);
        }
    }

    /**
     * Output rows [from, to) of m activation rows quantized to 8 bits per 256 ({@link Q8Activation#q8KLanes}), by the
     * 16-bit Q4_K kernels: four rows per pass while four remain, then two, then one; each row's outputs are the
     * one-row kernel's bits.
     */
    private static void dotsQ4KInt(
            int[] xp, float[] dx, int[] xs32, int m, InterleavedWeight w, float[] y, int from, int to) {
        int n = w.out, k = w.in, nb = w.blocksPerRow();
        for (int g = from / ROWS; g < to / ROWS; g++) {
            int ho = w.headerAt(g, 0), qo = w.quantsAt(g, 0), i = 0;
            for (int r = 0; r < m; r++) InterleavedKIntDot.q4KMins(w.data, ho, nb, dx, xs32, r, y, r * n + g * ROWS);
            for (; i + 4 <= m; i += 4) InterleavedKIntDot.q4KInt4(w.data, ho, qo, nb, xp, k, dx, i, y, n, g * ROWS);
            for (; i + 2 <= m; i += 2) InterleavedKIntDot.q4KInt2(w.data, ho, qo, nb, xp, k, dx, i, y, n, g * ROWS);
            for (; i < m; i++) InterleavedKIntDot.q4KInt(w.data, ho, qo, nb, xp, dx, i, y, i * n + g * ROWS);
        }
    }

    /**
     * Output rows [from, to) of m activation rows quantized to 8 bits per 256 ({@link Q8Activation#q8KLanes}), by the
     * 16-bit Q5_K kernels: four rows per pass while four remain, then one; each row's outputs are the one-row kernel's
     * bits.
     */
    private static void dotsQ5KInt(
            int[] xp, float[] dx, int[] xs32, int m, InterleavedWeight w, float[] y, int from, int to) {
        int n = w.out, k = w.in, nb = w.blocksPerRow();
        for (int g = from / ROWS; g < to / ROWS; g++) {
            int ho = w.headerAt(g, 0), qo = w.quantsAt(g, 0), i = 0;
            for (; i + 4 <= m; i += 4)
                InterleavedKIntDot.q5KInt4(w.data, ho, qo, nb, xp, k, dx, xs32, i, y, n, g * ROWS);
            for (; i < m; i++) InterleavedKIntDot.q5KInt(w.data, ho, qo, nb, xp, dx, xs32, i, y, i * n + g * ROWS);
        }
    }

    /**
     * Output rows [from, to) of m activation rows quantized to 8 bits per 256 ({@link Q8Activation#q8KLanes}), by the
     * 16-bit Q6_K kernels: four rows per pass while four remain, then one; each row's outputs are the one-row kernel's
     * bits.
     */
    private static void dotsQ6KInt(short[] xq, float[] dx, int m, InterleavedWeight w, float[] y, int from, int to) {
        int n = w.out, k = w.in, nb = w.blocksPerRow();
        for (int g = from / ROWS; g < to / ROWS; g++) {
            int ho = w.headerAt(g, 0), qo = w.quantsAt(g, 0), i = 0;
            for (; i + 4 <= m; i += 4) InterleavedKIntDot.q6KInt4(w.data, ho, qo, nb, xq, k, dx, i, y, n, g * ROWS);
            for (; i < m; i++) InterleavedKIntDot.q6KInt(w.data, ho, qo, nb, xq, dx, i, y, i * n + g * ROWS);
        }
    }

    /**
     * Output rows [from, to) of every activation row by the Q8_0 group kernel, four activation rows per pass while
     * four remain ({@link InterleavedDot#q8_0x4}: each row's bits as one row alone), then one.
     */
    private static void dotsQ8_0(float[] x, int m, InterleavedWeight w, float[] y, int from, int to) {
        int n = w.out, k = w.in, nb = w.blocksPerRow(), gb = w.groupBytes();
        for (int g = from / ROWS; g < to / ROWS; g++) {
            int i = 0;
            for (; i + 4 <= m; i += 4) {
                for (int h = 0; h < ROWS; h += InterleavedDot.L)
                    InterleavedDot.q8_0x4(w.data, g * gb, nb, x, i * k, k, h, y, i * n + g * ROWS + h, n);
            }
            for (; i < m; i++) {
                for (int h = 0; h < ROWS; h += InterleavedDot.L)
                    InterleavedDot.q8_0(w.data, g * gb, nb, x, i * k, h, y, i * n + g * ROWS + h);
            }
        }
    }

    private static void dotsQ4K(float[] x, float[] xs, int m, InterleavedWeight w, float[] y, int from, int to) {
        int n = w.out, k = w.in, nb = w.blocksPerRow();
        for (int g = from / ROWS; g < to / ROWS; g++) {
            int ho = w.headerAt(g, 0), qo = w.quantsAt(g, 0);
            for (int i = 0; i < m; i++) {
                for (int h = 0; h < ROWS; h += InterleavedDot.L)
                    InterleavedDot.q4K(w.data, ho, qo, nb, x, i * k, xs, i * (k / 32), h, y, i * n + g * ROWS + h);
            }
        }
    }

    /**
     * y = x·Wᵀ for m rows through {@link FilledSgemm}: each block of Wᵀ the micro-kernel reads is decoded from the
     * groups straight into its slivers (whole groups: column ranges start at multiples of 16), so the weight is
     * decoded once per product and never stored as floats beyond one block per thread. The decoded floats are the
     * scalar decoder's, bit for bit.
     */
    static void panels(float[] x, int m, InterleavedWeight w, float[] y) {
        FilledSgemm.gemm(x, m, w.in, w.out, (pc, kc, jc, nc, out) -> fill(w, pc, kc, jc, nc, out), y, ROWS);
    }

    /** Wᵀ[pc .. pc + kc, jc .. jc + nc) into {@code out} in {@link FilledSgemm.Panels#fill}'s sliver layout. */
    static void fill(InterleavedWeight w, int pc, int kc, int jc, int nc, float[] out) {
        int s = FilledSgemm.SLIVER, bs = w.type.blockSize();
        for (int c = 0; c < nc; c += ROWS)
            dequantize(w, (jc + c) / ROWS, pc / bs, (pc + kc) / bs, out, c / s * s * kc + c % s, s);
    }

    /**
     * Blocks [b0, b1) of group g decoded into {@code dst}: the weight W[16g + l, j] (j from b0's first column) at
     * o + (j - b0·blockSize)·ld + l.
     */
    static void dequantize(InterleavedWeight w, int g, int b0, int b1, float[] dst, int o, int ld) {
        switch (w.type) { // one loop per type, each compiled with only its own decoder inlined
            case Q4_0 -> dequantQ4_0(w, g, b0, b1, dst, o, ld);
            case Q8_0 -> dequantQ8_0(w, g, b0, b1, dst, o, ld);
            case Q4_K -> dequantQ4K(w, g, b0, b1, dst, o, ld);
            case Q5_K -> dequantQ5K(w, g, b0, b1, dst, o, ld);
            default -> dequantQ6K(w, g, b0, b1, dst, o, ld);
        }
    }

    private static void dequantQ5K(InterleavedWeight w, int g, int b0, int b1, float[] dst, int o, int ld) {
        for (int b = b0; b < b1; b++) {
            int hd = w.headerAt(g, b), q = w.quantsAt(g, b);
            for (int h = 0; h < ROWS; h += InterleavedDot.L)
                dequantQ5K(w.data, hd, q, h, dst, o + 256 * (b - b0) * ld + h, ld);
        }
    }

    private static void dequantQ6K(InterleavedWeight w, int g, int b0, int b1, float[] dst, int o, int ld) {
        for (int b = b0; b < b1; b++) {
            int hd = w.headerAt(g, b), q = w.quantsAt(g, b);
            for (int h = 0; h < ROWS; h += InterleavedDot.L)
                dequantQ6K(w.data, hd, q, h, dst, o + 256 * (b - b0) * ld + h, ld);
        }
    }

    private static void dequantQ4_0(InterleavedWeight w, int g, int b0, int b1, float[] dst, int o, int ld) {
        int nb = w.blocksPerRow(), gbb = w.groupBlockBytes();
        for (int b = b0; b < b1; b++) {
            for (int h = 0; h < ROWS; h += InterleavedDot.L)
                dequantQ4_0(w.data, (g * nb + b) * gbb, h, dst, o + 32 * (b - b0) * ld + h, ld);
        }
    }

    private static void dequantQ8_0(InterleavedWeight w, int g, int b0, int b1, float[] dst, int o, int ld) {
        int nb = w.blocksPerRow(), gbb = w.groupBlockBytes();
        for (int b = b0; b < b1; b++) {
            for (int h = 0; h < ROWS; h += InterleavedDot.L)
                dequantQ8_0(w.data, (g * nb + b) * gbb, h, dst, o + 32 * (b - b0) * ld + h, ld);
        }
    }

    private static void dequantQ4K(InterleavedWeight w, int g, int b0, int b1, float[] dst, int o, int ld) {
        for (int b = b0; b < b1; b++) {
            int hd = w.headerAt(g, b), q = w.quantsAt(g, b);
            for (int h = 0; h < ROWS; h += InterleavedDot.L)
                dequantQ4K(w.data, hd, q, h, dst, o + 256 * (b - b0) * ld + h, ld);
        }
    }

    /** (q - 8)·d, the scalar decoder's float. */
    private static void dequantQ4_0(byte[] a, int bo, int h, float[] dst, int o, int ld) {
        FloatVector d = InterleavedDot.halves(a, bo + 2 * h);
        for (int j = 0; j < 16; j++) {
            int at = bo + 32 + ROWS * j + h;
            InterleavedDot.q4Low(a, at).mul(d).intoArray(dst, o + j * ld);
            InterleavedDot.q4High(a, at).mul(d).intoArray(dst, o + (16 + j) * ld);
        }
    }

    /** q·d, the scalar decoder's float. */
    private static void dequantQ8_0(byte[] a, int bo, int h, float[] dst, int o, int ld) {
        FloatVector d = InterleavedDot.halves(a, bo + 2 * h);
        for (int j = 0; j < 32; j++)
            InterleavedDot.q8(a, bo + 32 + ROWS * j + h).mul(d).intoArray(dst, o + j * ld);
    }

    /** (d·sc)·q - dmin·m, as the scalar decoder computes it (the stored byte is q - 16; adding 16 back is exact). */
    private static void dequantQ5K(byte[] a, int bo, int q, int h, float[] dst, int o, int ld) {
        FloatVector d = InterleavedDot.floats(a, bo + 4 * h), dmin = InterleavedDot.floats(a, bo + 64 + 4 * h);
        for (int s = 0; s < 8; s++) {
            FloatVector ds = d.mul(InterleavedDot.scales(a, bo + 128 + ROWS * s + h));
            FloatVector ms = dmin.mul(InterleavedDot.scales(a, bo + 128 + ROWS * (8 + s) + h));
            for (int j = 0; j < 32; j++) {
                FloatVector v = InterleavedDot.pairQ8(a, q, 32 * s + j, h).add(16f);
                ds.mul(v).sub(ms).intoArray(dst, o + (32 * s + j) * ld);
            }
        }
    }

    /** (d·sc)·(q - 32), the scalar decoder's float (the stored byte is q - 32). */
    private static void dequantQ6K(byte[] a, int bo, int q, int h, float[] dst, int o, int ld) {
        FloatVector d = InterleavedDot.floats(a, bo + 4 * h);
        for (int s = 0; s < 16; s++) {
            FloatVector ds = d.mul(InterleavedDot.q8(a, bo + 64 + ROWS * s + h));
            for (int j = 0; j < 16; j++)
                ds.mul(InterleavedDot.q8(a, q + ROWS * (16 * s + j) + h)).intoArray(dst, o + (16 * s + j) * ld);
        }
    }

    /**
     * (d·sc)·q - dmin·m, two roundings after the scale products, as the scalar decoder computes it; one sub-block at
     * a time (a loop with one store, not two: two stores and four scale decodes per pass put the method past C2's
     * node limit, which left the stores out of line, element by element).
     */
    private static void dequantQ4K(byte[] a, int bo, int q, int h, float[] dst, int o, int ld) {
        FloatVector d = InterleavedDot.floats(a, bo + 4 * h), dmin = InterleavedDot.floats(a, bo + 64 + 4 * h);
        for (int s = 0; s < 8; s++) { // sub-block s = 2p + t: bytes of pair p, nibble t
            FloatVector ds = d.mul(InterleavedDot.scales(a, bo + 128 + ROWS * s + h));
            FloatVector ms = dmin.mul(InterleavedDot.scales(a, bo + 128 + ROWS * (8 + s) + h));
            int qs = q + ROWS * 32 * (s / 2) + 2 * h, shift = 4 * (s & 1);
            for (int j = 0; j < 32; j++) { // byte j of each row: the low or high byte of its pair
                ds.mul(InterleavedDot.pairNibbleAt(a, qs + ROWS * (j & ~1), shift + 8 * (j & 1)))
                        .sub(ms)
                        .intoArray(dst, o + (32 * s + j) * ld);
            }
        }
    }
}
