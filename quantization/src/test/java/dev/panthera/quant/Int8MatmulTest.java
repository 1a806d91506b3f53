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
        return draws(
                Arbitraries.integers().between(0, 5),
                Arbitraries.integers().between(0, 13),
                Shapes.sizes(0, 131).map(Long::intValue));
    }

    /** Sizes m, n, k drawn first, then the weight's values (N(0, 1)·0.05) and the activations' (N(0, 1)·3). */
    private static Arbitrary<W8A8> draws(Arbitrary<Integer> ms, Arbitrary<Integer> ns, Arbitrary<Integer> ks) {
        Arbitrary<Tuple.Tuple3<Integer, Integer, Integer>> sizes =
                Combinators.combine(ms, ns, ks).as(Tuple::of);
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

    /**
     * m in [8, 20] (the blocked path's rows), n in [0, 70] (one to three slivers, partial ones included), k in [0,
     * 2200]: depths of one chunk, of two (past 1024, and past 1040 where a float sum of 127² products could round)
     * and of three.
     */
    @Provide
    Arbitrary<W8A8> blockedProducts() {
        return draws(
                Arbitraries.integers().between(Int8Matmul.BLOCKED_ROWS, 20),
                Shapes.sizes(0, 70).map(Long::intValue),
                Arbitraries.oneOf(
                        Shapes.sizes(0, 300).map(Long::intValue),
                        Arbitraries.integers().between(1000, 1100),
                        Arbitraries.integers().between(2040, 2200)));
    }

    @Property(tries = 40)
    void blockedProductGivesTheReferenceBitForBit(@ForAll("blockedProducts") W8A8 c) {
        int m = c.m(), n = c.n(), k = c.k();
        Int8Weight w = Int8Weight.quantize("w", c.w(), n, k);
        float[] y = new float[m * n], ref = new float[m * n];
        Int8Matmul.blocked(c.x(), m, w, Int8Matmul.Slivers.of(w), y);
        Int8Matmul.reference(c.x(), m, w, ref);
        assertArrayEquals(ref, y, 0f, "exact int32 sums through the float kernel: m=" + m + " n=" + n + " k=" + k);
        if (k <= 300) check(c.x(), m, w, y, "blocked m=" + m + " n=" + n + " k=" + k);
    }

    @Test
    void blockedSumsOfFullMagnitudeStayExact() {
        // Row 0 (all 127) against column 0, depth 4096 in runs of 1024: 1024 products +127² = 16129, then 1023 of
        // +16129 and a zero, 1024 of -16129, 1023 of -16129 and one +16129. The exact sum is 16129. A float sum
        // carried across the runs reaches 33016063 after the second, which no float holds (the spacing is 4 past
        // 2^25): rounded to 33016064, it ends at 16130. Chunks of at most 1040 products keep every float sum exact.
        int m = 9, n = 33, k = 4096;
        Random r = new Random(5);
        float[] wf = new float[n * k], x = new float[m * k];
        for (int i = 0; i < m * k; i++) x[i] = i < k ? 2f : r.nextBoolean() ? 2f : -2f;
        for (int i = 0; i < n * k; i++) wf[i] = r.nextInt(3) - 1;
        for (int p = 0; p < k; p++) wf[p] = p < 2047 ? 1f : p == 2047 ? 0f : p < 4095 ? -1f : 1f;
        Int8Weight w = Int8Weight.quantize("full", wf, n, k);
        float[] y = new float[m * n], ref = new float[m * n];
        Int8Matmul.blocked(x, m, w, Int8Matmul.Slivers.of(w), y);
        Int8Matmul.reference(x, m, w, ref);
        assertArrayEquals(ref, y, 0f);
        // y = fl(fl(acc) · fl(sx · sw)) with acc = 16129, sx = 2/127, sw = 1/127: three roundings of 2^-24 from 2
        assertEquals(2.0, y[0], 2.0 * 3 * 0x1p-24, "row 0 against column 0");
        var other = Int8Weight.quantize("other", wf, n, k);
        var e = assertThrows(
                IllegalArgumentException.class, () -> Int8Matmul.blocked(x, m, w, Int8Matmul.Slivers.of(other), y));
        assertTrue(e.getMessage().contains("full"), e.getMessage());
    }

    @Test
    void blockedRowQuantizerRoundsTiesToEvenAsTheByteQuantizer() {
        // amax 127 makes the multiplier 1, so the halves are ties: rint sends them to the even neighbour; 37 values
        // reach every lane of a 16-lane vector and a scalar tail
        float[] x = new float[37];
        x[0] = 127f;
        for (int i = 1; i < x.length; i++) x[i] = (i % 2 == 0 ? -1 : 1) * (i / 2 + 0.5f);
        x[35] = Float.MIN_VALUE;
        x[36] = -126.5f;
        byte[] qb = new byte[x.length];
        float[] qf = new float[x.length];
        float sb = Int8Weight.quantizeRow(x, 0, x.length, qb, 0), sf = Int8Matmul.quantizeRow(x, 0, x.length, qf, 0);
        assertEquals(sb, sf, 0f);
        for (int i = 0; i < x.length; i++) {
            assertEquals(qb[i], qf[i], 0f, "value " + i + " = " + x[i]);
            assertEquals(Math.rint(x[i]), qf[i], 0f, "ties to even: value " + i + " = " + x[i]);
        }
        float[] bad = x.clone();
        bad[20] = Float.NEGATIVE_INFINITY;
        var e = assertThrows(IllegalArgumentException.class, () -> Int8Matmul.quantizeRow(bad, 0, 37, qf, 0));
        assertTrue(e.getMessage().contains("20") && e.getMessage().contains("Infinity"), e.getMessage());
        float[] zero = new float[37];
        assertEquals(0f, Int8Matmul.quantizeRow(zero, 0, 37, qf, 0), 0f);
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
