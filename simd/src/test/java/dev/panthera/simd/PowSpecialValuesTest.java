package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * pow over every pair of special and ordinary values against {@link Math#pow} in double rounded to float, the rules
 * the reference backend follows. Java's pow differs from C's (which the Vector API's POW follows once C2 compiles it)
 * where the exponent is NaN (Java: NaN, C: pow(1, NaN) = 1) and where |base| = 1 and the exponent is infinite (Java:
 * NaN, C: 1).
 * Results that are NaN, infinite, zero or exactly 1 must match bit for bit (the sign of zero included); the others
 * within 2 float ulps of the correctly rounded value (the Vector API documents 1 ulp for POW, the rounding of the
 * double result to float adds half of one).
 */
class PowSpecialValuesTest {
    private static final float[] VALUES = {
        Float.NaN,
        Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY,
        0f,
        -0f,
        1f,
        -1f,
        0.5f,
        -0.5f,
        2f,
        -2f,
        3f,
        -3f,
        1.5f,
        -1.5f,
        Float.MIN_VALUE,
        -Float.MIN_VALUE,
        Float.MIN_NORMAL,
        Float.MAX_VALUE,
        -Float.MAX_VALUE,
        0.999f,
        1.001f
    };

    /**
     * Each pair repeated so one call runs a long loop, and the call repeated: the interpreted Vector API follows Java's
     * rules and only the compiled kernel (C2's POW intrinsic) gives C's, so the kernel must run hot for the check to
     * mean anything. Every repetition is checked.
     */
    @Test
    void everyPairFollowsJavasPow() {
        int n = VALUES.length, copies = 64, len = n * n * copies;
        float[] base = new float[len], exp = new float[len];
        for (int c = 0; c < copies; c++) {
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    base[(c * n + i) * n + j] = VALUES[i];
                    exp[(c * n + i) * n + j] = VALUES[j];
                }
            }
        }
        Tensor b = Tensor.of(base, len), e = Tensor.of(exp, len);
        try (var use = Backends.use(new SimdBackend())) {
            for (int rep = 0; rep < 300; rep++) {
                float[] got = b.pow(e).toFloatArray();
                for (int i = 0; i < len; i++) {
                    float want = (float) Math.pow(base[i], exp[i]);
                    String what = "repetition " + rep + ": pow(" + base[i] + ", " + exp[i] + ")";
                    if (Float.isNaN(want) || Float.isInfinite(want) || want == 0f || want == 1f) {
                        assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got[i]), what + " = " + got[i]);
                    } else {
                        assertTrue(
                                Math.abs(got[i] - want) <= 2 * Math.ulp(want),
                                what + " = " + got[i] + ", want " + want);
                    }
                }
            }
        }
    }
}
