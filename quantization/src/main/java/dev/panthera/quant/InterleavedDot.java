package dev.panthera.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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
    static IntVector ints(byte[] a, int at) {
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
                sum = q4KPair(w, qo + ROWS * 32 * p + 2 * h, x, xo + 256 * b + 64 * p, s0, s1, sum);
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
     * sum + s0·Σ lo·x + s1·Σ hi·x over one pair of Q4_K sub-blocks: quant byte j holds weight j of sub-block 2p in its
     * low nibble and weight j of sub-block 2p + 1 in its high one, bytes j and j + 1 of a row side by side ({@link
     * InterleavedWeight#pairByte}). Two sums per nibble, one over the even bytes and one over the odd.
     */
    private static FloatVector q4KPair(
            byte[] w, int qo, float[] x, int xb, FloatVector s0, FloatVector s1, FloatVector sum) {
        FloatVector a = FloatVector.zero(F), b = a, c = a, d = a;
        for (int j = 0; j < 32; j += 2) {
            IntVector q = pairBytes(w, qo + ROWS * j);
            a = ((FloatVector) q.and(LOW4).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, x[xb + j]), a);
            b = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).and(LOW4).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, x[xb + 32 + j]), b);
            c = ((FloatVector) q.lanewise(VectorOperators.LSHR, 8).and(LOW4).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, x[xb + j + 1]), c);
            d = ((FloatVector) q.lanewise(VectorOperators.LSHR, 12).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F, x[xb + 33 + j]), d);
        }
        return a.add(c).fma(s0, b.add(d).fma(s1, sum));
    }

    /**
     * The L rows' quant bytes j and j + 1 (j even) from the pair slab at {@code at} ({@link
     * InterleavedWeight#pairByte}, at offset by twice the first row): byte j in bits 0–7 of each int lane, byte j + 1
     * in bits 8–15.
     */
    static IntVector pairBytes(byte[] w, int at) {
        return (IntVector) ByteVector.fromArray(H, w, at)
                .reinterpretAsShorts()
                .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
    }

    /**
     * Signed quant byte e of rows h .. h + L of the pair slabs from {@code q} ({@link InterleavedWeight#pairByte}:
     * Q5_K), as floats: the low or the high byte of each row's pair, sign-extended.
     */
    static FloatVector pairQ8(byte[] w, int q, int e, int h) {
        return (FloatVector) pairBytes(w, q + ROWS * (e & ~1) + 2 * h)
                .lanewise(VectorOperators.LSHL, 24 - 8 * (e & 1))
                .lanewise(VectorOperators.ASHR, 24)
                .convert(VectorOperators.I2F, 0);
    }

    /** The nibbles at bit {@code shift} (0, 4, 8 or 12) of {@link #pairBytes}, as floats. */
    static FloatVector pairNibbleAt(byte[] w, int at, int shift) {
        return (FloatVector)
                pairBytes(w, at).lanewise(VectorOperators.LSHR, shift).and(LOW4).convert(VectorOperators.I2F, 0);
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
}
