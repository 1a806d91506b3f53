package dev.panthera.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GPTQ 4-bit product over a {@link GptqLayout} (rows sorted by group, activations permuted alike), at the
 * preferred width with the species as static final constants. Vectors run along the output features as qweight lays
 * them out. For each run of words in one group, the group's zero points are gathered once (as ints) and its scales
 * loaded once; each word's eight 4-bit codes are shifted out with a vector shift, the zero point subtracted in int
 * (exact), widened to float and multiplied into per-group partial sums t by fused multiply-adds; at the run's end
 * y += scale·t. Per weight that is shift, and, subtract, convert and one FMA, with the scale multiply once per group
 * instead of once per weight. A single activation row sweeps each word row across its whole column range (decode, a
 * forward stream over qweight); four rows share each decoded vector over two output vectors (prefill).
 *
 * <p>Rounding: each weight's (q − zero)·x is one FMA into t (the difference is an exact small integer), then one FMA
 * per group adds scale·t, so a term sees at most (group size + number of groups) roundings, at most K + 1 for K
 * inputs: within the bound of the per-weight kernel.
 */
final class GptqGroupedKernel {
    private GptqGroupedKernel() {}

    static final VectorSpecies<Float> FS = QuantLanes.F;
    static final VectorSpecies<Integer> IS = FS.withLanes(int.class);
    static final int L = FS.length();

    /** Whether this kernel runs at the preferred width: whole qzeros words per vector, as the per-row kernel needs. */
    static boolean supported() {
        return L % 8 == 0 || 8 % L == 0;
    }

    private static final int[] Z_MAP = new int[L], Z_SHIFT = new int[L];

    static {
        for (int i = 0; i < L; i++) {
            Z_MAP[i] = i >>> 3;
            Z_SHIFT[i] = (i & 7) << 2;
        }
    }

    /**
     * Output columns [from, to) of every row, {@code from} a multiple of L; columns past the last whole vector are
     * left to the caller (returned: the first one not done).
     */
    static int columns(GptqLayout l, float[] xs, int m, float[] y, int from, int to) {
        int r = 0;
        int end = from + (to - from) / L * L;
        for (; r + 4 <= m; r += 4) {
            int c = from;
            for (; c + 2 * L <= end; c += 2 * L) four2(l, xs, r, y, c);
            for (; c < end; c += L) for (int i = 0; i < 4; i++) one1(l, xs, r + i, y, c);
        }
        if (end > from) for (; r < m; r++) oneRow(l, xs, r, y, from, end);
        return end;
    }

    /** Zero points (q units) of outputs n..n + L in group g as ints: gathered words, each lane's nibble, +1. */
    private static IntVector zeros(GptqLayout l, int g, int n) {
        int out = l.out;
        int base = g * (out >>> 3) + (n >>> 3);
        IntVector shift = IntVector.fromArray(IS, Z_SHIFT, 0);
        if (L < 8) shift = shift.add((n & 7) << 2);
        return IntVector.fromArray(IS, l.qzeros, base, Z_MAP, 0)
                .lanewise(VectorOperators.LSHR, shift)
                .and(15)
                .add(1);
    }

    private static FloatVector code(IntVector word, int j, IntVector z) {
        return (FloatVector)
                word.lanewise(VectorOperators.LSHR, j << 2).and(15).sub(z).convert(VectorOperators.I2F, 0);
    }

    private static void one1(GptqLayout l, float[] xs, int r, float[] y, int n) {
        int out = l.out, xr = r * l.in;
        int[] qw = l.qweight;
        float[] sc = l.scales;
        FloatVector acc = FloatVector.zero(FS);
        for (int run = 0; run < l.runGroup.length; run++) {
            int g = l.runGroup[run];
            IntVector z = zeros(l, g, n);
            FloatVector t = FloatVector.zero(FS);
            for (int p = l.runStart[run]; p < l.runStart[run + 1]; p++) {
                IntVector w = IntVector.fromArray(IS, qw, p * out + n);
                int k = xr + (p << 3);
                for (int j = 0; j < 8; j++) t = code(w, j, z).fma(FloatVector.broadcast(FS, xs[k + j]), t);
            }
            acc = FloatVector.fromArray(FS, sc, g * out + n).fma(t, acc);
        }
        acc.intoArray(y, r * out + n);
    }

    /**
     * One activation row over columns [n0, n1) (whole vectors), sweeping each word row of qweight across the whole
     * column range before the next: qweight is [in/8, out], so that reads it as a forward stream, where going down
     * one column block at a time would jump a full row (out·4 bytes, a new page for wide layers) at every word and
     * wait on memory each time. The group's partial sums t live in {@code t} (the range's width, cache-resident).
     */
    private static void oneRow(GptqLayout l, float[] xs, int r, float[] y, int n0, int n1) {
        int out = l.out, xr = r * l.in, width = n1 - n0;
        int[] qw = l.qweight;
        int[] qz = l.qzeros, zb = new int[width];
        float[] sc = l.scales, t = new float[width], acc = new float[width];
        for (int run = 0; run < l.runGroup.length; run++) {
            int g = l.runGroup[run], zw = g * (out >>> 3);
            java.util.Arrays.fill(t, 0);
            for (int n = n0; n < n1; n++) zb[n - n0] = ((qz[zw + (n >>> 3)] >>> ((n & 7) << 2)) & 15) + 1;
            for (int p = l.runStart[run]; p < l.runStart[run + 1]; p++) {
                int k = xr + (p << 3), row = p * out;
                FloatVector x0 = FloatVector.broadcast(FS, xs[k]), x1 = FloatVector.broadcast(FS, xs[k + 1]);
                FloatVector x2 = FloatVector.broadcast(FS, xs[k + 2]), x3 = FloatVector.broadcast(FS, xs[k + 3]);
                FloatVector x4 = FloatVector.broadcast(FS, xs[k + 4]), x5 = FloatVector.broadcast(FS, xs[k + 5]);
                FloatVector x6 = FloatVector.broadcast(FS, xs[k + 6]), x7 = FloatVector.broadcast(FS, xs[k + 7]);
                for (int n = n0; n < n1; n += L) {
                    IntVector w = IntVector.fromArray(IS, qw, row + n), z = IntVector.fromArray(IS, zb, n - n0);
                    FloatVector a = FloatVector.fromArray(FS, t, n - n0);
                    a = code(w, 0, z).fma(x0, a);
                    a = code(w, 1, z).fma(x1, a);
                    a = code(w, 2, z).fma(x2, a);
                    a = code(w, 3, z).fma(x3, a);
                    a = code(w, 4, z).fma(x4, a);
                    a = code(w, 5, z).fma(x5, a);
                    a = code(w, 6, z).fma(x6, a);
                    a = code(w, 7, z).fma(x7, a);
                    a.intoArray(t, n - n0);
                }
            }
            for (int n = n0; n < n1; n += L) {
                FloatVector a = FloatVector.fromArray(FS, acc, n - n0);
                FloatVector.fromArray(FS, sc, g * out + n)
                        .fma(FloatVector.fromArray(FS, t, n - n0), a)
                        .intoArray(acc, n - n0);
            }
        }
        System.arraycopy(acc, 0, y, r * out + n0, width);
    }

    private static void four2(GptqLayout l, float[] xs, int r, float[] y, int n) {
        int out = l.out, in = l.in;
        int[] qw = l.qweight;
        float[] sc = l.scales;
        FloatVector a00 = FloatVector.zero(FS),
                a01 = a00,
                a10 = a00,
                a11 = a00,
                a20 = a00,
                a21 = a00,
                a30 = a00,
                a31 = a00;
        int x0 = r * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        for (int run = 0; run < l.runGroup.length; run++) {
            int g = l.runGroup[run];
            IntVector z0 = zeros(l, g, n), z1 = zeros(l, g, n + L);
            FloatVector t00 = FloatVector.zero(FS),
                    t01 = t00,
                    t10 = t00,
                    t11 = t00,
                    t20 = t00,
                    t21 = t00,
                    t30 = t00,
                    t31 = t00;
            for (int p = l.runStart[run]; p < l.runStart[run + 1]; p++) {
                IntVector w0 = IntVector.fromArray(IS, qw, p * out + n),
                        w1 = IntVector.fromArray(IS, qw, p * out + n + L);
                int k = p << 3;
                for (int j = 0; j < 8; j++) {
                    FloatVector d0 = code(w0, j, z0), d1 = code(w1, j, z1);
                    FloatVector v0 = FloatVector.broadcast(FS, xs[x0 + k + j]);
                    t00 = d0.fma(v0, t00);
                    t01 = d1.fma(v0, t01);
                    FloatVector v1 = FloatVector.broadcast(FS, xs[x1 + k + j]);
                    t10 = d0.fma(v1, t10);
                    t11 = d1.fma(v1, t11);
                    FloatVector v2 = FloatVector.broadcast(FS, xs[x2 + k + j]);
                    t20 = d0.fma(v2, t20);
                    t21 = d1.fma(v2, t21);
                    FloatVector v3 = FloatVector.broadcast(FS, xs[x3 + k + j]);
                    t30 = d0.fma(v3, t30);
                    t31 = d1.fma(v3, t31);
                }
            }
            FloatVector s0 = FloatVector.fromArray(FS, sc, g * out + n),
                    s1 = FloatVector.fromArray(FS, sc, g * out + n + L);
            a00 = s0.fma(t00, a00);
            a01 = s1.fma(t01, a01);
            a10 = s0.fma(t10, a10);
            a11 = s1.fma(t11, a11);
            a20 = s0.fma(t20, a20);
            a21 = s1.fma(t21, a21);
            a30 = s0.fma(t30, a30);
            a31 = s1.fma(t31, a31);
        }
        a00.intoArray(y, r * out + n);
        a01.intoArray(y, r * out + n + L);
        a10.intoArray(y, (r + 1) * out + n);
        a11.intoArray(y, (r + 1) * out + n + L);
        a20.intoArray(y, (r + 2) * out + n);
        a21.intoArray(y, (r + 2) * out + n + L);
        a30.intoArray(y, (r + 3) * out + n);
        a31.intoArray(y, (r + 3) * out + n + L);
    }
}
