package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.Tensor;
import dev.panthera.testing.Shapes;
import dev.panthera.testing.SizesFirst;
import java.util.Random;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/** W8A8 against float64: the int32 sums exactly, the float scaling within its roundings, and the quantization error. */
class Int8MatmulTest {
    static float[] randn(Random r, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * scale);
        return x;
    }

    static void check(float[] x, int m, Int8Weight w, float[] y, String what) {
        int n = w.out(), k = w.in();
        byte[] qx = new byte[k];
        float[] wf = w.dequantize();
        for (int i = 0; i < m; i++) {
            // the per-token activation quantization, recomputed in float64 from its definition
            double amax = 0;
            for (int j = 0; j < k; j++) amax = Math.max(amax, Math.abs(x[i * k + j]));
            float sx = Int8Weight.quantizeRow(x, i * k, k, qx, 0);
            assertEquals((float) (amax / 127), sx, Math.ulp((float) (amax / 127)), "activation scale");
            for (int j = 0; j < k; j++) {
                if (amax > 0) assertEquals(Math.rint(x[i * k + j] * (float) (127 / amax)), qx[j], 1.0, "q " + j);
            }
            for (int r = 0; r < n; r++) {
                long acc = 0;
                double exact = 0;
                for (int j = 0; j < k; j++) {
                    acc += (long) qx[j] * w.q()[r * k + j];
                    exact += (double) x[i * k + j] * wf[r * k + j];
                }
                double want = acc * ((double) sx * w.scale()[r]);
                // y = fl(fl(acc) · fl(sx · sw)): three roundings of 2^-24
                assertEquals(want, y[i * n + r], 3 * 0x1p-24 * Math.abs(want) + 1e-30, what + " scaled sum " + r);
                // against float64 x times the int8 weight: only the activation's rounding remains, |x - qx·sx| ≤ sx/2
                // per element (round to nearest), so the sum errs by at most Σ|w|·sx/2
                double actErr = 0;
                for (int j = 0; j < k; j++) actErr += Math.abs(wf[r * k + j]) * sx / 2;
                assertEquals(exact, y[i * n + r], actErr * 1.0001 + 1e-6 * Math.abs(exact) + 1e-30, what + " y " + r);
            }
        }
    }

    /** An [n, k] weight's floats (N(0, 1)·0.05) and m activation rows (N(0, 1)·3). */
    record W8A8(int m, int n, int k, float[] w, float[] x) {
        @Override
        public String toString() {
            return "m=" + m + " n=" + n + " k=" + k + " w=" + QuantDraws.show(w) + " x=" + QuantDraws.show(x);
        }
    }

    /**
     * m in [0, 5], n in [0, 13], k in [0, 131] (every tail of every int width; the kit's sizes favour 0, 1, primes and
     * lengths next to multiples of 8 and 16), drawn before the values.
     */
    @Provide
    Arbitrary<W8A8> products() {
        Arbitrary<Tuple.Tuple3<Integer, Integer, Integer>> sizes = Combinators.combine(
                        Arbitraries.integers().between(0, 5),
                        Arbitraries.integers().between(0, 13),
                        Shapes.sizes(0, 131).map(Long::intValue))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            int m = t.get1(), n = t.get2(), k = t.get3();
            return Combinators.combine(QuantDraws.normals(n * k, 0.05f), QuantDraws.normals(m * k, 3f))
                    .as((w, x) -> new W8A8(m, n, k, w, x));
        });
    }

    @Property(tries = 40)
    void vectorKernelAtEveryWidthAgainstFloat64(@ForAll("products") W8A8 c) {
        int m = c.m(), n = c.n(), k = c.k();
        Int8Weight w = Int8Weight.quantize("w", c.w(), n, k);
        float[] x = c.x();
        for (int bits = 128; bits <= IntVector.SPECIES_PREFERRED.vectorBitSize(); bits *= 2) {
            VectorSpecies<Integer> is = VectorSpecies.of(int.class, VectorShape.forBitSize(bits));
            float[] y = new float[m * n];
            Int8Matmul.matmul(is, x, m, w, y);
            check(x, m, w, y, bits + "-bit m=" + m + " n=" + n + " k=" + k);
            float[] ref = new float[m * n];
            Int8Matmul.reference(x, m, w, ref);
            assertArrayEquals(ref, y, 0f, "the int32 sums are exact: vector and scalar agree bit for bit");
        }
    }

    @Test
    void extremesZeroRowsAndTensors() {
        // all ±127 at the longest vector: the int32 sum of 16129s is exact
        int k = 4099;
        float[] ones = new float[k];
        java.util.Arrays.fill(ones, -2f);
        Int8Weight w = Int8Weight.quantize("w", ones, 1, k);
        float[] y = new float[1];
        Int8Matmul.matmul(IntVector.SPECIES_PREFERRED, ones, 1, w, y);
        assertEquals(4.0 * k, y[0], 4.0 * k * 3 * 0x1p-24);
        Int8Matmul.matmul(IntVector.SPECIES_PREFERRED, new float[k], 1, w, y);
        assertEquals(0f, y[0], "a zero activation row has scale 0");

        Random r = new Random(2);
        Int8Weight w2 = Int8Weight.quantize("proj", randn(r, 6 * 40, 1), 6, 40);
        float[] x = randn(r, 2 * 3 * 40, 1);
        Tensor t = Int8Matmul.matmul(Tensor.of(x, 2, 3, 40), w2);
        assertArrayEquals(new long[] {2, 3, 6}, t.dims());
        check(x, 6, w2, t.toFloatArray(), "tensor");
        var e = assertThrows(IllegalArgumentException.class, () -> Int8Matmul.matmul(Tensor.of(new float[39], 39), w2));
        assertTrue(e.getMessage().contains("proj") && e.getMessage().contains("40"), e.getMessage());
        float[] bad = randn(r, 6 * 40, 1);
        bad[45] = Float.NaN;
        var nan = assertThrows(IllegalArgumentException.class, () -> Int8Weight.quantize("proj", bad, 6, 40));
        assertTrue(nan.getMessage().contains("proj") && nan.getMessage().contains("NaN"), nan.getMessage());
    }
}
