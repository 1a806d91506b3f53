package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/** Group-wise asymmetric int4 against its float64 definition. */
class Int4WeightTest {
    /** An [out, in] weight (z·exp(z') + 0.3: magnitudes over several orders, off-centre) and m rows of N(0, 1). */
    record Case(int groupSize, int out, int in, int m, float[] w, float[] x) {
        @Override
        public String toString() {
            return "group " + groupSize + " [" + out + ", " + in + "] m=" + m + " w=" + QuantDraws.show(w) + " x="
                    + QuantDraws.show(x);
        }
    }

    /** Groups of 32, 64 or 128, out in [0, 7], 0 to 3 groups per row, m in [0, 3], drawn before the values. */
    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Tuple.Tuple4<Integer, Integer, Integer, Integer>> sizes = Combinators.combine(
                        Arbitraries.of(32, 64, 128),
                        Arbitraries.integers().between(0, 7),
                        Arbitraries.integers().between(0, 3),
                        Arbitraries.integers().between(0, 3))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            int groupSize = t.get1(), out = t.get2(), in = groupSize * t.get3(), m = t.get4();
            return Combinators.combine(QuantDraws.wideNormals(out * in), QuantDraws.normals(m * in))
                    .as((w, x) -> {
                        for (int i = 0; i < w.length; i++) w[i] += 0.3f;
                        return new Case(groupSize, out, in, m, w, x);
                    });
        });
    }

    @Property(tries = 50)
    void roundTripAndMatmulAgainstFloat64(@ForAll("cases") Case c) {
        int groupSize = c.groupSize(), out = c.out(), in = c.in(), m = c.m(), groupsPerRow = in / groupSize;
        float[] w = c.w();
        Int4Weight q = Int4Weight.quantize("w", w, out, in, groupSize);
        float[] y = q.dequantize();
        for (int grp = 0; grp < out * groupsPerRow; grp++) {
            double min = 0, max = 0;
            for (int i = grp * groupSize; i < (grp + 1) * groupSize; i++) {
                min = Math.min(min, w[i]);
                max = Math.max(max, w[i]);
            }
            double s = (max - min) / 15;
            assertEquals(s, q.scale()[grp], Math.ulp((float) s) + 1e-30, "scale " + grp);
            for (int i = grp * groupSize; i < (grp + 1) * groupSize; i++) {
                assertEquals((q.q(i) - q.zero()[grp]) * (double) q.scale()[grp], y[i], Math.abs(y[i]) * 0x1p-24);
                // grid (q - z)·s: rounding z shifts it by at most s/2, so a value beyond its end is within s/2 of the
                // end, and inside it round-to-nearest errs by s/2; float32 rounding of w/s and of s (|q - z| ≤ 15)
                // adds under 15·2^-24·s each
                assertTrue(Math.abs(w[i] - y[i]) <= s * (0.5 + 1e-5) + 1e-30, i + ": " + w[i] + " -> " + y[i]);
            }
        }
        float[] x = c.x();
        float[] out2 = q.matmul(Tensor.of(x, m, in)).toFloatArray();
        for (int i = 0; i < m; i++) {
            for (int n = 0; n < out; n++) {
                double s = 0, a = 0;
                for (int k = 0; k < in; k++) {
                    s += (double) x[i * in + k] * y[n * in + k];
                    a += Math.abs((double) x[i * in + k] * y[n * in + k]);
                }
                assertEquals(s, out2[i * out + n], (in + 2) * 0x1p-24 * a + 1e-30, "y " + i + " " + n);
            }
        }
    }

    @Test
    void zeroIsExactAndBadShapesAreNamed() {
        float[] w = new float[64];
        for (int i = 0; i < 64; i++) w[i] = i % 3 == 0 ? 0 : i * 0.1f;
        float[] y = Int4Weight.quantize("w", w, 1, 64, 32).dequantize();
        for (int i = 0; i < 64; i += 3) assertEquals(0f, y[i], 0f, "0 is on the grid");
        var e = assertThrows(
                IllegalArgumentException.class, () -> Int4Weight.quantize("mlp.up", new float[2 * 96], 2, 96, 64));
        assertTrue(e.getMessage().contains("mlp.up") && e.getMessage().contains("[2, 96]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Int4Weight.quantize("w", new float[48], 1, 48, 48));
        w[7] = Float.NaN;
        var nan = assertThrows(IllegalArgumentException.class, () -> Int4Weight.quantize("w", w, 1, 64, 32));
        assertTrue(nan.getMessage().contains("[0, 7]"), nan.getMessage());
    }
}
