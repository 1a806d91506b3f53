package dev.panthera.quant;

import dev.panthera.quant.bnb.Bnb4Bit;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two products a frozen bitsandbytes 4-bit linear layer needs in training, over a row-major [out, in] weight held
 * packed ({@link Bnb4Bit}, blocks running across rows as {@code Linear4bit} stores them):
 *
 * <ul>
 *   <li>forward y [m, out] = x [m, in] · W_dqᵀ, a vector dot of each activation row with each decoded weight row;
 *   <li>backward gx [m, in] = g [m, out] · W_dq, an axpy of each decoded weight row into every gradient row.
 * </ul>
 *
 * A weight row (or, for the gradient, a column range of it) is decoded (code value · block absmax, exactly
 * {@link Bnb4Bit#dequantize()}'s floats) into a scratch of at most {@code in} floats and used by all m rows before the
 * next one is decoded, so the whole matrix never exists as floats. Large products are split over the common
 * fork-join pool, by weight rows forward and by columns backward, so that every output element is computed by the
 * same sequence of operations whatever the split. Arrays are dense row-major.
 */
public final class Bnb4Kernels {
    private Bnb4Kernels() {}

    /** y[i·out + r] = Σ_k x[i·in + k]·W[r, k] for i < m, r < out, with this machine's float species. */
    public static void forward(float[] x, int m, Bnb4Bit w, int out, int in, float[] y) {
        forward(QuantLanes.F, x, m, w, out, in, y);
    }

    /** As {@link #forward(float[], int, Bnb4Bit, int, int, float[])} with species {@code fs}. */
    public static void forward(VectorSpecies<Float> fs, float[] x, int m, Bnb4Bit w, int out, int in, float[] y) {
        forward(fs, x, m, w, out, in, y, chunks(m, out, in, out));
    }

    /**
     * The forward over {@code parts} ranges of weight rows, run in parallel when more than one: each y element is the
     * same dot whichever range computes it, so the result does not depend on {@code parts}.
     */
    static void forward(VectorSpecies<Float> fs, float[] x, int m, Bnb4Bit w, int out, int in, float[] y, int parts) {
        check("forward", x.length, m, w, out, in, y.length, out);
        IntStream.range(0, parts).parallel().forEach(p -> {
            int r0 = (int) ((long) out * p / parts), r1 = (int) ((long) out * (p + 1) / parts);
            float[] row = new float[in];
            for (int r = r0; r < r1; r++) {
                decode(w, (long) r * in, in, row);
                for (int i = 0; i < m; i++) y[i * out + r] = dot(fs, x, i * in, row, in);
            }
        });
    }

    /** gx[i·in + k] = Σ_r g[i·out + r]·W[r, k] for i < m, k < in (overwrites gx), with this machine's species. */
    public static void backwardInput(float[] g, int m, Bnb4Bit w, int out, int in, float[] gx) {
        backwardInput(QuantLanes.F, g, m, w, out, in, gx);
    }

    /** As {@link #backwardInput(float[], int, Bnb4Bit, int, int, float[])} with species {@code fs}. */
    public static void backwardInput(
            VectorSpecies<Float> fs, float[] g, int m, Bnb4Bit w, int out, int in, float[] gx) {
        backwardInput(fs, g, m, w, out, in, gx, chunks(m, out, in, in / 64));
    }

    /**
     * The input gradient over {@code parts} ranges of columns, run in parallel when more than one; each range decodes
     * its columns of every weight row and sums over the rows in the same order, so the result does not depend on
     * {@code parts}.
     */
    static void backwardInput(
            VectorSpecies<Float> fs, float[] g, int m, Bnb4Bit w, int out, int in, float[] gx, int parts) {
        check("backwardInput", g.length, m, w, out, in, gx.length, in);
        java.util.Arrays.fill(gx, 0, m * in, 0f);
        IntStream.range(0, parts).parallel().forEach(p -> {
            int k0 = (int) ((long) in * p / parts), k1 = (int) ((long) in * (p + 1) / parts), width = k1 - k0;
            float[] row = new float[width];
            for (int r = 0; r < out; r++) {
                decode(w, (long) r * in + k0, width, row);
                for (int i = 0; i < m; i++) {
                    float a = g[i * out + r];
                    if (a != 0f) axpy(fs, a, row, gx, i * in + k0, width);
                }
            }
        });
    }

    /** Work below this many multiply-adds runs on the calling thread. */
    private static final long PARALLEL_MIN = 1L << 20;

    /** How many ranges to split {@code splittable} rows or column groups into: one unless the product is large. */
    private static int chunks(int m, int out, int in, int splittable) {
        long work = (long) m * out * in;
        if (work < PARALLEL_MIN || splittable < 2) return 1;
        int threads = ForkJoinPool.getCommonPoolParallelism() + 1;
        return (int) Math.min(splittable, Math.min(4L * threads, work / PARALLEL_MIN + 1));
    }

    private static void check(String op, int xLen, int m, Bnb4Bit w, int out, int in, int yLen, int yCols) {
        int xCols = op.equals("forward") ? in : out;
        if (m < 0
                || out < 0
                || in < 0
                || (long) out * in != w.n()
                || xLen < (long) m * xCols
                || yLen < (long) m * yCols) {
            throw new IllegalArgumentException("Bnb4Kernels." + op + ": m=" + m + " rows against " + w.code() + " ["
                    + out + ", " + in + "] holding " + w.n() + " weights; input has " + xLen + " floats (need m·"
                    + xCols + "), output " + yLen + " (need m·" + yCols + ")");
        }
    }

    /**
     * Weights [from, from + count) into {@code row}: per block segment the block absmax is looked up once (decoding
     * the nested absmax when double quantized) and each nibble's code value is multiplied by it in float32.
     */
    static void decode(Bnb4Bit w, long from, int count, float[] row) {
        long to = from + count;
        int bs = w.blockSize();
        byte[] packed = w.packed();
        var code = w.code();
        long i = from;
        while (i < to) {
            int b = (int) (i / bs);
            long end = Math.min(to, (long) (b + 1) * bs);
            float a = w.blockAbsmax(b);
            int at = (int) (i - from);
            if ((i & 1) == 1) { // an odd start takes the low nibble of its byte alone
                row[at++] = code.value(packed[(int) (i >> 1)] & 0xF) * a;
                i++;
            }
            for (; i + 1 < end; i += 2) {
                int by = packed[(int) (i >> 1)] & 0xFF;
                row[at++] = code.value(by >> 4) * a;
                row[at++] = code.value(by & 0xF) * a;
            }
            if (i < end) { // an odd end takes the high nibble alone
                row[at] = code.value((packed[(int) (i >> 1)] & 0xFF) >> 4) * a;
                i++;
            }
        }
    }

    private static final VectorSpecies<Float> S128 = FloatVector.SPECIES_128;
    private static final VectorSpecies<Float> S256 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Float> S512 = FloatVector.SPECIES_512;

    /**
     * Dispatches to a loop whose species is a compile-time constant: with a species that is only a parameter, C2
     * cannot keep the loop-carried accumulator in a register and boxes a vector per iteration.
     */
    private static float dot(VectorSpecies<Float> fs, float[] x, int xo, float[] row, int n) {
        if (fs == S512) return dotWith(S512, x, xo, row, n);
        if (fs == S256) return dotWith(S256, x, xo, row, n);
        if (fs == S128) return dotWith(S128, x, xo, row, n);
        return dotWith(fs, x, xo, row, n);
    }

    private static void axpy(VectorSpecies<Float> fs, float a, float[] row, float[] dst, int at, int n) {
        if (fs == S512) axpyWith(S512, a, row, dst, at, n);
        else if (fs == S256) axpyWith(S256, a, row, dst, at, n);
        else if (fs == S128) axpyWith(S128, a, row, dst, at, n);
        else axpyWith(fs, a, row, dst, at, n);
    }

    private static float dotWith(VectorSpecies<Float> fs, float[] x, int xo, float[] row, int n) {
        int lanes = fs.length(), k = 0;
        FloatVector acc = FloatVector.zero(fs);
        for (; k + lanes <= n; k += lanes)
            acc = FloatVector.fromArray(fs, x, xo + k).fma(FloatVector.fromArray(fs, row, k), acc);
        // lanes summed in a fixed order: reduceLanes(ADD) may associate differently once compiled than when
        // interpreted, and the same input must give the same bits every time
        float s = 0;
        for (int l = 0; l < lanes; l++) s += acc.lane(l);
        for (; k < n; k++) s = Math.fma(x[xo + k], row[k], s);
        return s;
    }

    private static void axpyWith(VectorSpecies<Float> fs, float a, float[] row, float[] dst, int at, int n) {
        int lanes = fs.length(), k = 0;
        FloatVector av = FloatVector.broadcast(fs, a);
        for (; k + lanes <= n; k += lanes)
            FloatVector.fromArray(fs, row, k)
                    .fma(av, FloatVector.fromArray(fs, dst, at + k))
                    .intoArray(dst, at + k);
        for (; k < n; k++) dst[at + k] = Math.fma(row[k], a, dst[at + k]);
    }
}
