package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.UnaryOp;
import jdk.incubator.vector.FloatVector;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.FloatRange;
import org.junit.jupiter.api.Test;

/** The vector exp/tanh/erf against java.lang.Math in double (the independent oracle). */
class VectorMathTest {
    private static float lane0(FloatVector v) {
        return v.lane(0);
    }

    /**
     * VectorOperators.EXP follows Math.exp's specification adapted to float: the exact result within one double ulp,
     * narrowed to float. That is at most half a float ulp plus 2⁻²⁹ of one from exp(x): within one ulp of the float
     * result.
     */
    private static void assertExpWithinOneUlp(float x) {
        float got = lane0(FloatKernels.exp(FloatVector.broadcast(FloatKernels.F, x)));
        double want = Math.exp(x);
        assertTrue(
                Math.abs(got - want) <= Math.ulp((float) want), "exp(" + x + ") = " + got + ", Math.exp gives " + want);
    }

    @Property(tries = 3000)
    void expIsWithinOneUlp(@ForAll @FloatRange(min = -87.3f, max = 88.3f) float x) {
        assertExpWithinOneUlp(x);
    }

    /** Every 8192nd float bit pattern of the range (about 260,000 inputs), not a sample of a few thousand. */
    @Test
    void expIsWithinOneUlpOnASweep() {
        sweep(-87.3f, 88.3f, 8192, VectorMathTest::assertExpWithinOneUlp);
    }

    /** Every step-th float bit pattern from lo to −0 and from 0 to hi (lo &lt; 0 &lt; hi), both ends included. */
    private static void sweep(float lo, float hi, int step, java.util.function.Consumer<Float> check) {
        for (float[] half : new float[][] {{-0f, lo}, {0f, hi}}) {
            int a = Float.floatToRawIntBits(half[0]), b = Float.floatToRawIntBits(half[1]);
            for (int bits = a; bits <= b && bits >= a; bits += step) check.accept(Float.intBitsToFloat(bits));
            check.accept(half[1]);
        }
    }

    /**
     * expFloat against Math.exp on every 4096th float bit pattern of [−104, 88.7] (about 520,000 inputs) and both
     * ends. Bound, relative to e^x: the last FMA's rounding (≤ 2⁻²⁴ for a result in [0.7, 1.42]), the step before it
     * carried through one factor r (|r| ≤ 0.347: ≤ 0.35·2⁻²⁴), the earlier steps (≤ 0.15·2⁻²⁴), r's own rounding (≤ 2⁻²⁶
     * absolute) and the Taylor truncation (≤ 0.1·2⁻²⁴): under 2⁻²³ in all. The scalings by powers of two are exact
     * down to the normal limit; below it the result rounds once into the subnormals (half the least subnormal more).
     */
    @Test
    void expFloatIsWithinItsBoundOnASweep() {
        sweep(-104f, 88.7f, 4096, VectorMathTest::assertExpFloat);
        assertEquals(Float.POSITIVE_INFINITY, lane0(VectorMath.expFloat(FloatVector.broadcast(FloatKernels.F, 89f))));
    }

    private static void assertExpFloat(float x) {
        float got = lane0(VectorMath.expFloat(FloatVector.broadcast(FloatKernels.F, x)));
        double want = Math.exp(x);
        assertTrue(
                Math.abs(got - want) <= 0x1p-23 * want + Float.MIN_VALUE / 2.0,
                "expFloat(" + x + ") = " + got + ", Math.exp gives " + want);
    }

    /**
     * Sigmoid and SiLU against float64 on every 4096th float of [−120, 120]. Sigmoid is 1 / (1 + e) with e from
     * expFloat (≤ 2⁻²³ relative, reaching the result scaled by e / (1 + e) ≤ 1), then the add and the divide (≤ 2⁻²⁴
     * each): 2⁻²² relative to first order, with 1.001 of slack for the second; results in the subnormals round once
     * more (half the least subnormal). SiLU multiplies by x: 2⁻²⁴ more. Below x = −88.72, e^−x passes the largest float,
     * so sigmoid is 0 where the exact value is below e^−88.72 (under the least normal float).
     */
    @Test
    void sigmoidAndSiluAreWithinTheirBoundOnASweep() {
        sweep(-120f, 120f, 4096, x -> {
            double want = 1 / (1 + Math.exp(-(double) x));
            float sig = lane0(FloatKernels.unary(UnaryOp.SIGMOID, FloatVector.broadcast(FloatKernels.F, x)));
            float silu = lane0(FloatKernels.unary(UnaryOp.SILU, FloatVector.broadcast(FloatKernels.F, x)));
            if (-(double) x > Math.log(Float.MAX_VALUE)) {
                assertEquals(0f, sig, "sigmoid(" + x + ")");
                assertTrue(want < Math.exp(-88.72), "sigmoid(" + x + ") = " + want);
                return;
            }
            assertTrue(
                    Math.abs(sig - want) <= 1.001 * 0x1p-22 * want + Float.MIN_VALUE / 2.0,
                    "sigmoid(" + x + ") = " + sig + ", float64 gives " + want);
            double wantSilu = x * want;
            assertTrue(
                    Math.abs(silu - wantSilu) <= 1.001 * (0x1p-22 + 0x1p-24) * Math.abs(wantSilu) + Float.MIN_VALUE,
                    "silu(" + x + ") = " + silu + ", float64 gives " + wantSilu);
        });
        float nan = lane0(FloatKernels.unary(UnaryOp.SIGMOID, FloatVector.broadcast(FloatKernels.F, Float.NaN)));
        assertTrue(Float.isNaN(nan));
        assertEquals(1f, lane0(FloatKernels.unary(UnaryOp.SIGMOID, FloatVector.broadcast(FloatKernels.F, 200f))));
    }

    @Test
    void expEdges() {
        float[] in = {Float.NEGATIVE_INFINITY, -1000f, Float.POSITIVE_INFINITY, 1000f, Float.NaN, 0f};
        float[] want = {0f, 0f, Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 1f};
        for (int i = 0; i < in.length; i++) {
            assertEquals(
                    want[i],
                    lane0(FloatKernels.exp(FloatVector.broadcast(FloatKernels.F, in[i]))),
                    "exp(" + in[i] + ")");
            assertEquals(
                    want[i],
                    lane0(VectorMath.expFloat(FloatVector.broadcast(FloatKernels.F, in[i]))),
                    "expFloat(" + in[i] + ")");
        }
    }

    @Property(tries = 2000)
    void tanhAndErfAreClose(@ForAll @FloatRange(min = -20f, max = 20f) float x) {
        float t = lane0(FloatKernels.tanh(FloatVector.broadcast(FloatKernels.F, x)));
        // TANH follows Math.tanh (within 2.5 double ulps of exact) narrowed to float: within one float ulp
        assertEquals(Math.tanh(x), t, Math.ulp((float) Math.tanh(x)), "tanh(" + x + ")");
        float e = lane0(FloatKernels.erf(FloatVector.broadcast(FloatKernels.F, x)));
        // the erfc fit's fractional error is < 1.2e-7; as erf = 1 − erfc that is an absolute error, plus float rounding
        assertEquals(dev.panthera.tensor.spi.Scalars.erf(x), e, 3e-7, "erf(" + x + ")");
    }

    /**
     * GELU(x) = x·Φ(x) with relative accuracy in the negative tail. Oracle: Φ(x) for x ≤ −3 from the Mills-ratio
     * continued fraction Φ(x) = φ(x)/(t + 1/(t + 2/(t + 3/(t + …)))), t = −x, and 1 − Φ(−x) by the same for x ≥ 3; in
     * between 1/2 + ∫₀ˣ φ by Simpson's rule (4000 panels), all in double.
     */
    static double normalCdf(double x) {
        if (x <= -3 || x >= 3) {
            double t = Math.abs(x), f = t;
            for (int k = 200; k >= 1; k--) f = t + k / f;
            double tail = Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI) / f;
            return x < 0 ? tail : 1 - tail;
        }
        int n = 4000;
        double h = x / n, s = 0;
        for (int i = 0; i <= n; i++)
            s += (i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2) * Math.exp(-(i * h) * (i * h) / 2);
        return 0.5 + s * h / 3 / Math.sqrt(2 * Math.PI);
    }

    @Property(tries = 2000)
    void geluIsRelativelyAccurateInBothTails(@ForAll @FloatRange(min = -9f, max = 9f) float x) {
        float got = FloatKernels.unary(dev.panthera.tensor.UnaryOp.GELU_ERF, FloatVector.broadcast(FloatKernels.F, x))
                .lane(0);
        double want = x * normalCdf(x);
        // the fit's 1.2e-7, plus exp's argument conditioning: z² = x²/2 is rounded in float (relative ulp), which moves
        // exp(−z²) by z²·ulp relative; a few more roundings: bound 1.2e-7 + 4·(1 + x²/2)·ulp(1f), plus the float's own
        // ulp
        double rel = 1.2e-7 + 4 * (1 + x * x / 2.0) * Math.ulp(1f);
        assertEquals(want, got, rel * Math.abs(want) + Math.ulp((float) want), "gelu(" + x + ")");
    }
}
