package dev.panthera.quant;

import dev.panthera.quant.gptq.GptqInt4;
import dev.panthera.quant.gptq.GwqInt4;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * y [m, out] = x [m, in] · Wᵀ for a 4-bit GPTQ weight read straight from its checkpoint arrays (qweight, qzeros,
 * scales, g_idx; {@link GptqInt4}), no float copy of the weight. At the preferred width the rows are first sorted by
 * group once per weight ({@link GptqLayout}; act-order's g_idx otherwise changes group at almost every row) and the
 * activations permuted alike per call, then {@link GptqGroupedKernel} takes each group as one run of words: zero points
 * and scales once per group, codes unpacked with vector shifts, the scale applied once per group. Other widths, and a
 * g_idx whose groups split a word, take the stored-order kernel below: one int32 load gives the 4-bit codes of input
 * rows 8p..8p+7 for as many consecutive outputs as the species has lanes; each row's codes are shifted out, widened to
 * float, and (q − zero)·scale is multiplied by x[row, k] into per-row accumulators, a group's scales and zero points
 * reloaded whenever g_idx changes. Outputs past the last whole vector take a scalar loop with the same arithmetic.
 */
public final class GptqMatmul {
    private GptqMatmul() {}

    /** Multiply-adds below which one thread does the whole product. */
    private static final long PARALLEL_WORK = 1L << 21;

    /** y [m·out] = x [m·in] · Wᵀ at the preferred width, output columns split over the common pool when large. */
    public static void matmul(float[] x, int m, GptqInt4 w, float[] y) {
        matmul(QuantLanes.F, x, m, w, y);
    }

    /** As {@link #matmul(float[], int, GptqInt4, float[])} at the width of {@code fs}. */
    static void matmul(VectorSpecies<Float> fs, float[] x, int m, GptqInt4 w, float[] y) {
        check(x, m, w, y);
        if (fs == FS && GptqGroupedKernel.supported() && m > 0) {
            GptqLayout l = GptqLayout.of(w);
            if (l.uniform) {
                grouped(l, w, x, m, y);
                return;
            }
        }
        int out = w.out(), step = Math.max(8, fs.length());
        int chunks = (out + step - 1) / step;
        boolean parallel = (long) m * out * w.in() >= PARALLEL_WORK && chunks > 1;
        int parts = parallel ? Math.min(chunks, Runtime.getRuntime().availableProcessors() * 4) : 1;
        IntStream range = IntStream.range(0, parts);
        (parallel ? range.parallel() : range).forEach(c -> {
            int from = (int) ((long) chunks * c / parts) * step,
                    to = Math.min(out, (int) ((long) chunks * (c + 1) / parts) * step);
            columns(fs, x, m, w, y, from, to);
        });
    }

    /**
     * The preferred width over rows sorted by group ({@link GptqGroupedKernel}), output columns split over the common
     * pool in chunks of four vectors when large; columns past the last whole vector take the per-row path.
     */
    private static void grouped(GptqLayout l, GptqInt4 w, float[] x, int m, float[] y) {
        float[] xs = l.permute(x, m);
        int out = w.out(), step = Math.max(8, 4 * GptqGroupedKernel.L);
        int chunks = (out + step - 1) / step;
        boolean parallel = (long) m * out * w.in() >= PARALLEL_WORK && chunks > 1;
        int parts = parallel ? Math.min(chunks, Runtime.getRuntime().availableProcessors() * 4) : 1;
        IntStream range = IntStream.range(0, parts);
        (parallel ? range.parallel() : range).forEach(c -> {
            int from = (int) ((long) chunks * c / parts) * step,
                    to = Math.min(out, (int) ((long) chunks * (c + 1) / parts) * step);
            int done = GptqGroupedKernel.columns(l, xs, m, y, from, to);
            if (done < to) columns(FS, x, m, w, y, done, to);
        });
    }

    /**
     * The same product in the stored row order, reloading a group's scales and zeros whenever g_idx changes (no
     * {@link GptqLayout}): the kernel a weight whose g_idx splits words takes; public as the before-anchor of
     * GptqMatmulBench.
     */
    public static void matmulStoredOrder(float[] x, int m, GptqInt4 w, float[] y) {
        check(x, m, w, y);
        int out = w.out(), step = Math.max(8, FS.length());
        int chunks = (out + step - 1) / step;
        boolean parallel = (long) m * out * w.in() >= PARALLEL_WORK && chunks > 1;
        int parts = parallel ? Math.min(chunks, Runtime.getRuntime().availableProcessors() * 4) : 1;
        IntStream range = IntStream.range(0, parts);
        (parallel ? range.parallel() : range).forEach(c -> {
            int from = (int) ((long) chunks * c / parts) * step,
                    to = Math.min(out, (int) ((long) chunks * (c + 1) / parts) * step);
            columns(FS, x, m, w, y, from, to);
        });
    }

    /** The GWQ product: the dense 4-bit part, then each outlier's (value − dense)·x[k] added to its output. */
    public static void matmul(float[] x, int m, GwqInt4 w, float[] deltas, float[] y) {
        matmul(QuantLanes.F, x, m, w, deltas, y);
    }

    static void matmul(VectorSpecies<Float> fs, float[] x, int m, GwqInt4 w, float[] deltas, float[] y) {
        if (deltas.length != w.outlierIndex().length)
            throw new IllegalArgumentException("GptqMatmul " + w.dense().name() + ": " + deltas.length + " deltas for "
                    + w.outlierIndex().length + " outliers");
        matmul(fs, x, m, w.dense(), y);
        int in = w.dense().in(), out = w.dense().out();
        int[] idx = w.outlierIndex();
        for (int i = 0; i < idx.length; i++) {
            int n = idx[i] / in, k = idx[i] % in;
            float d = deltas[i];
            for (int r = 0; r < m; r++) y[r * out + n] += x[r * in + k] * d;
        }
    }

    private static void check(float[] x, int m, GptqInt4 w, float[] y) {
        if (m < 0 || x.length < (long) m * w.in() || y.length < (long) m * w.out())
            throw new IllegalArgumentException("GptqMatmul " + w.name() + " [" + w.out() + ", " + w.in() + "]: x of "
                    + x.length + " and y of " + y.length + " floats cannot hold " + m + " rows");
    }

    /**
     * Output columns [from, to) for every row, following the stored row order and reloading a group's scales and
     * zeros whenever g_idx changes: the path for other widths and for a g_idx whose groups split a word.
     */
    static void columns(VectorSpecies<Float> fs, float[] x, int m, GptqInt4 w, float[] y, int from, int to) {
        VectorSpecies<Integer> is = fs.withLanes(int.class);
        int lanes = fs.length();
        int n = from;
        // the vector path needs whole words of qzeros per vector: 8 lanes or a multiple, or fewer lanes within a word
        boolean vectorOk = lanes % 8 == 0 || 8 % lanes == 0;
        if (vectorOk) {
            int[] zMap = new int[lanes], zShift = new int[lanes];
            for (int i = 0; i < lanes; i++) {
                zMap[i] = i >>> 3;
                zShift[i] = (i & 7) << 2;
            }
            for (; n + lanes <= to; n += lanes) {
                int r = 0;
                if (fs == FS) {
                    for (; r + 4 <= m; r += 4) block4P(x, r, w, y, n, zMap, zShift);
                    for (; r < m; r++) block1P(x, r, w, y, n, zMap, zShift);
                } else {
                    for (; r + 4 <= m; r += 4) block4(fs, is, x, r, w, y, n, zMap, zShift);
                    for (; r < m; r++) block1(fs, is, x, r, w, y, n, zMap, zShift);
                }
            }
        }
        for (; n < to; n++) scalarColumn(x, m, w, y, n);
    }

    /** The zero points of outputs n.. (n + lanes) in group g as floats: gathered words, each lane's nibble, +1. */
    private static FloatVector zeros(
            VectorSpecies<Float> fs, VectorSpecies<Integer> is, GptqInt4 w, int g, int n, int[] zMap, int[] zShift) {
        int base = g * (w.out() >>> 3) + (n >>> 3);
        // lanes below 8 read within one word: the lane's nibble is at 4·((n + i) mod 8)
        IntVector shift = IntVector.fromArray(is, zShift, 0);
        if (is.length() < 8) shift = shift.add((n & 7) << 2);
        IntVector words = IntVector.fromArray(is, w.qzeros(), base, zMap, 0);
        return (FloatVector)
                words.lanewise(VectorOperators.LSHR, shift).and(15).add(1).convert(VectorOperators.I2F, 0);
    }

    private static void block1(
            VectorSpecies<Float> fs,
            VectorSpecies<Integer> is,
            float[] x,
            int r,
            GptqInt4 w,
            float[] y,
            int n,
            int[] zMap,
            int[] zShift) {
        int out = w.out(), in = w.in();
        int[] qw = w.qweight(), gIdx = w.gIdx();
        float[] scales = w.scales();
        FloatVector acc = FloatVector.zero(fs), s = null, z = null;
        int lastG = -1, xr = r * in;
        for (int p = 0; p < in >>> 3; p++) {
            IntVector word = IntVector.fromArray(is, qw, p * out + n);
            for (int j = 0; j < 8; j++) {
                int k = (p << 3) + j, g = gIdx[k];
                if (g != lastG) {
                    s = FloatVector.fromArray(fs, scales, g * out + n);
                    z = zeros(fs, is, w, g, n, zMap, zShift);
                    lastG = g;
                }
                FloatVector q = (FloatVector)
                        word.lanewise(VectorOperators.LSHR, j << 2).and(15).convert(VectorOperators.I2F, 0);
                acc = q.sub(z).mul(s).fma(FloatVector.broadcast(fs, x[xr + k]), acc);
            }
        }
        acc.intoArray(y, r * out + n);
    }

    private static void block4(
            VectorSpecies<Float> fs,
            VectorSpecies<Integer> is,
            float[] x,
            int r,
            GptqInt4 w,
            float[] y,
            int n,
            int[] zMap,
            int[] zShift) {
        int out = w.out(), in = w.in();
        int[] qw = w.qweight(), gIdx = w.gIdx();
        float[] scales = w.scales();
        FloatVector a0 = FloatVector.zero(fs), a1 = a0, a2 = a0, a3 = a0, s = null, z = null;
        int lastG = -1, x0 = r * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        for (int p = 0; p < in >>> 3; p++) {
            IntVector word = IntVector.fromArray(is, qw, p * out + n);
            for (int j = 0; j < 8; j++) {
                int k = (p << 3) + j, g = gIdx[k];
                if (g != lastG) {
                    s = FloatVector.fromArray(fs, scales, g * out + n);
                    z = zeros(fs, is, w, g, n, zMap, zShift);
                    lastG = g;
                }
                FloatVector d = ((FloatVector) word.lanewise(VectorOperators.LSHR, j << 2)
                                .and(15)
                                .convert(VectorOperators.I2F, 0))
                        .sub(z)
                        .mul(s);
                a0 = d.fma(FloatVector.broadcast(fs, x[x0 + k]), a0);
                a1 = d.fma(FloatVector.broadcast(fs, x[x1 + k]), a1);
                a2 = d.fma(FloatVector.broadcast(fs, x[x2 + k]), a2);
                a3 = d.fma(FloatVector.broadcast(fs, x[x3 + k]), a3);
            }
        }
        a0.intoArray(y, r * out + n);
        a1.intoArray(y, (r + 1) * out + n);
        a2.intoArray(y, (r + 2) * out + n);
        a3.intoArray(y, (r + 3) * out + n);
    }

    /** Output column n for every row, one weight at a time in the vector path's order and arithmetic. */
    private static void scalarColumn(float[] x, int m, GptqInt4 w, float[] y, int n) {
        int in = w.in(), out = w.out();
        for (int r = 0; r < m; r++) {
            float acc = 0;
            for (int k = 0; k < in; k++) {
                int g = w.gIdx()[k];
                float d = (float) (w.q(n, k) - w.zero(g, n)) * w.scales()[g * out + n];
                acc = Math.fma(d, x[r * in + k], acc);
            }
            y[r * out + n] = acc;
        }
    }

    // The same kernels with the species as static final constants: passed as arguments, a species C2 cannot see as a
    // constant makes every vector operation allocate (boxed vectors); the preferred width, the production path, takes
    // these.
    private static final VectorSpecies<Float> FS = QuantLanes.F;
    private static final VectorSpecies<Integer> IS = FS.withLanes(int.class);

    private static FloatVector zerosP(GptqInt4 w, int g, int n, int[] zMap, int[] zShift) {
        int base = g * (w.out() >>> 3) + (n >>> 3);
        // lanes below 8 read within one word: the lane's nibble is at 4·((n + i) mod 8)
        IntVector shift = IntVector.fromArray(IS, zShift, 0);
        if (IS.length() < 8) shift = shift.add((n & 7) << 2);
        IntVector words = IntVector.fromArray(IS, w.qzeros(), base, zMap, 0);
        return (FloatVector)
                words.lanewise(VectorOperators.LSHR, shift).and(15).add(1).convert(VectorOperators.I2F, 0);
    }

    private static void block1P(float[] x, int r, GptqInt4 w, float[] y, int n, int[] zMap, int[] zShift) {
        int out = w.out(), in = w.in();
        int[] qw = w.qweight(), gIdx = w.gIdx();
        float[] scales = w.scales();
        FloatVector acc = FloatVector.zero(FS), s = null, z = null;
        int lastG = -1, xr = r * in;
        for (int p = 0; p < in >>> 3; p++) {
            IntVector word = IntVector.fromArray(IS, qw, p * out + n);
            for (int j = 0; j < 8; j++) {
                int k = (p << 3) + j, g = gIdx[k];
                if (g != lastG) {
                    s = FloatVector.fromArray(FS, scales, g * out + n);
                    z = zerosP(w, g, n, zMap, zShift);
                    lastG = g;
                }
                FloatVector q = (FloatVector)
                        word.lanewise(VectorOperators.LSHR, j << 2).and(15).convert(VectorOperators.I2F, 0);
                acc = q.sub(z).mul(s).fma(FloatVector.broadcast(FS, x[xr + k]), acc);
            }
        }
        acc.intoArray(y, r * out + n);
    }

    private static void block4P(float[] x, int r, GptqInt4 w, float[] y, int n, int[] zMap, int[] zShift) {
        int out = w.out(), in = w.in();
        int[] qw = w.qweight(), gIdx = w.gIdx();
        float[] scales = w.scales();
        FloatVector a0 = FloatVector.zero(FS), a1 = a0, a2 = a0, a3 = a0, s = null, z = null;
        int lastG = -1, x0 = r * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        for (int p = 0; p < in >>> 3; p++) {
            IntVector word = IntVector.fromArray(IS, qw, p * out + n);
            for (int j = 0; j < 8; j++) {
                int k = (p << 3) + j, g = gIdx[k];
                if (g != lastG) {
                    s = FloatVector.fromArray(FS, scales, g * out + n);
                    z = zerosP(w, g, n, zMap, zShift);
                    lastG = g;
                }
                FloatVector d = ((FloatVector) word.lanewise(VectorOperators.LSHR, j << 2)
                                .and(15)
                                .convert(VectorOperators.I2F, 0))
                        .sub(z)
                        .mul(s);
                a0 = d.fma(FloatVector.broadcast(FS, x[x0 + k]), a0);
                a1 = d.fma(FloatVector.broadcast(FS, x[x1 + k]), a1);
                a2 = d.fma(FloatVector.broadcast(FS, x[x2 + k]), a2);
                a3 = d.fma(FloatVector.broadcast(FS, x[x3 + k]), a3);
            }
        }
        a0.intoArray(y, r * out + n);
        a1.intoArray(y, (r + 1) * out + n);
        a2.intoArray(y, (r + 2) * out + n);
        a3.intoArray(y, (r + 3) * out + n);
    }
}
