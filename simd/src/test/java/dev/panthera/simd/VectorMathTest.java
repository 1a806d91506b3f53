package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.FloatRange;
import org.junit.jupiter.api.Test;

/** The vector exp/tanh/erf against java.lang.Math in double (the independent oracle). */
class VectorMathTest {
    private static float lane0(FloatVector v) { return v.lane(0); }

    @Property(tries = 3000)
    void expIsWithinTwoUlps(@ForAll @FloatRange(min = -87.3f, max = 88.3f) float x) {
        float got = lane0(FloatKernels.exp(FloatVector.broadcast(FloatKernels.F, x)));
        double want = Math.exp(x);
        assertTrue(Math.abs(got - want) <= 2 * Math.ulp((float) want), "exp(" + x + ") = " + got + ", Math.exp gives " + want);
    }

    @Test
    void expEdges() {
        float[] in = {Float.NEGATIVE_INFINITY, -1000f, Float.POSITIVE_INFINITY, 1000f, Float.NaN, 0f};
        float[] want = {0f, 0f, Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 1f};
        for (int i = 0; i < in.length; i++) {
            assertEquals(want[i], lane0(FloatKernels.exp(FloatVector.broadcast(FloatKernels.F, in[i]))), "exp(" + in[i] + ")");
        }
    }

    @Property(tries = 2000)
    void tanhAndErfAreClose(@ForAll @FloatRange(min = -20f, max = 20f) float x) {
        float t = lane0(FloatKernels.tanh(FloatVector.broadcast(FloatKernels.F, x)));
        assertEquals(Math.tanh(x), t, 2e-7 + 2e-6 * Math.abs(Math.tanh(x)), "tanh(" + x + ")");
        float e = lane0(FloatKernels.erf(FloatVector.broadcast(FloatKernels.F, x)));
        // Abramowitz & Stegun 7.1.26 guarantees |error| ≤ 1.5e-7; float evaluation adds a few ulps
        assertEquals(dev.panthera.tensor.spi.Scalars.erf(x), e, 5e-7, "erf(" + x + ")");
    }
}
