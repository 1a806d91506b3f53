package dev.panthera.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The 16-bit kernels over {@link InterleavedWeight}'s row groups: activation rows rounded to 8 bits as llama.cpp
 * rounds them ({@link Q8Activation}), quant bytes or nibbles times the activation quants in 16-bit lanes, sixteen
 * weight rows to a vector, each block's (or super-block's) integer sum exact and then scaled in floats as ggml's
 * {@code ggml_vec_dot_*_q8_*} scale theirs. Here the Q8_0 and Q4_0 kernels (blocks of 32) and the loads and widenings
 * every 16-bit kernel shares; the K-quant kernels (super-blocks of 256) are {@link InterleavedKIntDot}'s. The float
 * kernels over the same groups are {@link InterleavedDot}'s.
 */
final class InterleavedIntDot {
    private InterleavedIntDot() {}

    static final VectorSpecies<Float> F = InterleavedDot.F;
    static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final int ROWS = InterleavedWeight.ROWS;

    static IntVector ints(byte[] a, int at) {
        return InterleavedDot.ints(a, at);
    }

    static FloatVector floats(byte[] a, int at) {
        return InterleavedDot.floats(a, at);
    }

    private static FloatVector halves(byte[] a, int at) {
        return InterleavedDot.halves(a, at);
    }

    /**
     * Whether the 16-bit kernels ({@link #q8_0Int}, {@link #q4_0Int} and the K-quant ones of {@link
     * InterleavedKIntDot}) run at this width: 512-bit float vectors, one lane per row of a group. At 256 bits, with two
     * float outputs per pass, the Q4_K kernel ran at 0.72–0.75 of the float one, and a 110M Q4_0 decode under {@code
     * -XX:UseAVX=2} at 25–29 tok/s in four of seven JVMs against 143–169 in the other three (vector operations left out
     * of line in the kernel's compilation); those widths keep the float kernels.
     */
    static final boolean INT_KERNELS = InterleavedDot.L == ROWS;

    /** Sixteen shorts (a group's rows) and sixteen quant bytes. */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_256;

    private static final VectorSpecies<Byte> SB = ByteVector.SPECIES_128;

    static final ShortVector LOW4S = ShortVector.broadcast(S, (short) 15);

    /**
     * The sixteen rows of the Q4_0 group at byte {@code go} dotted with an activation quantized per 32-block to 8 bits
     * (llama.cpp's Q8_0 form, {@link Q8Activation#q8_0Lanes}), into y from {@code yo}: xq the quants as shorts, dx each
     * block's scale, xs8 each block's 8·Σ xq, of activation row {@code row} (its quants from xq[row·32·nb], its
     * blocks' scale and sum from dx[row·nb] and xs8[row·nb]). Per block: (d·dx)·(Σ q·xq - 8·Σ xq), the nibbles q in
     * [0, 15] times the quants in 16-bit lanes, the low and high nibbles' products summed apart (sixteen each: at most
     * 16·15·127 = 30,480, inside a short), widened to ints once per block. The bracket is the block's exact
     * Σ (q - 8)·xq, which llama.cpp's {@code ggml_vec_dot_q4_0_q8_0} also sums exactly, scaled by the same float
     * product d·dx: the two differ only in how the scaled blocks' float sum rounds. Twice the multiply-adds of the
     * float kernel per instruction, and no float conversion of the nibbles. {@link #INT_KERNELS} must hold.
     */
    static void q4_0Int(byte[] w, int go, int nb, short[] xq, float[] dx, int[] xs8, int row, float[] y, int yo) {
        FloatVector sum = FloatVector.zero(F);
        int xo = row * 32 * nb, so = row * nb;
        for (int b = 0; b < nb; b++) {
            int bo = go + b * (ROWS * 18), qo = bo + 32, xb = xo + 32 * b;
            ShortVector lo = ShortVector.zero(S), hi = lo;
            for (int j = 0; j < 16; j++) {
                ShortVector q = nibbles(w, qo + ROWS * j);
                lo = lo.add(q.and(LOW4S).mul(xq[xb + j]));
                hi = hi.add(q.lanewise(VectorOperators.LSHR, 4).mul(xq[xb + 16 + j]));
            }
            IntVector block = widen(lo).add(widen(hi)).sub(xs8[so + b]);
            sum = ((FloatVector) block.convert(VectorOperators.I2F, 0))
                    .fma(halves(w, bo).mul(dx[so + b]), sum);
        }
        sum.intoArray(y, yo);
    }

    /**
     * {@link #q4_0Int} for activation rows i .. i + 3 at once (row r's quants from xq[r·k], its block scales and sums
     * from dx[r·nb] and xs8[r·nb], its outputs to y[r·n + yo]): each slab is loaded and split into its nibbles once
     * for the four rows. A row's low and high products go to one 16-bit sum over eight slabs (at most 8·2·15·127 =
     * 30,480), widened twice per block: the block's integer is the same exact sum as q4_0Int's, and the float steps
     * after it are q4_0Int's, so each row gets the bits q4_0Int gives it alone. Two to seven rows (a batch's decode
     * step) then cost far less than that many one-row passes; {@link #INT_KERNELS} must hold.
     */
    static void q4_0Int4(
            byte[] w, int go, int nb, short[] xq, int k, float[] dx, int[] xs8, int i, float[] y, int n, int yo) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int x0 = i * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int b = 0; b < nb; b++) {
            int bo = go + b * (ROWS * 18), qo = bo + 32, xb = 32 * b;
            IntVector i0 = IntVector.zero(I), i1 = i0, i2 = i0, i3 = i0;
            for (int half = 0; half < 16; half += 8) {
                ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                for (int j = half; j < half + 8; j++) {
                    ShortVector q = nibbles(w, qo + ROWS * j);
                    ShortVector lo = q.and(LOW4S), hi = q.lanewise(VectorOperators.LSHR, 4);
                    int c = xb + j, e = c + 16;
                    a0 = a0.add(lo.mul(xq[x0 + c])).add(hi.mul(xq[x0 + e]));
                    a1 = a1.add(lo.mul(xq[x1 + c])).add(hi.mul(xq[x1 + e]));
                    a2 = a2.add(lo.mul(xq[x2 + c])).add(hi.mul(xq[x2 + e]));
                    a3 = a3.add(lo.mul(xq[x3 + c])).add(hi.mul(xq[x3 + e]));
                }
                i0 = i0.add(widen(a0));
                i1 = i1.add(widen(a1));
                i2 = i2.add(widen(a2));
                i3 = i3.add(widen(a3));
            }
            FloatVector d = halves(w, bo);
            int r = i * nb + b;
            s0 = ((FloatVector) i0.sub(xs8[r]).convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r]), s0);
            s1 = ((FloatVector) i1.sub(xs8[r + nb]).convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + nb]), s1);
            s2 = ((FloatVector) i2.sub(xs8[r + 2 * nb]).convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 2 * nb]), s2);
            s3 = ((FloatVector) i3.sub(xs8[r + 3 * nb]).convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 3 * nb]), s3);
        }
        s0.intoArray(y, i * n + yo);
        s1.intoArray(y, (i + 1) * n + yo);
        s2.intoArray(y, (i + 2) * n + yo);
        s3.intoArray(y, (i + 3) * n + yo);
    }

    /**
     * The sixteen rows of the Q8_0 group at byte {@code go} dotted with an activation quantized per 32-block to 8 bits
     * ({@link Q8Activation#q8_0Lanes}), into y from {@code yo}: xq the quants as shorts and dx each block's scale, of
     * activation row {@code row} (its quants from xq[row·32·nb], its blocks' scales from dx[row·nb]). Per block:
     * (d·dx)·Σ q·xq, the quant bytes times the activation quants in 16-bit lanes, two products to a lane sum (at most
     * 2·128·127 = 32,512, inside a short), widened to ints once per two columns: the block's sum is exact, as in
     * llama.cpp's {@code ggml_vec_dot_q8_0_q8_0}, and scaled by the same float product d·dx, so the two differ only in
     * how the scaled blocks' float sum rounds. Against the float kernel (a byte-to-int widening, an int-to-float
     * conversion and an FMA per sixteen weights) this is two 256-bit widenings, two 16-bit multiplies, one 16-bit add,
     * one widening to ints and one int add per thirty-two. {@link #INT_KERNELS} must hold.
     */
    static void q8_0Int(byte[] w, int go, int nb, short[] xq, float[] dx, int row, float[] y, int yo) {
        FloatVector sum = FloatVector.zero(F);
        int xo = row * 32 * nb, so = row * nb;
        for (int b = 0; b < nb; b++) {
            int bo = go + b * (ROWS * 34), qo = bo + 32, xb = xo + 32 * b;
            IntVector acc = IntVector.zero(I);
            for (int j = 0; j < 32; j += 2) {
                ShortVector p = quants(w, qo + ROWS * j).mul(xq[xb + j]);
                acc = acc.add(widen(p.add(quants(w, qo + ROWS * (j + 1)).mul(xq[xb + j + 1]))));
            }
            sum = ((FloatVector) acc.convert(VectorOperators.I2F, 0))
                    .fma(halves(w, bo).mul(dx[so + b]), sum);
        }
        sum.intoArray(y, yo);
    }

    /**
     * {@link #q8_0Int} for activation rows i .. i + 3 at once (row r's quants from xq[r·k], its block scales from
     * dx[r·nb], its outputs to y[r·n + yo]): each pair of quant slabs is loaded and widened once for the four rows, and
     * each row's block sum is the same exact integer as q8_0Int's, scaled by the same float steps, so each row gets
     * the bits q8_0Int gives it alone. {@link #INT_KERNELS} must hold.
     */
    static void q8_0Int4(byte[] w, int go, int nb, short[] xq, int k, float[] dx, int i, float[] y, int n, int yo) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int x0 = i * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int b = 0; b < nb; b++) {
            int bo = go + b * (ROWS * 34), qo = bo + 32, xb = 32 * b;
            IntVector i0 = IntVector.zero(I), i1 = i0, i2 = i0, i3 = i0;
            for (int j = 0; j < 32; j += 2) {
                ShortVector p = quants(w, qo + ROWS * j), q = quants(w, qo + ROWS * (j + 1));
                int c = xb + j;
                i0 = i0.add(widen(p.mul(xq[x0 + c]).add(q.mul(xq[x0 + c + 1]))));
                i1 = i1.add(widen(p.mul(xq[x1 + c]).add(q.mul(xq[x1 + c + 1]))));
                i2 = i2.add(widen(p.mul(xq[x2 + c]).add(q.mul(xq[x2 + c + 1]))));
                i3 = i3.add(widen(p.mul(xq[x3 + c]).add(q.mul(xq[x3 + c + 1]))));
            }
            FloatVector d = halves(w, bo);
            int r = i * nb + b;
            s0 = ((FloatVector) i0.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r]), s0);
            s1 = ((FloatVector) i1.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + nb]), s1);
            s2 = ((FloatVector) i2.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 2 * nb]), s2);
            s3 = ((FloatVector) i3.convert(VectorOperators.I2F, 0)).fma(d.mul(dx[r + 3 * nb]), s3);
        }
        s0.intoArray(y, i * n + yo);
        s1.intoArray(y, (i + 1) * n + yo);
        s2.intoArray(y, (i + 2) * n + yo);
        s3.intoArray(y, (i + 3) * n + yo);
    }

    /** The sixteen quant bytes at {@code at}, sign-extended to shorts. */
    static ShortVector quants(byte[] w, int at) {
        return (ShortVector) ByteVector.fromArray(SB, w, at).convertShape(VectorOperators.B2S, S, 0);
    }

    /** The sixteen quant bytes at {@code at}, zero-extended to shorts. */
    static ShortVector nibbles(byte[] w, int at) {
        return (ShortVector) ByteVector.fromArray(SB, w, at).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
    }

    /** A 16-bit sum's sixteen lanes widened to ints. */
    static IntVector widen(ShortVector a) {
        return (IntVector) a.convertShape(VectorOperators.S2I, I, 0);
    }
}
