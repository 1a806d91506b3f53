package dev.panthera.simd;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp and tanh of float lanes that give the same bits whether a kernel runs interpreted or compiled.
 *
 * <p>The Vector API's {@code EXP} and {@code TANH} are served by the JDK's SVML stubs once C2 compiles a kernel and by
 * {@link Math#exp}/{@link Math#tanh} per lane before that; the two differ in the last bit for about 1% of inputs, so a
 * softmax changed bits between its first call and its thousandth. Here each half of the float vector is widened to
 * doubles and exp is computed from IEEE additions, multiplications and FMAs only (identical on both paths):
 * x = n·ln2 + r with n = rint(x·log₂e) and |r| ≤ ln2/2 (ln2 split in two parts, so r is exact to about 2⁻⁵⁸), e^r by
 * its Taylor series to r⁷ (truncation below r⁸/8! ≤ 5·10⁻⁹ relative, under a tenth of a float ulp), times 2ⁿ made in
 * the exponent bits; narrowing to float rounds once. Measured: within 0.57 float ulps of the exact value over
 * [−110, 90] (VectorMathTest pins one ulp), and faster than the SVML call on AVX-512, AVX2 and 128-bit vectors.
 * {@link #expFloat} is the same scheme in float arithmetic at full width (within 2⁻²³ relative), for the hot
 * element-wise kernels: GELU, sigmoid and SiLU, and the attention softmax.
 */
final class VectorMath {
    private VectorMath() {}

    private static final VectorSpecies<Float> F = Lanes.F;
    private static final VectorSpecies<Double> D = F.withLanes(double.class);

    private static final double LOG2E = 1.4426950408889634;
    /** ln 2 in two parts: the high part has 32 significant bits, so n·LN2_HI is exact for every |n| ≤ 2²¹. */
    private static final double LN2_HI = 0.6931471803691238, LN2_LO = 1.9082149292705877e-10;
    /** 1.5·2⁵²: adding it rounds a |t| < 2⁵¹ to an integer in the low bits of the sum (round to nearest even). */
    private static final double ROUND = 6755399441055744.0;

    private static final long ROUND_BITS = Double.doubleToRawLongBits(ROUND);

    /** e^x per lane, NaN for NaN, +Inf above float's range, 0 below it. */
    static FloatVector exp(FloatVector x) {
        // clamped so that n stays small: e^89 is above Float.MAX_VALUE and e^-104 under half the least subnormal.
        // By compares and blends (NaN passes both unchanged), not max/min: C2 compiles a float max or min with
        // Java's NaN and signed-zero rules to several instructions each. Written out here and in expFloat rather than
        // as a helper: a helper C2 left out of line would take and return its vector boxed on the heap.
        FloatVector c =
                x.blend(-104f, x.compare(VectorOperators.LT, -104f)).blend(89f, x.compare(VectorOperators.GT, 89f));
        DoubleVector lo = expD((DoubleVector) c.convertShape(VectorOperators.F2D, D, 0));
        DoubleVector hi = expD((DoubleVector) c.rearrange(UP).convertShape(VectorOperators.F2D, D, 0));
        // narrowed here, not in a helper: after two inlined expD C2 stopped inlining further calls of ours
        // (NodeCountInliningCutoff), and a helper left as a call passes its vectors boxed
        FloatVector b = (FloatVector) hi.convertShape(VectorOperators.D2F, F, 0);
        return ((FloatVector) lo.convertShape(VectorOperators.D2F, F, 0)).blend(b.rearrange(UP), HIGH_HALF);
    }

    /** tanh per lane: ±1 beyond |x| = 10, x itself below 2⁻¹², else 1 − 2/(e^{2|x|} + 1) with x's sign. */
    static FloatVector tanh(FloatVector x) {
        DoubleVector lo = tanhD((DoubleVector) x.convertShape(VectorOperators.F2D, D, 0));
        DoubleVector hi = tanhD((DoubleVector) x.rearrange(UP).convertShape(VectorOperators.F2D, D, 0));
        FloatVector b = (FloatVector) hi.convertShape(VectorOperators.D2F, F, 0);
        return ((FloatVector) lo.convertShape(VectorOperators.D2F, F, 0)).blend(b.rearrange(UP), HIGH_HALF);
    }

    private static DoubleVector tanhD(DoubleVector x) {
        DoubleVector a = x.abs();
        DoubleVector e = expD(a.min(10.0).mul(2.0));
        DoubleVector t = DoubleVector.broadcast(D, 1.0)
                .sub(DoubleVector.broadcast(D, 2.0).div(e.add(1.0)));
        VectorMask<Double> negative = x.compare(VectorOperators.LT, 0.0);
        t = t.blend(t.neg(), negative);
        // below 2⁻¹² tanh(x) = x·(1 − x²/3 + ...) rounds to x in float; NaN stays NaN through the arithmetic
        return t.blend(x, a.compare(VectorOperators.LT, 0x1p-12));
    }

    private static final VectorMask<Float> HIGH_HALF = VectorMask.fromLong(F, -1L << (F.length() / 2));

    /**
     * Lane i takes lane i + L/2 (mod L): moves a vector's upper half down (to widen it) and a lower half up (to place
     * the second narrowed half), in place of convertShape with part 1 or −1.
     */
    private static final VectorShuffle<Float> UP = VectorShuffle.fromOp(F, i -> (i + F.length() / 2) % F.length());

    /** ln 2 in two float parts: the high part has 9 significant bits, so n·LN2_HI_F is exact for every |n| ≤ 2¹⁵. */
    private static final float LN2_HI_F = 0.693359375f, LN2_LO_F = (float) (Math.log(2) - 0.693359375);

    /** log₂e in float; a static constant, as Math.log in the kernel is evaluated on every call. */
    private static final float LOG2E_F = (float) LOG2E;
    /** 1.5·2²³: adding it rounds a |t| < 2²² to an integer in the low bits of the sum (round to nearest even). */
    private static final float ROUND_F = 12582912f;

    private static final int ROUND_F_BITS = Float.floatToRawIntBits(ROUND_F);

    /**
     * e^x per lane in float arithmetic, x clamped to [−104, 89] first as in {@link #exp} (NaN stays NaN):
     * n = rint(x·log₂e), r = x − n·ln2 with ln2 in two parts (n·LN2_HI_F exact, so r carries one rounding), e^r by
     * Taylor to r⁷ (|r| ≤ 0.347: truncation below r⁸/8! ≤ 6·10⁻⁹ relative) in FMA steps, times 2ⁿ as two powers of two
     * (each a normal float), so a result is scaled exactly down to the normal limit and rounds once below it. Float
     * operations only, so the same bits interpreted and compiled; at full width it costs a fraction of {@link #exp}'s
     * two double halves. VectorMathTest bounds its error against Math.exp.
     */
    static FloatVector expFloat(FloatVector v) {
        // the clamp of exp above, by compares and blends (about a third of this function's time as max/min)
        FloatVector x =
                v.blend(-104f, v.compare(VectorOperators.LT, -104f)).blend(89f, v.compare(VectorOperators.GT, 89f));
        FloatVector t = x.mul(LOG2E_F).add(ROUND_F);
        FloatVector n = t.sub(ROUND_F);
        FloatVector r = x.sub(n.mul(LN2_HI_F)); // exact: n·LN2_HI_F is, and so is the difference (Sterbenz)
        r = n.fma(x.broadcast(-LN2_LO_F), r);
        FloatVector p = r.fma(1f / 5040, 1f / 720);
        p = p.fma(r, x.broadcast(1f / 120));
        p = p.fma(r, x.broadcast(1f / 24));
        p = p.fma(r, x.broadcast(1f / 6));
        p = p.fma(r, x.broadcast(0.5f));
        p = p.fma(r, x.broadcast(1f));
        p = p.fma(r, x.broadcast(1f));
        // 2ⁿ = 2^h · 2^(n−h) with h = n >> 1: each factor a normal float for n in [−151, 129]
        IntVector ni = t.reinterpretAsInts().sub(ROUND_F_BITS), h = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector s1 = h.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = ni.sub(h).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(s1).mul(s2);
    }

    /** e^x for |x| ≤ 104 (the callers clamp). */
    private static DoubleVector expD(DoubleVector x) {
        DoubleVector t = x.mul(LOG2E).add(ROUND);
        DoubleVector n = t.sub(ROUND).neg();
        DoubleVector r = n.fma(DoubleVector.broadcast(D, LN2_HI), x);
        r = n.fma(DoubleVector.broadcast(D, LN2_LO), r);
        DoubleVector p = r.fma(DoubleVector.broadcast(D, 1.0 / 5040), DoubleVector.broadcast(D, 1.0 / 720));
        p = p.fma(r, DoubleVector.broadcast(D, 1.0 / 120));
        p = p.fma(r, DoubleVector.broadcast(D, 1.0 / 24));
        p = p.fma(r, DoubleVector.broadcast(D, 1.0 / 6));
        p = p.fma(r, DoubleVector.broadcast(D, 0.5));
        p = p.fma(r, DoubleVector.broadcast(D, 1.0));
        p = p.fma(r, DoubleVector.broadcast(D, 1.0));
        // 2ⁿ: n (the low bits of t) plus the exponent bias, shifted into the exponent field
        DoubleVector scale = t.reinterpretAsLongs()
                .sub(ROUND_BITS - 1023)
                .lanewise(VectorOperators.LSHL, 52)
                .reinterpretAsDoubles();
        return p.mul(scale);
    }
}
