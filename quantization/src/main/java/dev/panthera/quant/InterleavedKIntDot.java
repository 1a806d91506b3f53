package dev.panthera.quant;

import static dev.panthera.quant.InterleavedIntDot.F;
import static dev.panthera.quant.InterleavedIntDot.I;
import static dev.panthera.quant.InterleavedIntDot.S;
import static dev.panthera.quant.InterleavedIntDot.floats;
import static dev.panthera.quant.InterleavedIntDot.ints;
import static dev.panthera.quant.InterleavedIntDot.quants;
import static dev.panthera.quant.InterleavedIntDot.widen;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.LSHL;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

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

    /** A pair slab's sixteen rows, two quant bytes each, as 32 shorts ({@link InterleavedWeight#pairByte}). */
    private static final VectorSpecies<Short> S2 = ShortVector.SPECIES_512;

    private static final VectorSpecies<Byte> SB2 = ByteVector.SPECIES_256;
    private static final ShortVector LOW4S2 = ShortVector.broadcast(S2, (short) 15);

    /** The pair slab at {@code at}, zero-extended: row r's quant bytes j and j + 1 in shorts 2r and 2r + 1. */
    private static ShortVector pairSlab(byte[] w, int at) {
        return (ShortVector) ByteVector.fromArray(SB2, w, at).convertShape(VectorOperators.ZERO_EXTEND_B2S, S2, 0);
    }

    /** The pair slab at {@code at} of signed bytes (Q5_K), sign-extended, as {@link #pairSlab}. */
    private static ShortVector pairQuants(byte[] w, int at) {
        return (ShortVector) ByteVector.fromArray(SB2, w, at).convertShape(VectorOperators.B2S, S2, 0);
    }

    /** Activation quants 2u and 2u + 1 ({@link #pairs}' element u) in the low and high short of every 32-bit lane. */
    private static ShortVector pair(int[] xp, int u) {
        return IntVector.broadcast(I, xp[u]).reinterpretAsShorts();
    }

    /**
     * Activation quants as the Q4_K and Q5_K kernels read them: element u holds xq[2u] in its low 16 bits and
     * xq[2u + 1] in its high 16 bits (xq's length even).
     */
    static int[] pairs(short[] xq) {
        int[] xp = new int[xq.length / 2];
        // on a little-endian machine two adjacent shorts in memory are that int already: one bulk copy
        if (LITTLE_ENDIAN)
            MemorySegment.copy(MemorySegment.ofArray(xq), ValueLayout.JAVA_INT_UNALIGNED, 0, xp, 0, xp.length);
        else for (int u = 0; u < xp.length; u++) xp[u] = (xq[2 * u] & 0xFFFF) | xq[2 * u + 1] << 16;
        return xp;
    }

    private static final boolean LITTLE_ENDIAN = java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN;

    /**
     * The sixteen rows of the Q4_K group whose nb headers start at byte {@code ho} and quant slabs at {@code qg} dotted
     * with an activation quantized per 256 to 8 bits (llama.cpp's Q8_K form, {@link Q8Activation#q8KLanes}), into y
     * from {@code yo}: xp the quants in pairs ({@link #pairs}) and dx each super-block's scale, of activation row
     * {@code row} (from xp[row·128·nb] and dx[row·nb]). Per super-block: d·dx·Σ_s sc_s·(Σ q·xq)_s, the sum over
     * sub-blocks s exact in ints (at most 8·63·60,960), as llama.cpp's {@code ggml_vec_dot_q4_K_q8_K} forms it; the
     * sum over super-blocks less the mins' share, which y holds on entry ({@link #q4KMins}). A pair slab holds two
     * quant bytes of each row side by side (32 shorts); multiplied by two activation quants broadcast as one int, each
     * row's 32-bit lane gets one product of an even byte in its low short and one of an odd byte in its high short, so
     * a sub-block's 32 products go to one 16-bit sum of sixteen per half lane (at most 30,480), the two added per row
     * as ints: the high short shifted down with its sign, the low one shifted up and back. {@link
     * InterleavedIntDot#INT_KERNELS} must hold.
     */
    static void q4KInt(byte[] w, int ho, int qg, int nb, int[] xp, float[] dx, int row, float[] y, int yo) {
        FloatVector sum = FloatVector.zero(F);
        int xo = row * 128 * nb;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K_HEADER, qo = qg + b * InterleavedWeight.K_QUANTS;
            IntVector t = IntVector.zero(I);
            for (int p = 0; p < 4; p++) { // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
                int sc = bo + 128 + ROWS * 2 * p, xb = xo + 128 * b + 32 * p, slabs = qo + ROWS * 32 * p;
                ShortVector la = ShortVector.zero(S2), ha = la;
                for (int u = 0; u < 16; u++) {
                    ShortVector q = pairSlab(w, slabs + 2 * ROWS * u);
                    la = la.add(q.and(LOW4S2).mul(pair(xp, xb + u)));
                    ha = ha.add(q.lanewise(VectorOperators.LSHR, 4).mul(pair(xp, xb + 16 + u)));
                }
                // each 32-bit lane's two 16-bit sums added as ints (written out: as a method C2 left it out of line)
                IntVector l = la.reinterpretAsInts(), h = ha.reinterpretAsInts();
                l = l.lanewise(ASHR, 16).add(l.lanewise(LSHL, 16).lanewise(ASHR, 16));
                h = h.lanewise(ASHR, 16).add(h.lanewise(LSHL, 16).lanewise(ASHR, 16));
                t = t.add(l.mul(ints(w, sc))).add(h.mul(ints(w, sc + ROWS)));
            }
            sum = ((FloatVector) t.convert(VectorOperators.I2F, 0))
                    .fma(floats(w, bo).mul(dx[row * nb + b]), sum);
        }
        sum.sub(FloatVector.fromArray(F, y, yo)).intoArray(y, yo);
    }

    /**
     * The mins' share of the Q4_K group's sixteen rows for activation row {@code row} (arguments as {@link #q4KInt}'s):
     * dmin·dx·Σ_s m_s·(Σ xq)_s summed over the super-blocks as {@code ggml_vec_dot_q4_K_q8_K} forms it, into y from
     * {@code yo}, for {@link #q4KInt} and its several-row forms to subtract from their own share. It has a method of
     * its own because in the kernels' it put them past C2's inlining node limit (a helper then left out of line).
     */
    static void q4KMins(byte[] w, int ho, int nb, float[] dx, int[] xs32, int row, float[] y, int yo) {
        FloatVector mins = FloatVector.zero(F);
        int so = row * 8 * nb;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K_HEADER;
            IntVector n = IntVector.zero(I);
            for (int p = 0; p < 4; p++) {
                int mn = bo + 128 + ROWS * 2 * p + ROWS * 8, sa = xs32[so + 8 * b + 2 * p];
                n = n.add(ints(w, mn).mul(sa)).add(ints(w, mn + ROWS).mul(xs32[so + 8 * b + 2 * p + 1]));
            }
            mins = ((FloatVector) n.convert(VectorOperators.I2F, 0))
                    .fma(floats(w, bo + 64).mul(dx[row * nb + b]), mins);
        }
        mins.intoArray(y, yo);
    }

    /**
     * {@link #q4KInt} for activation rows i and i + 1 at once (row r's quant pairs from xp[r·k/2], its super-block
     * scales from dx[r·nb], its outputs to y[r·n + yo], where its mins' share is on entry): each pair slab is loaded
     * and split into its nibbles once for both rows, and each row's sums are formed as q4KInt forms them (exact
     * integers, then the same float steps), so each row gets the bits q4KInt gives it alone. {@link
     * InterleavedIntDot#INT_KERNELS} must hold.
     */
    static void q4KInt2(
            byte[] w, int ho, int qg, int nb, int[] xp, int k, float[] dx, int i, float[] y, int n, int yo) {
        FloatVector sum0 = FloatVector.zero(F), sum1 = sum0;
        int x0 = i * (k / 2), x1 = x0 + k / 2;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K_HEADER, qo = qg + b * InterleavedWeight.K_QUANTS;
            IntVector t0 = IntVector.zero(I), t1 = t0;
            for (int p = 0; p < 4; p++) { // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
                int sc = bo + 128 + ROWS * 2 * p, xb = 128 * b + 32 * p, slabs = qo + ROWS * 32 * p;
                ShortVector la0 = ShortVector.zero(S2), ha0 = la0, la1 = la0, ha1 = la0;
                for (int u = 0; u < 16; u++) {
                    ShortVector q = pairSlab(w, slabs + 2 * ROWS * u);
                    ShortVector lo = q.and(LOW4S2), hi = q.lanewise(VectorOperators.LSHR, 4);
                    la0 = la0.add(lo.mul(pair(xp, x0 + xb + u)));
                    ha0 = ha0.add(hi.mul(pair(xp, x0 + xb + 16 + u)));
                    la1 = la1.add(lo.mul(pair(xp, x1 + xb + u)));
                    ha1 = ha1.add(hi.mul(pair(xp, x1 + xb + 16 + u)));
                }
                IntVector scA = ints(w, sc), scB = ints(w, sc + ROWS);
                IntVector l0 = la0.reinterpretAsInts(), h0 = ha0.reinterpretAsInts();
                IntVector l1 = la1.reinterpretAsInts(), h1 = ha1.reinterpretAsInts();
                l0 = l0.lanewise(ASHR, 16).add(l0.lanewise(LSHL, 16).lanewise(ASHR, 16));
                h0 = h0.lanewise(ASHR, 16).add(h0.lanewise(LSHL, 16).lanewise(ASHR, 16));
                l1 = l1.lanewise(ASHR, 16).add(l1.lanewise(LSHL, 16).lanewise(ASHR, 16));
                h1 = h1.lanewise(ASHR, 16).add(h1.lanewise(LSHL, 16).lanewise(ASHR, 16));
                t0 = t0.add(l0.mul(scA)).add(h0.mul(scB));
                t1 = t1.add(l1.mul(scA)).add(h1.mul(scB));
            }
            FloatVector d = floats(w, bo);
            sum0 = ((FloatVector) t0.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[i * nb + b]), sum0);
            sum1 = ((FloatVector) t1.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[(i + 1) * nb + b]), sum1);
        }
        sum0.sub(FloatVector.fromArray(F, y, i * n + yo)).intoArray(y, i * n + yo);
        sum1.sub(FloatVector.fromArray(F, y, (i + 1) * n + yo)).intoArray(y, (i + 1) * n + yo);
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
     * an activation quantized per 256 to 8 bits ({@link Q8Activation#q8KLanes}), into y from {@code yo}: xp the quants
     * in pairs ({@link #pairs}), dx each super-block's scale, xs32 the sum of each 32 quants, of activation row {@code
     * row} (from xp[row·128·nb], dx[row·nb] and xs32[row·8·nb]). Per super-block: d·dx·Σ_s sc_s·(Σ q·xq)_s -
     * dmin·dx·Σ_s m_s·(Σ xq)_s, the sums over sub-blocks s exact in ints, as llama.cpp's {@code
     * ggml_vec_dot_q5_K_q8_K} forms them. Each weight is stored as the signed byte q - 16 (in [-16, 15], {@link
     * InterleavedWeight}), two of each row side by side as in {@link #q4KInt}, so a sub-block's 32 products go to one
     * 16-bit sum of sixteen per half lane (at most 16·16·127 = 32,512), and Σ q·xq is the halves' sum plus 16·Σ xq.
     * {@link InterleavedIntDot#INT_KERNELS} must hold.
     */
    static void q5KInt(byte[] w, int ho, int qg, int nb, int[] xp, float[] dx, int[] xs32, int row, float[] y, int yo) {
        FloatVector sum = FloatVector.zero(F), mins = sum;
        int xo = row * 128 * nb, so = row * 8 * nb;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K_HEADER, qo = qg + b * InterleavedWeight.K5_QUANTS;
            IntVector t = IntVector.zero(I), n = t;
            for (int s = 0; s < 8; s++) {
                int at = qo + ROWS * 32 * s, xs = xo + 128 * b + 16 * s, sx = xs32[so + 8 * b + s];
                ShortVector a = ShortVector.zero(S2);
                for (int u = 0; u < 16; u++)
                    a = a.add(pairQuants(w, at + 2 * ROWS * u).mul(pair(xp, xs + u)));
                IntVector v = a.reinterpretAsInts();
                v = v.lanewise(ASHR, 16).add(v.lanewise(LSHL, 16).lanewise(ASHR, 16));
                t = t.add(v.add(16 * sx).mul(ints(w, bo + 128 + ROWS * s)));
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
     * {@link #q5KInt} for activation rows i .. i + 3 at once (row r's quant pairs from xp[r·k/2], its super-block
     * scales from dx[r·nb], its 32-quant sums from xs32[r·k/32], its outputs to y[r·n + yo]): each pair slab is loaded
     * and widened once for the four rows, the rows' sums rotating through one parsed loop body as in {@link #q4KInt4};
     * each row's integers and float steps are q5KInt's, so each row gets the bits q5KInt gives it alone. {@link
     * InterleavedIntDot#INT_KERNELS} must hold.
     */
    static void q5KInt4(
            byte[] w,
            int ho,
            int qg,
            int nb,
            int[] xp,
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
                int at = qo + ROWS * 32 * s, x = i * (k / 2) + 128 * b + 16 * s;
                ShortVector a0 = ShortVector.zero(S2), a1 = a0, a2 = a0, a3 = a0;
                for (int u = 0; u < 16; u++) {
                    ShortVector q = pairQuants(w, at + 2 * ROWS * u);
                    int xr = x + u;
                    for (int r = 0; r < 4; r++) { // one parsed body, the rows' sums rotating (see HalfDots.dot2)
                        ShortVector a = a0.add(q.mul(pair(xp, xr)));
                        a0 = a1;
                        a1 = a2;
                        a2 = a3;
                        a3 = a;
                        xr += k / 2;
                    }
                }
                IntVector sc = ints(w, bo + 128 + ROWS * s), mn = ints(w, bo + 128 + ROWS * (8 + s));
                int g = i * (k / 32) + 8 * b + s;
                for (int r = 0; r < 4; r++) {
                    int sx = xs32[g];
                    IntVector v = a0.reinterpretAsInts();
                    v = v.lanewise(ASHR, 16).add(v.lanewise(LSHL, 16).lanewise(ASHR, 16));
                    IntVector t = t0.add(v.add(16 * sx).mul(sc)), e = n0.add(mn.mul(sx));
                    t0 = t1;
                    t1 = t2;
                    t2 = t3;
                    t3 = t;
                    n0 = n1;
                    n1 = n2;
                    n2 = n3;
                    n3 = e;
                    a0 = a1;
                    a1 = a2;
                    a2 = a3;
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
     * {@link #q4KInt} for activation rows i .. i + 3 at once (row r's quant pairs from xp[r·k/2], its super-block
     * scales from dx[r·nb], its outputs to y[r·n + yo], where its mins' share is on entry): each pair slab is loaded
     * and split into its nibbles once for the four rows; each row's integers are q4KInt's and the float steps after
     * them are q4KInt's, so each row gets the bits q4KInt gives it alone. The four rows go through one parsed loop
     * body, their sums rotating as in {@code HalfDots.dot2}: written out per row, the kernel ran at half the speed of
     * {@link #q4KInt2} (C2's node limit). {@link InterleavedIntDot#INT_KERNELS} must hold.
     */
    static void q4KInt4(
            byte[] w, int ho, int qg, int nb, int[] xp, int k, float[] dx, int i, float[] y, int n, int yo) {
        FloatVector sum0 = FloatVector.zero(F), sum1 = sum0, sum2 = sum0, sum3 = sum0;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K_HEADER, qo = qg + b * InterleavedWeight.K_QUANTS;
            IntVector t0 = IntVector.zero(I), t1 = t0, t2 = t0, t3 = t0;
            for (int p = 0; p < 4; p++) { // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
                int sc = bo + 128 + ROWS * 2 * p, xb = 128 * b + 32 * p, slabs = qo + ROWS * 32 * p;
                IntVector scA = ints(w, sc), scB = ints(w, sc + ROWS);
                ShortVector la0 = ShortVector.zero(S2), ha0 = la0, la1 = la0, ha1 = la0;
                ShortVector la2 = la0, ha2 = la0, la3 = la0, ha3 = la0;
                for (int u = 0; u < 16; u++) {
                    ShortVector q = pairSlab(w, slabs + 2 * ROWS * u);
                    ShortVector lo = q.and(LOW4S2), hi = q.lanewise(VectorOperators.LSHR, 4);
                    int xr = i * (k / 2) + xb + u;
                    for (int r = 0; r < 4; r++) { // one parsed body, the rows' sums rotating (see HalfDots.dot2)
                        ShortVector a = la0.add(lo.mul(pair(xp, xr))), h = ha0.add(hi.mul(pair(xp, xr + 16)));
                        la0 = la1;
                        la1 = la2;
                        la2 = la3;
                        la3 = a;
                        ha0 = ha1;
                        ha1 = ha2;
                        ha2 = ha3;
                        ha3 = h;
                        xr += k / 2;
                    }
                }
                for (int r = 0; r < 4; r++) {
                    IntVector l = la0.reinterpretAsInts(), h = ha0.reinterpretAsInts();
                    l = l.lanewise(ASHR, 16).add(l.lanewise(LSHL, 16).lanewise(ASHR, 16));
                    h = h.lanewise(ASHR, 16).add(h.lanewise(LSHL, 16).lanewise(ASHR, 16));
                    IntVector t = t0.add(l.mul(scA)).add(h.mul(scB));
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
            FloatVector d = floats(w, bo);
            int r = i * nb + b;
            sum0 = ((FloatVector) t0.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r]), sum0);
            sum1 = ((FloatVector) t1.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + nb]), sum1);
            sum2 = ((FloatVector) t2.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 2 * nb]), sum2);
            sum3 = ((FloatVector) t3.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 3 * nb]), sum3);
        }
        sum0.sub(FloatVector.fromArray(F, y, i * n + yo)).intoArray(y, i * n + yo);
        sum1.sub(FloatVector.fromArray(F, y, (i + 1) * n + yo)).intoArray(y, (i + 1) * n + yo);
        sum2.sub(FloatVector.fromArray(F, y, (i + 2) * n + yo)).intoArray(y, (i + 2) * n + yo);
        sum3.sub(FloatVector.fromArray(F, y, (i + 3) * n + yo)).intoArray(y, (i + 3) * n + yo);
    }
}
