package dev.panthera.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernels over {@link InterleavedWeight}'s row groups: lane l of every vector is row l of the group (rows h to h +
 * L of it, L float lanes), so a quant byte of L rows is one load and one widening, each activation value one
 * broadcast, and a group's L results come out in lanes with no lane sum. Every per-block scaling is the same float
 * operation as in the row-major dots ({@link GgmlDot}, {@link KQuantDot}), and so is every product term but Q4_0's:
 * q·x with the nibble unbiased here, (q - 8)·x there, the 8·Σx taken off once per block. Q4_K's min terms differ in
 * grouping: (dmin·m)·xs per sub-block here, dmin·Σ m·xs per super-block there.
 */
final class InterleavedDot {
    private InterleavedDot() {}

    static final VectorSpecies<Float> F = QuantLanes.F;
    static final int L = F.length();
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    /** L quant bytes, at least the narrowest byte vector (8 bytes; the 4-lane kernels widen the first 4). */
    private static final VectorSpecies<Byte> B =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    /** L halves as bytes. */
    private static final VectorSpecies<Byte> H = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 16));
    /** L floats as bytes. */
    private static final VectorSpecies<Byte> FB = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 32));

    /** 2^23 as float bits: OR-ing a nibble n into its mantissa gives the float 2^23 + n exactly. */
    private static final int MAGIC = 0x4B000000;

    private static final int ROWS = InterleavedWeight.ROWS;

    /** The L quant bytes at {@code at}, sign-extended to int lanes. */
    private static IntVector ints(byte[] a, int at) {
        return (IntVector) ByteVector.fromArray(B, a, at).convertShape(VectorOperators.B2I, I, 0);
    }

    /** The L quant bytes at {@code at}, zero-extended to int lanes: a byte's high nibble is then one shift away. */
    private static IntVector uints(byte[] a, int at) {
        return (IntVector) ByteVector.fromArray(B, a, at).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    /**
     * The low nibble of each lane minus 8, as floats: (2^23 + n) - (2^23 + 8) is exact, and the AND and OR with
     * constants compile to one three-input logic instruction on AVX-512, one fewer than AND, subtract, convert.
     */
    private static FloatVector nibble(IntVector q) {
        return q.and(LOW4).or(BIAS).reinterpretAsFloats().sub(BIAS8);
    }

    // the constants as vectors made once: broadcast inside the loops, C2 reloaded them from its constant table at
    // every use instead of keeping them in registers
    private static final IntVector LOW4 = IntVector.broadcast(I, 15), BIAS = IntVector.broadcast(I, MAGIC);
    private static final FloatVector BIAS8 = FloatVector.broadcast(F, 0x1p23f + 8);
    private static final IntVector MAG15 = IntVector.broadcast(I, 0x7FFF), SIGN32 = IntVector.broadcast(I, 0x80000000);
    private static final FloatVector TWO112 = FloatVector.broadcast(F, 0x1p112f);

    /**
     * L little-endian halves at {@code at} as floats, equal to {@link Float#float16ToFloat} for every finite half:
     * the magnitude's bits moved to a float's exponent and mantissa, times 2^112 (exact for normals, subnormals and
     * zero), then the sign (bit 31 of the sign-extended half). Infinite and NaN halves are not converted;
     * {@link InterleavedWeight#regroup} keeps weights with such scales out of these kernels.
     */
    static FloatVector halves(byte[] a, int at) {
        IntVector h = (IntVector)
                ByteVector.fromArray(H, a, at).reinterpretAsShorts().convertShape(VectorOperators.S2I, I, 0);
        FloatVector mag = h.and(MAG15)
                .lanewise(VectorOperators.LSHL, 13)
                .reinterpretAsFloats()
                .mul(TWO112);
        return mag.reinterpretAsInts().or(h.and(SIGN32)).reinterpretAsFloats();
    }

    /**
     * Rows h .. h + L of the Q4_0 group at byte {@code go} (nb block columns) dotted with x from {@code xo}, into y
     * from {@code yo}: per block, d·(Σ q·x - 8·xs) with the nibbles q in [0, 15] and xs the block's sum of x
     * ({@code xs} from {@code so}, one per block). Taking the 8 off once per block rather than from every nibble saves
     * a vector operation per nibble, about a fifth of the loop's work: the kernel is bound by its vector operations, not
     * by the bytes it reads. The kernels store their lanes rather than return them: a vector returned from a method C2
     * compiles apart is allocated on the heap.
     */
    static void q4_0(byte[] w, int go, int nb, float[] x, int xo, float[] xs, int so, int h, float[] y, int yo) {
        FloatVector sum = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            int bo = go + b * (ROWS * 18);
            FloatVector block = q4_0Block(w, bo + 32 + h, x, xo + 32 * b).sub(8 * xs[so + b]);
            sum = block.fma(halves(w, bo + 2 * h), sum);
        }
        sum.intoArray(y, yo);
    }

    /**
     * Σ_j q_j·x_j over one block of L rows, q the unsigned nibbles: slab j (16 bytes at {@code qo + 16j}) holds weight
     * j in its low nibbles and weight j + 16 in its high ones; zero-extended, a byte's high nibble is one shift away.
     * Four sums, rotated after each slab so the loop body has one call site of each vector operation (C2's node
     * limit, see {@link GgmlDot}).
     */
    private static FloatVector q4_0Block(byte[] w, int qo, float[] x, int xb) {
        FloatVector a = FloatVector.zero(F), b = a, c = a, d = a;
        for (int j = 0; j < 16; j++) {
            IntVector q = uints(w, qo + ROWS * j);
            FloatVector lo = ((FloatVector) q.and(LOW4).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, x[xb + j]), a);
            FloatVector hi = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, x[xb + 16 + j]), b);
            a = c;
            b = d;
            c = lo;
            d = hi;
        }
        return a.add(c).add(b.add(d));
    }

    /**
     * Whether the 16-bit kernels ({@link #q8_0Int}, {@link #q4_0Int}, {@link #q4KInt}) run at this width: 512-bit float
     * vectors, one lane per row of a group. At 256 bits, with two float outputs per pass, the Q4_K kernel ran at
     * 0.72–0.75 of the float one, and a 110M Q4_0 decode under {@code -XX:UseAVX=2} at 25–29 tok/s in four of seven
     * JVMs against 143–169 in the other three (vector operations left out of line in the kernel's compilation); those
     * widths keep the float kernels.
     */
    static final boolean INT_KERNELS = L == ROWS;

    /** Sixteen shorts (a group's rows) and sixteen quant bytes. */
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;

    private static final VectorSpecies<Byte> SB = ByteVector.SPECIES_128;

    private static final ShortVector LOW4S = ShortVector.broadcast(S, (short) 15);

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
     * The sixteen rows of the Q4_K group whose nb headers start at byte {@code ho} and quant slabs at {@code qg}
     * dotted with an activation quantized per 256 to 8 bits (llama.cpp's Q8_K form, {@link Q8Activation#q8KLanes}),
     * into y from {@code yo}: xq the quants as shorts, dx each super-block's scale, xs32 the sum of each 32 quants, of
     * activation row {@code row} (from xq[row·256·nb], dx[row·nb] and xs32[row·8·nb]). Per super-block:
     * d·dx·Σ_s sc_s·(Σ q·xq)_s - dmin·dx·Σ_s m_s·(Σ xq)_s, the sums over sub-blocks s exact in ints (at most
     * 8·63·60,960 and 8·63·4,064), as llama.cpp's {@code ggml_vec_dot_q4_K_q8_K} forms them. A sub-block's 32
     * nibble products go to two 16-bit sums of sixteen (at most 30,480 each), as in {@link #q4_0Int}, formed one
     * after the other: with the four sums of a slab pair live at once the kernel ran at 26–27 GMAC/s, with two at
     * 30–32 (768 × 2048 to 2048 × 5632, one thread, Zen 4). {@link #INT_KERNELS} must hold.
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
     * {@link #q4KInt} for activation rows i and i + 1 at once (row r's quants from xq[r·k], its super-block scales
     * from dx[r·nb], its 32-quant sums from xs32[r·k/32], its outputs to y[r·n + yo]): each slab is loaded and split
     * into its nibbles once for both rows, and each row's sums are formed as q4KInt forms them (exact integers, then
     * the same float steps), so each row gets the bits q4KInt gives it alone. {@link #INT_KERNELS} must hold.
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
    private static ShortVector quants(byte[] w, int at) {
        return (ShortVector) ByteVector.fromArray(SB, w, at).convertShape(VectorOperators.B2S, S, 0);
    }

    /** The sixteen quant bytes at {@code at}, zero-extended to shorts. */
    private static ShortVector nibbles(byte[] w, int at) {
        return (ShortVector) ByteVector.fromArray(SB, w, at).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
    }

    /** A 16-bit sum's sixteen lanes widened to ints. */
    private static IntVector widen(ShortVector a) {
        return (IntVector) a.convertShape(VectorOperators.S2I, I, 0);
    }

    /** Rows h .. h + L of the Q8_0 group at byte {@code go} dotted with x, into y from {@code yo}: per block, d·Σ q·x. */
    static void q8_0(byte[] w, int go, int nb, float[] x, int xo, int h, float[] y, int yo) {
        FloatVector sum = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            int bo = go + b * (ROWS * 34);
            sum = q8_0Block(w, bo + 32 + h, x, xo + 32 * b).fma(halves(w, bo + 2 * h), sum);
        }
        sum.intoArray(y, yo);
    }

    /**
     * {@link #q8_0} for activation rows x[xo], x[xo + k], x[xo + 2k], x[xo + 3k] at once, into y[yo], y[yo + n], ...:
     * each slab is widened and converted once for the four rows, and each row's products and sums are formed in
     * q8_0's order (four rotating FMA chains per block, then the block's scale), so each row gets q8_0's bits.
     */
    static void q8_0x4(byte[] w, int go, int nb, float[] x, int xo, int k, int h, float[] y, int yo, int n) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int b = 0; b < nb; b++) {
            int bo = go + b * (ROWS * 34), qo = bo + 32 + h, xb = xo + 32 * b;
            FloatVector a0 = FloatVector.zero(F), b0 = a0, c0 = a0, d0 = a0, a1 = a0, b1 = a0, c1 = a0, d1 = a0;
            FloatVector a2 = a0, b2 = a0, c2 = a0, d2 = a0, a3 = a0, b3 = a0, c3 = a0, d3 = a0;
            for (int j = 0; j < 32; j++) {
                FloatVector q = (FloatVector) ints(w, qo + ROWS * j).convert(VectorOperators.I2F, 0);
                FloatVector t0 = q.fma(FloatVector.broadcast(F, x[xb + j]), a0);
                FloatVector t1 = q.fma(FloatVector.broadcast(F, x[xb + k + j]), a1);
                FloatVector t2 = q.fma(FloatVector.broadcast(F, x[xb + 2 * k + j]), a2);
                FloatVector t3 = q.fma(FloatVector.broadcast(F, x[xb + 3 * k + j]), a3);
                a0 = b0;
                b0 = c0;
                c0 = d0;
                d0 = t0;
                a1 = b1;
                b1 = c1;
                c1 = d1;
                d1 = t1;
                a2 = b2;
                b2 = c2;
                c2 = d2;
                d2 = t2;
                a3 = b3;
                b3 = c3;
                c3 = d3;
                d3 = t3;
            }
            FloatVector d = halves(w, bo + 2 * h);
            s0 = a0.add(c0).add(b0.add(d0)).fma(d, s0);
            s1 = a1.add(c1).add(b1.add(d1)).fma(d, s1);
            s2 = a2.add(c2).add(b2.add(d2)).fma(d, s2);
            s3 = a3.add(c3).add(b3.add(d3)).fma(d, s3);
        }
        s0.intoArray(y, yo);
        s1.intoArray(y, yo + n);
        s2.intoArray(y, yo + 2 * n);
        s3.intoArray(y, yo + 3 * n);
    }

    private static FloatVector q8_0Block(byte[] w, int qo, float[] x, int xb) {
        FloatVector a = FloatVector.zero(F), b = a, c = a, d = a;
        for (int j = 0; j < 32; j++) {
            FloatVector q = (FloatVector) ints(w, qo + ROWS * j).convert(VectorOperators.I2F, 0);
            FloatVector t = q.fma(FloatVector.broadcast(F, x[xb + j]), a);
            a = b;
            b = c;
            c = d;
            d = t;
        }
        return a.add(c).add(b.add(d));
    }

    /**
     * Rows h .. h + L of the Q4_K group whose nb headers start at byte {@code ho} and quant slabs at {@code qg} (see
     * {@link InterleavedWeight}) dotted with x, into y from {@code yo}; x's 32-element sums are {@code xs} from
     * {@code so}. Sub-block s of a super-block is d·sc_s·q - dmin·m_s, so its share is (d·sc_s)·Σ q·x -
     * (dmin·m_s)·xs_s. The mins' share is summed apart and subtracted at the end, as in {@link KQuantDot#q4K}.
     */
    static void q4K(byte[] w, int ho, int qg, int nb, float[] x, int xo, float[] xs, int so, int h, float[] y, int yo) {
        FloatVector sum = FloatVector.zero(F), mins = sum;
        for (int b = 0; b < nb; b++) {
            int bo = ho + b * InterleavedWeight.K_HEADER, qo = qg + b * InterleavedWeight.K_QUANTS;
            FloatVector d = floats(w, bo + 4 * h), dmin = floats(w, bo + 64 + 4 * h);
            for (int p = 0; p < 4; p++) { // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
                int sc = bo + 128 + ROWS * 2 * p + h, mn = sc + ROWS * 8;
                FloatVector s0 = d.mul(scales(w, sc)), s1 = d.mul(scales(w, sc + ROWS));
                mins = dmin.mul(scales(w, mn)).fma(FloatVector.broadcast(F, xs[so + 8 * b + 2 * p]), mins);
                mins = dmin.mul(scales(w, mn + ROWS)).fma(FloatVector.broadcast(F, xs[so + 8 * b + 2 * p + 1]), mins);
                sum = q4KPair(w, qo + ROWS * 32 * p + h, x, xo + 256 * b + 64 * p, s0, s1, sum);
            }
        }
        sum.sub(mins).intoArray(y, yo);
    }

    /** The L floats (native byte order) at byte {@code at}. */
    static FloatVector floats(byte[] w, int at) {
        return ByteVector.fromArray(FB, w, at).reinterpretAsFloats();
    }

    /** The L 6-bit scale (or min) bytes at {@code at}, as floats. */
    static FloatVector scales(byte[] w, int at) {
        return q8(w, at);
    }

    /**
     * sum + s0·Σ lo·x + s1·Σ hi·x over one pair of Q4_K sub-blocks: slab j holds weight j of sub-block 2p in its low
     * nibbles and weight j of sub-block 2p + 1 in its high ones. Two sums per nibble, rotated as in q4_0Block.
     */
    private static FloatVector q4KPair(
            byte[] w, int qo, float[] x, int xb, FloatVector s0, FloatVector s1, FloatVector sum) {
        FloatVector a = FloatVector.zero(F), b = a, c = a, d = a;
        for (int j = 0; j < 32; j++) {
            IntVector q = uints(w, qo + ROWS * j);
            FloatVector lo = ((FloatVector) q.and(LOW4).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, x[xb + j]), a);
            FloatVector hi = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, x[xb + 32 + j]), b);
            a = c;
            b = d;
            c = lo;
            d = hi;
        }
        return a.add(c).fma(s0, b.add(d).fma(s1, sum));
    }

    // the single-slab forms the panel decoders use

    /** Low nibbles of the L bytes at {@code at}, minus 8. */
    static FloatVector q4Low(byte[] w, int at) {
        return nibble(ints(w, at));
    }

    /** High nibbles of the L bytes at {@code at}, minus 8. */
    static FloatVector q4High(byte[] w, int at) {
        return nibble(ints(w, at).lanewise(VectorOperators.LSHR, 4));
    }

    /** The L bytes at {@code at}, signed, as floats. */
    static FloatVector q8(byte[] w, int at) {
        return (FloatVector) ints(w, at).convert(VectorOperators.I2F, 0);
    }

    /** The nibbles at bit {@code shift} (0 or 4) of the L bytes at {@code at}, as floats. */
    static FloatVector nibbleAt(byte[] w, int at, int shift) {
        return (FloatVector)
                ints(w, at).lanewise(VectorOperators.LSHR, shift).and(LOW4).convert(VectorOperators.I2F, 0);
    }
}
