package dev.panthera.quant;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.simd.Sgemm;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/**
 * y = x · Wᵀ over an {@link InterleavedWeight}: below {@link QuantizedMatmul#DOTS_BELOW_M} activation rows the
 * group kernels of {@link InterleavedDot} (sixteen output rows per pass, each weight byte read once per activation
 * row while the group is in L1); from there on a panel of whole groups is dequantized, already transposed (k-major,
 * as SGEMM's B), and multiplied by SGEMM. Output rows split over GEMM's threads in whole groups.
 */
final class InterleavedMatmul {
    private InterleavedMatmul() {}

    private static final int ROWS = InterleavedWeight.ROWS;

    /** y[i·out + n] = Σ_k x[i·in + k]·W[n, k] for i < m. */
    static void matmul(float[] x, int m, InterleavedWeight w, float[] y) {
        int n = w.out, k = w.in;
        QuantizedMatmul.checkSizes(x, m, y, w.name, n, k);
        if (m == 0) return;
        if (m < QuantizedMatmul.DOTS_BELOW_M) {
            float[] xs = w.type == GgmlType.Q4_K ? QuantizedMatmul.groupSums(x, m, k) : null;
            Sgemm.parallelRanges(n, 2L * m * n * k, ROWS, (from, to) -> dots(x, xs, m, w, y, from, to));
        } else {
            Sgemm.parallelRanges(n, 2L * m * n * k, ROWS, (from, to) -> panels(x, m, w, y, from, to, panelRows(k)));
        }
    }

    /** Output rows [from, to) (multiples of 16) of every activation row, by the group kernels. */
    static void dots(float[] x, float[] xs, int m, InterleavedWeight w, float[] y, int from, int to) {
        switch (w.type) {
            case Q4_0 -> dotsQ4_0(x, m, w, y, from, to);
            case Q8_0 -> dotsQ8_0(x, m, w, y, from, to);
            default -> dotsQ4K(x, xs, m, w, y, from, to);
        }
    }

    // one loop per type, so that each is compiled with only its own kernel inlined (C2's node limit, see GgmlDot)

    private static void dotsQ4_0(float[] x, int m, InterleavedWeight w, float[] y, int from, int to) {
        int n = w.out, k = w.in, nb = w.blocksPerRow(), gb = w.groupBytes();
        for (int g = from / ROWS; g < to / ROWS; g++) {
            for (int i = 0; i < m; i++) {
                for (int h = 0; h < ROWS; h += InterleavedDot.L)
                    InterleavedDot.q4_0(w.data, g * gb, nb, x, i * k, h, y, i * n + g * ROWS + h);
            }
        }
    }

    private static void dotsQ8_0(float[] x, int m, InterleavedWeight w, float[] y, int from, int to) {
        int n = w.out, k = w.in, nb = w.blocksPerRow(), gb = w.groupBytes();
        for (int g = from / ROWS; g < to / ROWS; g++) {
            for (int i = 0; i < m; i++) {
                for (int h = 0; h < ROWS; h += InterleavedDot.L)
                    InterleavedDot.q8_0(w.data, g * gb, nb, x, i * k, h, y, i * n + g * ROWS + h);
            }
        }
    }

    private static void dotsQ4K(float[] x, float[] xs, int m, InterleavedWeight w, float[] y, int from, int to) {
        int n = w.out, k = w.in, nb = w.blocksPerRow(), gb = w.groupBytes();
        for (int g = from / ROWS; g < to / ROWS; g++) {
            for (int i = 0; i < m; i++) {
                for (int h = 0; h < ROWS; h += InterleavedDot.L)
                    InterleavedDot.q4K(w.data, g * gb, nb, x, i * k, xs, i * (k / 32), h, y, i * n + g * ROWS + h);
            }
        }
    }

    /** Weight rows per dequantized panel: about 4 MiB of floats, whole groups, 16 to 1024 rows. */
    static int panelRows(int k) {
        return Math.max(ROWS, Math.min(1024, (1 << 20) / Math.max(1, k)) / ROWS * ROWS);
    }

    /**
     * Output rows [from, to) through panels of {@code panelRows} rows (a multiple of 16): the panel's groups decoded
     * into a k × rows float matrix (B as SGEMM takes it untransposed), then y[:, r0 .. r0 + rows) = x·B. The decoded
     * floats are the scalar decoder's, bit for bit.
     */
    static void panels(float[] x, int m, InterleavedWeight w, float[] y, int from, int to, int panelRows) {
        if (from >= to) return;
        QuantizedMatmul.panelProducts(x, m, w.out, w.in, y, from, to, panelRows, false, (r0, rows, panel) -> {
            for (int g = r0 / ROWS; g < (r0 + rows) / ROWS; g++) dequantize(w, g, panel, g * ROWS - r0, rows);
        });
    }

    /**
     * Group g decoded into columns [c, c + 16) of the k × ld float matrix {@code dst}: float j·ld + c + l of it is
     * W[16g + l, j].
     */
    static void dequantize(InterleavedWeight w, int g, MemorySegment dst, int c, int ld) {
        switch (w.type) { // one loop per type, each compiled with only its own decoder inlined
            case Q4_0 -> dequantQ4_0(w, g, dst, c, ld);
            case Q8_0 -> dequantQ8_0(w, g, dst, c, ld);
            default -> dequantQ4K(w, g, dst, c, ld);
        }
    }

    private static void dequantQ4_0(InterleavedWeight w, int g, MemorySegment dst, int c, int ld) {
        int nb = w.blocksPerRow(), gbb = w.groupBlockBytes();
        for (int b = 0; b < nb; b++) {
            for (int h = 0; h < ROWS; h += InterleavedDot.L)
                dequantQ4_0(w.data, (g * nb + b) * gbb, h, dst, 32L * b * ld + c + h, ld);
        }
    }

    private static void dequantQ8_0(InterleavedWeight w, int g, MemorySegment dst, int c, int ld) {
        int nb = w.blocksPerRow(), gbb = w.groupBlockBytes();
        for (int b = 0; b < nb; b++) {
            for (int h = 0; h < ROWS; h += InterleavedDot.L)
                dequantQ8_0(w.data, (g * nb + b) * gbb, h, dst, 32L * b * ld + c + h, ld);
        }
    }

    private static void dequantQ4K(InterleavedWeight w, int g, MemorySegment dst, int c, int ld) {
        int nb = w.blocksPerRow(), gbb = w.groupBlockBytes();
        for (int b = 0; b < nb; b++) {
            for (int h = 0; h < ROWS; h += InterleavedDot.L)
                dequantQ4K(w.data, (g * nb + b) * gbb, h, dst, 256L * b * ld + c + h, ld);
        }
    }

    private static void put(FloatVector v, MemorySegment dst, long at) {
        v.intoMemorySegment(dst, 4 * at, ByteOrder.nativeOrder());
    }

    /** (q - 8)·d, the scalar decoder's float. */
    private static void dequantQ4_0(byte[] a, int bo, int h, MemorySegment dst, long o, int ld) {
        FloatVector d = InterleavedDot.halves(a, bo + 2 * h);
        for (int j = 0; j < 16; j++) {
            int at = bo + 32 + ROWS * j + h;
            put(InterleavedDot.q4Low(a, at).mul(d), dst, o + (long) j * ld);
            put(InterleavedDot.q4High(a, at).mul(d), dst, o + (long) (16 + j) * ld);
        }
    }

    /** q·d, the scalar decoder's float. */
    private static void dequantQ8_0(byte[] a, int bo, int h, MemorySegment dst, long o, int ld) {
        FloatVector d = InterleavedDot.halves(a, bo + 2 * h);
        for (int j = 0; j < 32; j++)
            put(InterleavedDot.q8(a, bo + 32 + ROWS * j + h).mul(d), dst, o + (long) j * ld);
    }

    /**
     * (d·sc)·q - dmin·m, two roundings after the scale products, as the scalar decoder computes it; one sub-block at
     * a time (a loop with one store, not two: two stores and four scale decodes per pass put the method past C2's
     * node limit, which left the stores out of line, element by element).
     */
    private static void dequantQ4K(byte[] a, int bo, int h, MemorySegment dst, long o, int ld) {
        FloatVector d = InterleavedDot.halves(a, bo + 2 * h), dmin = InterleavedDot.halves(a, bo + 32 + 2 * h);
        for (int s = 0; s < 8; s++) { // sub-block s = 2p + t: bytes of pair p, nibble t
            FloatVector ds = d.mul(InterleavedDot.scales(a, bo + 64 + ROWS * s + h));
            FloatVector ms = dmin.mul(InterleavedDot.scales(a, bo + 64 + ROWS * (8 + s) + h));
            int qs = bo + 320 + ROWS * 32 * (s / 2) + h, shift = 4 * (s & 1);
            for (int j = 0; j < 32; j++) {
                ds.mul(InterleavedDot.nibbleAt(a, qs + ROWS * j, shift))
                        .sub(ms)
                        .intoMemorySegment(dst, 4 * (o + (long) (32 * s + j) * ld), ByteOrder.nativeOrder());
            }
        }
    }
}
