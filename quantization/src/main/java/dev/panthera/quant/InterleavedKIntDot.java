package dev.panthera.quant;

import static dev.panthera.quant.InterleavedIntDot.F;
import static dev.panthera.quant.InterleavedIntDot.I;
import static dev.panthera.quant.InterleavedIntDot.LOW4S;
import static dev.panthera.quant.InterleavedIntDot.S;
import static dev.panthera.quant.InterleavedIntDot.floats;
import static dev.panthera.quant.InterleavedIntDot.ints;
import static dev.panthera.quant.InterleavedIntDot.nibbles;
import static dev.panthera.quant.InterleavedIntDot.quants;
import static dev.panthera.quant.InterleavedIntDot.widen;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The 16-bit kernels over {@link InterleavedWeight}'s K-quant row groups (Q4_K, Q5_K, Q6_K: super-blocks of 256),
 * against an activation row rounded to 8 bits per 256 as llama.cpp's Q8_K rounds it ({@link Q8Activation#q8KLanes}):
 * each super-block's integers exact, then scaled in floats as ggml's {@code ggml_vec_dot_*_K_q8_K} scale theirs.
 * The block-of-32 kernels (Q8_0, Q4_0) and the helpers both share are {@link InterleavedIntDot}'s;
 * {@link InterleavedIntDot#INT_KERNELS} must hold for every kernel here.
 */
final class InterleavedKIntDot {
    private InterleavedKIntDot() {}

    private static final int ROWS = InterleavedWeight.ROWS;

    /**
     * The sixteen rows of the Q4_K group whose nb headers start at byte {@code ho} and quant slabs at {@code qg} dotted
     * with an activation quantized per 256 to 8 bits (llama.cpp's Q8_K form, {@link Q8Activation#q8KLanes}), into y
     * from {@code yo}: xq the quants as shorts, dx each super-block's scale, xs32 the sum of each 32 quants, of
     * activation row {@code row} (from xq[row·256·nb], dx[row·nb] and xs32[row·8·nb]). Per super-block: d·dx·Σ_s
     * sc_s·(Σ q·xq)_s - dmin·dx·Σ_s m_s·(Σ xq)_s, the sums over sub-blocks s exact in ints (at most 8·63·60,960 and
     * 8·63·4,064), as llama.cpp's {@code ggml_vec_dot_q4_K_q8_K} forms them. A sub-block's 32 nibble products go to two
     * 16-bit sums of sixteen (at most 30,480 each), as in {@link InterleavedIntDot#q4_0Int}, formed one after the
     * other: with the four sums of a slab pair live at once the kernel ran at 26–27 GMAC/s, with two at 30–32 (768 ×
     * 2048 to 2048 × 5632, one thread, Zen 4). {@link InterleavedIntDot#INT_KERNELS} must hold.
     */
    static void q4KInt(
            byte[] w, int ho, int qg, int nb, short[] xq, float[] dx, int[] xs32, int row, float[] y, int yo) {
        FloatVector sum = FloatVector.zero(F), mins = sum;
        int xo = row * 256 * nb, so = row * 8 * nb;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K_HEADER, qo = qg + b * InterleavedWeight.K_QUANTS;
            IntVector t = IntVector.zero(I), n = t;
            for (int p = 0; p < 4; p++) { // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
                int sc = bo + 128 + ROWS * 2 * p, mn = sc + ROWS * 8, xb = xo + 256 * b + 64 * p;
                int slabs = qo + ROWS * 32 * p, sa = xs32[so + 8 * b + 2 * p], sb = xs32[so + 8 * b + 2 * p + 1];
                IntVector lo = IntVector.zero(I), hi = lo;
                for (int half = 0; half < 32; half += 16) { // sixteen slabs per pass: two 16-bit sums live
                    ShortVector la = ShortVector.zero(S), ha = la;
                    for (int j = half; j < half + 16; j++) {
                        ShortVector q = nibbles(w, slabs + ROWS * j);
                        la = la.add(q.and(LOW4S).mul(xq[xb + j]));
                        ha = ha.add(q.lanewise(VectorOperators.LSHR, 4).mul(xq[xb + 32 + j]));
                    }
                    lo = lo.add(widen(la));
                    hi = hi.add(widen(ha));
                }
                t = t.add(lo.mul(ints(w, sc))).add(hi.mul(ints(w, sc + ROWS)));
                n = n.add(ints(w, mn).mul(sa)).add(ints(w, mn + ROWS).mul(sb));
            }
            float sx = dx[row * nb + b];
            sum = ((FloatVector) t.convert(VectorOperators.I2F, 0))
                    .fma(floats(w, bo).mul(sx), sum);
            mins = ((FloatVector) n.convert(VectorOperators.I2F, 0))
                    .fma(floats(w, bo + 64).mul(sx), mins);
        }
        sum.sub(mins).intoArray(y, yo);
    }

    /**
     * {@link #q4KInt} for activation rows i and i + 1 at once (row r's quants from xq[r·k], its super-block scales from
     * dx[r·nb], its 32-quant sums from xs32[r·k/32], its outputs to y[r·n + yo]): each slab is loaded and split into
     * its nibbles once for both rows, and each row's sums are formed as q4KInt forms them (exact integers, then the
     * same float steps), so each row gets the bits q4KInt gives it alone. {@link InterleavedIntDot#INT_KERNELS} must
     * hold.
     */
    static void q4KInt2(
            byte[] w,
            int ho,
            int qg,
            int nb,
            short[] xq,
            int k,
            float[] dx,
            int[] xs32,
            int i,
            float[] y,
            int n,
            int yo) {
        FloatVector sum0 = FloatVector.zero(F), mins0 = sum0, sum1 = sum0, mins1 = sum0;
        int x0 = i * k, x1 = x0 + k, g0 = i * (k / 32), g1 = g0 + k / 32;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K_HEADER, qo = qg + b * InterleavedWeight.K_QUANTS;
            IntVector t0 = IntVector.zero(I), n0 = t0, t1 = t0, n1 = t0;
            for (int p = 0; p < 4; p++) { // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
                int sc = bo + 128 + ROWS * 2 * p, mn = sc + ROWS * 8, xb = 256 * b + 64 * p, slabs = qo + ROWS * 32 * p;
                int sub = 8 * b + 2 * p;
                IntVector lo0 = IntVector.zero(I), hi0 = lo0, lo1 = lo0, hi1 = lo0;
                for (int half = 0; half < 32; half += 16) {
                    ShortVector la0 = ShortVector.zero(S), ha0 = la0, la1 = la0, ha1 = la0;
                    for (int j = half; j < half + 16; j++) {
                        ShortVector q = nibbles(w, slabs + ROWS * j);
                        ShortVector lo = q.and(LOW4S), hi = q.lanewise(VectorOperators.LSHR, 4);
                        la0 = la0.add(lo.mul(xq[x0 + xb + j]));
                        ha0 = ha0.add(hi.mul(xq[x0 + xb + 32 + j]));
                        la1 = la1.add(lo.mul(xq[x1 + xb + j]));
                        ha1 = ha1.add(hi.mul(xq[x1 + xb + 32 + j]));
                    }
                    lo0 = lo0.add(widen(la0));
                    hi0 = hi0.add(widen(ha0));
                    lo1 = lo1.add(widen(la1));
                    hi1 = hi1.add(widen(ha1));
                }
                IntVector scA = ints(w, sc), scB = ints(w, sc + ROWS), mnA = ints(w, mn), mnB = ints(w, mn + ROWS);
                t0 = t0.add(lo0.mul(scA)).add(hi0.mul(scB));
                t1 = t1.add(lo1.mul(scA)).add(hi1.mul(scB));
                n0 = n0.add(mnA.mul(xs32[g0 + sub])).add(mnB.mul(xs32[g0 + sub + 1]));
                n1 = n1.add(mnA.mul(xs32[g1 + sub])).add(mnB.mul(xs32[g1 + sub + 1]));
            }
            FloatVector d = floats(w, bo), dmin = floats(w, bo + 64);
            float sx0 = dx[i * nb + b], sx1 = dx[(i + 1) * nb + b];
            sum0 = ((FloatVector) t0.convert(VectorOperators.I2F, 0)).fma(d.mul(sx0), sum0);
            mins0 = ((FloatVector) n0.convert(VectorOperators.I2F, 0)).fma(dmin.mul(sx0), mins0);
            sum1 = ((FloatVector) t1.convert(VectorOperators.I2F, 0)).fma(d.mul(sx1), sum1);
            mins1 = ((FloatVector) n1.convert(VectorOperators.I2F, 0)).fma(dmin.mul(sx1), mins1);
        }
        sum0.sub(mins0).intoArray(y, i * n + yo);
        sum1.sub(mins1).intoArray(y, (i + 1) * n + yo);
    }

    /**
     * The sixteen rows of the Q6_K group whose nb headers start at byte {@code ho} and quants at {@code qg} dotted with
     * an activation quantized per 256 to 8 bits ({@link Q8Activation#q8KLanes}), into y from {@code yo}: xq the quants
     * as shorts and dx each super-block's scale, of activation row {@code row} (from xq[row·256·nb] and dx[row·nb]).
     * Per super-block: (d·dx)·Σ_s sc_s·Σ (q - 32)·xq over its sixteen sub-blocks of sixteen, the integer exact (at most
     * 16·128·16·32·127), as llama.cpp's {@code ggml_vec_dot_q6_K_q8_K} forms it and scales it by the same float
     * product. Each weight is stored as the signed byte q - 32 (in [-32, 31], {@link InterleavedWeight}), so a
     * sub-block's sixteen products go to two 16-bit sums of eight (at most 8·32·127 = 32,512 each; sixteen would pass
     * 32,767), widened to ints and multiplied by the sub-block's scale. {@link InterleavedIntDot#INT_KERNELS} must
     * hold.
     */
    static void q6KInt(byte[] w, int ho, int qg, int nb, short[] xq, float[] dx, int row, float[] y, int yo) {
        FloatVector sum = FloatVector.zero(F);
        int xo = row * 256 * nb;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K6_HEADER, qo = qg + b * InterleavedWeight.K6_QUANTS;
            IntVector t = IntVector.zero(I);
            for (int s = 0; s < 16; s++) {
                int at = qo + ROWS * 16 * s, xs = xo + 256 * b + 16 * s;
                ShortVector lo = ShortVector.zero(S), hi = lo;
                for (int j = 0; j < 8; j++) {
                    lo = lo.add(quants(w, at + ROWS * j).mul(xq[xs + j]));
                    hi = hi.add(quants(w, at + ROWS * (8 + j)).mul(xq[xs + 8 + j]));
                }
                t = t.add(widen(lo).add(widen(hi)).mul(ints(w, bo + 64 + ROWS * s)));
            }
            sum = ((FloatVector) t.convert(VectorOperators.I2F, 0))
                    .fma(floats(w, bo).mul(dx[row * nb + b]), sum);
        }
        sum.intoArray(y, yo);
    }

    /**
     * {@link #q6KInt} for activation rows i .. i + 3 at once (row r's quants from xq[r·k], its super-block scales from
     * dx[r·nb], its outputs to y[r·n + yo]): each slab is loaded and widened once for the four rows, and each row's
     * integer is q6KInt's (the same sums of eight, widened and scaled per sub-block) and scaled by the same float
     * steps, so each row gets the bits q6KInt gives it alone. The four rows go through one parsed loop body, their sums
     * rotating as in {@link #q4KInt4}: written out per row, a four-prompt decode of a Q4_K_M file ran at 0.65 of the
     * one-row kernel called four times. {@link InterleavedIntDot#INT_KERNELS} must hold.
     */
    static void q6KInt4(
            byte[] w, int ho, int qg, int nb, short[] xq, int k, float[] dx, int i, float[] y, int n, int yo) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K6_HEADER, qo = qg + b * InterleavedWeight.K6_QUANTS;
            IntVector t0 = IntVector.zero(I), t1 = t0, t2 = t0, t3 = t0;
            for (int s = 0; s < 16; s++) {
                int at = qo + ROWS * 16 * s, x = i * k + 256 * b + 16 * s;
                ShortVector l0 = ShortVector.zero(S), l1 = l0, l2 = l0, l3 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0;
                for (int j = 0; j < 8; j++) {
                    ShortVector p = quants(w, at + ROWS * j), q = quants(w, at + ROWS * (8 + j));
                    int xr = x + j;
                    for (int r = 0; r < 4; r++) { // one parsed body, the rows' sums rotating (see HalfDots.dot2)
                        ShortVector lo = l0.add(p.mul(xq[xr])), hi = h0.add(q.mul(xq[xr + 8]));
                        l0 = l1;
                        l1 = l2;
                        l2 = l3;
                        l3 = lo;
                        h0 = h1;
                        h1 = h2;
                        h2 = h3;
                        h3 = hi;
                        xr += k;
                    }
                }
                IntVector sc = ints(w, bo + 64 + ROWS * s);
                for (int r = 0; r < 4; r++) {
                    IntVector t = t0.add(widen(l0).add(widen(h0)).mul(sc));
                    t0 = t1;
                    t1 = t2;
                    t2 = t3;
                    t3 = t;
                    l0 = l1;
                    l1 = l2;
                    l2 = l3;
                    h0 = h1;
                    h1 = h2;
                    h2 = h3;
                }
            }
            FloatVector d = floats(w, bo);
            int r = i * nb + b;
            s0 = ((FloatVector) t0.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r]), s0);
            s1 = ((FloatVector) t1.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + nb]), s1);
            s2 = ((FloatVector) t2.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 2 * nb]), s2);
            s3 = ((FloatVector) t3.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 3 * nb]), s3);
        }
        s0.intoArray(y, i * n + yo);
        s1.intoArray(y, (i + 1) * n + yo);
        s2.intoArray(y, (i + 2) * n + yo);
        s3.intoArray(y, (i + 3) * n + yo);
    }

    /**
     * The sixteen rows of the Q5_K group whose nb headers start at byte {@code ho} and quants at {@code qg} dotted with
     * an activation quantized per 256 to 8 bits ({@link Q8Activation#q8KLanes}), into y from {@code yo}: xq the quants
     * as shorts, dx each super-block's scale, xs32 the sum of each 32 quants, of activation row {@code row} (from
     * xq[row·256·nb], dx[row·nb] and xs32[row·8·nb]). Per super-block: d·dx·Σ_s sc_s·(Σ q·xq)_s - dmin·dx·Σ_s
     * m_s·(Σ xq)_s, the sums over sub-blocks s exact in ints, as llama.cpp's {@code ggml_vec_dot_q5_K_q8_K} forms them.
     * Each weight is stored as the signed byte q - 16 (in [-16, 15], {@link InterleavedWeight}), so a sub-block's 32
     * products go to two 16-bit sums of sixteen (at most 16·16·127 = 32,512 each) and Σ q·xq is their widened sum plus
     * 16·Σ xq. {@link InterleavedIntDot#INT_KERNELS} must hold.
     */
    static void q5KInt(
            byte[] w, int ho, int qg, int nb, short[] xq, float[] dx, int[] xs32, int row, float[] y, int yo) {
        FloatVector sum = FloatVector.zero(F), mins = sum;
        int xo = row * 256 * nb, so = row * 8 * nb;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K_HEADER, qo = qg + b * InterleavedWeight.K5_QUANTS;
            IntVector t = IntVector.zero(I), n = t;
            for (int s = 0; s < 8; s++) {
                int at = qo + ROWS * 32 * s, xs = xo + 256 * b + 32 * s, sx = xs32[so + 8 * b + s];
                ShortVector lo = ShortVector.zero(S), hi = lo;
                for (int j = 0; j < 16; j++) {
                    lo = lo.add(quants(w, at + ROWS * j).mul(xq[xs + j]));
                    hi = hi.add(quants(w, at + ROWS * (16 + j)).mul(xq[xs + 16 + j]));
                }
                t = t.add(widen(lo).add(widen(hi)).add(16 * sx).mul(ints(w, bo + 128 + ROWS * s)));
                n = n.add(ints(w, bo + 128 + ROWS * (8 + s)).mul(sx));
            }
            float d = dx[row * nb + b];
            sum = ((FloatVector) t.convert(VectorOperators.I2F, 0))
                    .fma(floats(w, bo).mul(d), sum);
            mins = ((FloatVector) n.convert(VectorOperators.I2F, 0))
                    .fma(floats(w, bo + 64).mul(d), mins);
        }
        sum.sub(mins).intoArray(y, yo);
    }

    /**
     * {@link #q5KInt} for activation rows i .. i + 3 at once (row r's quants from xq[r·k], its super-block scales from
     * dx[r·nb], its 32-quant sums from xs32[r·k/32], its outputs to y[r·n + yo]): each slab is loaded and widened once
     * for the four rows, the rows' sums rotating through one parsed loop body as in {@link #q4KInt4}; each row's
     * integers and float steps are q5KInt's, so each row gets the bits q5KInt gives it alone. {@link
     * InterleavedIntDot#INT_KERNELS} must hold.
     */
    static void q5KInt4(
            byte[] w,
            int ho,
            int qg,
            int nb,
            short[] xq,
            int k,
            float[] dx,
            int[] xs32,
            int i,
            float[] y,
            int n,
            int yo) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0, m0 = s0, m1 = s0, m2 = s0, m3 = s0;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K_HEADER, qo = qg + b * InterleavedWeight.K5_QUANTS;
            IntVector t0 = IntVector.zero(I), t1 = t0, t2 = t0, t3 = t0, n0 = t0, n1 = t0, n2 = t0, n3 = t0;
            for (int s = 0; s < 8; s++) {
                int at = qo + ROWS * 32 * s, x = i * k + 256 * b + 32 * s;
                ShortVector l0 = ShortVector.zero(S), l1 = l0, l2 = l0, l3 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0;
                for (int j = 0; j < 16; j++) {
                    ShortVector p = quants(w, at + ROWS * j), q = quants(w, at + ROWS * (16 + j));
                    int xr = x + j;
                    for (int r = 0; r < 4; r++) { // one parsed body, the rows' sums rotating (see HalfDots.dot2)
                        ShortVector lo = l0.add(p.mul(xq[xr])), hi = h0.add(q.mul(xq[xr + 16]));
                        l0 = l1;
                        l1 = l2;
                        l2 = l3;
                        l3 = lo;
                        h0 = h1;
                        h1 = h2;
                        h2 = h3;
                        h3 = hi;
                        xr += k;
                    }
                }
                IntVector sc = ints(w, bo + 128 + ROWS * s), mn = ints(w, bo + 128 + ROWS * (8 + s));
                int g = i * (k / 32) + 8 * b + s;
                for (int r = 0; r < 4; r++) {
                    int sx = xs32[g];
                    IntVector t = t0.add(widen(l0).add(widen(h0)).add(16 * sx).mul(sc)), v = n0.add(mn.mul(sx));
                    t0 = t1;
                    t1 = t2;
                    t2 = t3;
                    t3 = t;
                    n0 = n1;
                    n1 = n2;
                    n2 = n3;
                    n3 = v;
                    l0 = l1;
                    l1 = l2;
                    l2 = l3;
                    h0 = h1;
                    h1 = h2;
                    h2 = h3;
                    g += k / 32;
                }
            }
            FloatVector d = floats(w, bo), dmin = floats(w, bo + 64);
            int r = i * nb + b;
            s0 = ((FloatVector) t0.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r]), s0);
            m0 = ((FloatVector) n0.convert(VectorOperators.I2F, 0)).fma(dmin.mul(dx[r]), m0);
            s1 = ((FloatVector) t1.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + nb]), s1);
            m1 = ((FloatVector) n1.convert(VectorOperators.I2F, 0)).fma(dmin.mul(dx[r + nb]), m1);
            s2 = ((FloatVector) t2.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 2 * nb]), s2);
            m2 = ((FloatVector) n2.convert(VectorOperators.I2F, 0)).fma(dmin.mul(dx[r + 2 * nb]), m2);
            s3 = ((FloatVector) t3.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 3 * nb]), s3);
            m3 = ((FloatVector) n3.convert(VectorOperators.I2F, 0)).fma(dmin.mul(dx[r + 3 * nb]), m3);
        }
        s0.sub(m0).intoArray(y, i * n + yo);
        s1.sub(m1).intoArray(y, (i + 1) * n + yo);
        s2.sub(m2).intoArray(y, (i + 2) * n + yo);
        s3.sub(m3).intoArray(y, (i + 3) * n + yo);
    }

    /**
     * {@link #q4KInt} for activation rows i .. i + 3 at once (row r's quants from xq[r·k], its super-block scales from
     * dx[r·nb], its 32-quant sums from xs32[r·k/32], its outputs to y[r·n + yo]): each slab is loaded and split into
     * its nibbles once for the four rows. A row's sixteen-slab 16-bit sums are widened and scaled into its integer per
     * sixteen slabs rather than per sub-block; integer addition being exact, each row's integers are q4KInt's and the
     * float steps after them are q4KInt's, so each row gets the bits q4KInt gives it alone. The four rows go through
     * one parsed loop body, their sums rotating as in {@code HalfDots.dot2}: written out per row, the kernel ran at
     * half the speed of {@link #q4KInt2} (C2's node limit). {@link InterleavedIntDot#INT_KERNELS} must hold.
     */
    static void q4KInt4(
            byte[] w,
            int ho,
            int qg,
            int nb,
            short[] xq,
            int k,
            float[] dx,
            int[] xs32,
            int i,
            float[] y,
            int n,
            int yo) {
        FloatVector sum0 = FloatVector.zero(F), mins0 = sum0, sum1 = sum0, mins1 = sum0;
        FloatVector sum2 = sum0, mins2 = sum0, sum3 = sum0, mins3 = sum0;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K_HEADER, qo = qg + b * InterleavedWeight.K_QUANTS;
            IntVector t0 = IntVector.zero(I), n0 = t0, t1 = t0, n1 = t0, t2 = t0, n2 = t0, t3 = t0, n3 = t0;
            for (int p = 0; p < 4; p++) { // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
                int sc = bo + 128 + ROWS * 2 * p, mn = sc + ROWS * 8, xb = 256 * b + 64 * p, slabs = qo + ROWS * 32 * p;
                int sub = 8 * b + 2 * p;
                IntVector scA = ints(w, sc), scB = ints(w, sc + ROWS);
                for (int half = 0; half < 32; half += 16) {
                    ShortVector la0 = ShortVector.zero(S), ha0 = la0, la1 = la0, ha1 = la0;
                    ShortVector la2 = la0, ha2 = la0, la3 = la0, ha3 = la0;
                    for (int j = half; j < half + 16; j++) {
                        ShortVector q = nibbles(w, slabs + ROWS * j);
                        ShortVector lo = q.and(LOW4S), hi = q.lanewise(VectorOperators.LSHR, 4);
                        int xr = i * k + xb + j;
                        for (int r = 0; r < 4; r++) { // one parsed body, the rows' sums rotating (see HalfDots.dot2)
                            ShortVector a = la0.add(lo.mul(xq[xr])), h = ha0.add(hi.mul(xq[xr + 32]));
                            la0 = la1;
                            la1 = la2;
                            la2 = la3;
                            la3 = a;
                            ha0 = ha1;
                            ha1 = ha2;
                            ha2 = ha3;
                            ha3 = h;
                            xr += k;
                        }
                    }
                    for (int r = 0; r < 4; r++) {
                        IntVector t = t0.add(widen(la0).mul(scA)).add(widen(ha0).mul(scB));
                        t0 = t1;
                        t1 = t2;
                        t2 = t3;
                        t3 = t;
                        la0 = la1;
                        la1 = la2;
                        la2 = la3;
                        ha0 = ha1;
                        ha1 = ha2;
                        ha2 = ha3;
                    }
                }
                IntVector mnA = ints(w, mn), mnB = ints(w, mn + ROWS);
                int g = i * (k / 32) + sub;
                for (int r = 0; r < 4; r++) {
                    IntVector v = n0.add(mnA.mul(xs32[g])).add(mnB.mul(xs32[g + 1]));
                    n0 = n1;
                    n1 = n2;
                    n2 = n3;
                    n3 = v;
                    g += k / 32;
                }
            }
            FloatVector d = floats(w, bo), dmin = floats(w, bo + 64);
            int r = i * nb + b;
            sum0 = ((FloatVector) t0.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r]), sum0);
            mins0 = ((FloatVector) n0.convert(VectorOperators.I2F, 0)).fma(dmin.mul(dx[r]), mins0);
            sum1 = ((FloatVector) t1.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + nb]), sum1);
            mins1 = ((FloatVector) n1.convert(VectorOperators.I2F, 0)).fma(dmin.mul(dx[r + nb]), mins1);
            sum2 = ((FloatVector) t2.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 2 * nb]), sum2);
            mins2 = ((FloatVector) n2.convert(VectorOperators.I2F, 0)).fma(dmin.mul(dx[r + 2 * nb]), mins2);
            sum3 = ((FloatVector) t3.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 3 * nb]), sum3);
            mins3 = ((FloatVector) n3.convert(VectorOperators.I2F, 0)).fma(dmin.mul(dx[r + 3 * nb]), mins3);
        }
        sum0.sub(mins0).intoArray(y, i * n + yo);
        sum1.sub(mins1).intoArray(y, (i + 1) * n + yo);
        sum2.sub(mins2).intoArray(y, (i + 2) * n + yo);
        sum3.sub(mins3).intoArray(y, (i + 3) * n + yo);
    }
}
