package dev.panthera.quant.gptq;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.testing.Shapes;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** GPTQ's properties that follow from its definition, over drawn shapes, configurations and weights. */
class GptqPropertiesTest {

    private static GptqConfig config(int bitsIdx, int groupIdx, boolean sym, boolean act) {
        int[] bits = {2, 3, 4, 8}, groups = {-1, 32, 64, 128};
        return GptqConfig.of(bits[bitsIdx], groups[groupIdx], sym, act);
    }

    /**
     * With a diagonal H the upper Cholesky factor of H⁻¹ is diagonal, so no error reaches another column and every
     * group's grid is taken from unchanged weights: GPTQ is round-to-nearest, bit for bit (without act-order, which
     * would regroup the columns; per-row grids do not depend on the order, so there act-order is allowed too).
     */
    /** A configuration, an [out, in] weight (z·exp(z'): magnitudes over several orders) and H's diagonal. */
    record DiagonalCase(GptqConfig config, int out, int in, float[] w, double[] diagonal) {
        @Override
        public String toString() {
            return config + " [" + out + ", " + in + "] w="
                    + (w.length <= 64 ? Arrays.toString(w) : w.length + " values") + " diag(H)="
                    + (in <= 64 ? Arrays.toString(diagonal) : in + " values");
        }
    }

    /**
     * out in [0, 9], in in [1, 300] (the kit's sizes: 1, primes, lengths next to multiples of 8 and 16), 2, 3, 4 or 8
     * bits, every group size, either symmetry, act-order with per-row grids only, drawn before the weight and the
     * diagonal 0.01 + U[0, 5], so a failure shrinks to a small weight first.
     */
    @Provide
    Arbitrary<DiagonalCase> diagonalCases() {
        Arbitrary<Tuple.Tuple2<Integer, Integer>> dims = Combinators.combine(
                        Arbitraries.integers().between(0, 9),
                        Shapes.sizes(1, 300).map(Long::intValue))
                .as(Tuple::of);
        Arbitrary<GptqConfig> configs = Combinators.combine(
                        Arbitraries.integers().between(0, 3),
                        Arbitraries.integers().between(0, 3),
                        Arbitraries.of(false, true),
                        Arbitraries.of(false, true))
                .as((b, g, sym, act) -> config(b, g, sym, act && g == 0));
        return SizesFirst.flatMap(Combinators.combine(dims, configs).as(Tuple::of), t -> {
            int out = t.get1().get1(), in = t.get1().get2();
            Arbitrary<List<Double>> z = Values.normal().list().ofSize(out * in);
            Arbitrary<float[]> w = Combinators.combine(z, z).as((a, e) -> {
                float[] v = new float[out * in];
                for (int i = 0; i < v.length; i++) v[i] = (float) (a.get(i) * Math.exp(e.get(i)));
                return v;
            });
            Arbitrary<double[]> diagonal = Values.uniform(0, 5)
                    .map(v -> 0.01 + v)
                    .list()
                    .ofSize(in)
                    .map(l -> l.stream().mapToDouble(Double::doubleValue).toArray());
            return Combinators.combine(w, diagonal).as((ww, d) -> new DiagonalCase(t.get2(), out, in, ww, d));
        });
    }

    @Property(tries = 60)
    void diagonalHessianReducesToRoundToNearest(@ForAll("diagonalCases") DiagonalCase dc) {
        GptqConfig c = dc.config();
        int out = dc.out(), in = dc.in();
        float[] w = dc.w();
        double[] h = new double[in * in];
        for (int j = 0; j < in; j++) h[j * in + j] = dc.diagonal()[j];
        GptqWeight g = Gptq.quantize("w", w, out, in, Hessian.ofMatrix("w", h, in, 100), c);
        GptqWeight rtn = Gptq.rtn("w", w, out, in, c);
        assertEquals(rtn, g);
        // and RTN is within half a step of every weight inside its group's range
        float[] d = rtn.dequantize();
        for (int i = 0; i < w.length; i++) {
            int gi = rtn.gIdx()[i % in] * out + i / in;
            double s = rtn.scales()[gi];
            int q = rtn.q(i / in, i % in);
            if (q > 0 && q < c.maxQ())
                assertTrue(Math.abs(w[i] - d[i]) <= s * (0.5 + 1e-6), i + ": " + w[i] + " " + d[i]);
        }
    }

    /**
     * GPTQ's guarantee is per column (each column's rounding error is optimally spread over the columns not yet
     * quantized), not per matrix: on a single small matrix it can end slightly above round-to-nearest (2 bits, group
     * 32, 3 rows, SplitMix64 seed 18: 0.0207 vs 0.0194). What holds, and what the paper reports, is the typical case:
     * summed over 16 independent matrices with strongly correlated input columns, GPTQ's layer-wise objective
     * ‖WX − ŴX‖² (in H's terms) is below RTN's.
     *
     * <p>The matrices come from a seed of gptq_fixture.py's SplitMix64 stream, not from jqwik arbitraries: the claim is
     * about an ensemble of typical matrices, so shrinking their values (toward 0: weights where GPTQ and RTN tie) would
     * not give a smaller counterexample; the configuration and the row count shrink, and a failing seed replays in the
     * fixture's independent float64 GPTQ.
     */
    @Property(tries = 25)
    void gptqBeatsRoundToNearestOnCorrelatedInputs(
            @ForAll @IntRange(min = 0, max = 2) int bitsIdx,
            @ForAll @IntRange(min = 0, max = 2) int groupIdx,
            @ForAll boolean sym,
            @ForAll boolean act,
            @ForAll @IntRange(min = 1, max = 12) int out,
            @ForAll long seed) {
        int in = 128;
        GptqConfig c = config(bitsIdx, groupIdx, sym, act);
        SplitMix64 rng = new SplitMix64(seed);
        double gptq = 0, rtn = 0;
        for (int m = 0; m < 16; m++) {
            float[] w = rng.weights(out, in);
            float[] x = rng.correlatedInputs(256, in);
            Hessian h = new Hessian("w", in);
            h.add(x, 256);
            gptq += Gptq.objective(w, Gptq.quantize("w", w, out, in, h, c).dequantize(), out, in, h);
            rtn += Gptq.objective(w, Gptq.rtn("w", w, out, in, c).dequantize(), out, in, h);
        }
        assertTrue(gptq < rtn, "GPTQ " + gptq + " vs RTN " + rtn + " summed over 16 matrices");
    }

    /** The objective computed through H equals 2/n·‖(W − Ŵ)Xᵀ‖² computed directly from X (float64 loops). */
    @Test
    void objectiveIsTheOutputError() {
        SplitMix64 rng = new SplitMix64(7);
        int out = 5, in = 40, n = 33;
        float[] w = rng.weights(out, in), v = rng.weights(out, in), x = rng.correlatedInputs(n, in);
        Hessian h = new Hessian("w", in);
        h.add(x, n);
        double direct = 0;
        for (int t = 0; t < n; t++) {
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int j = 0; j < in; j++) s += ((double) w[o * in + j] - v[o * in + j]) * x[t * in + j];
                direct += s * s;
            }
        }
        assertEquals(2.0 / n * direct, Gptq.objective(w, v, out, in, h), 1e-12 * direct);
    }

    @Test
    void badInputIsNamed() {
        GptqConfig c = GptqConfig.of(4, 32, false, false);
        float[] w = new float[64];
        w[33] = Float.NaN;
        var e = assertThrows(IllegalArgumentException.class, () -> Gptq.rtn("layer.q", w, 1, 64, c));
        assertTrue(e.getMessage().contains("layer.q") && e.getMessage().contains("NaN"), e.getMessage());
        var e2 = assertThrows(
                IllegalArgumentException.class,
                () -> Gptq.quantize("layer.k", new float[64], 1, 64, new Hessian("layer.k", 32), c));
        assertTrue(e2.getMessage().contains("layer.k") && e2.getMessage().contains("[32, 32]"), e2.getMessage());
        var e3 = assertThrows(
                IllegalStateException.class,
                () -> Gptq.quantize("layer.v", new float[64], 1, 64, new Hessian("layer.v", 64), c));
        assertTrue(e3.getMessage().contains("no calibration rows"), e3.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GptqConfig.of(5, 32, false, false));
        assertThrows(IllegalArgumentException.class, () -> GptqConfig.of(4, 48, false, false));
        var e4 = assertThrows(
                IllegalArgumentException.class,
                () -> new Hessian("h", 3).add(new float[] {1, Float.POSITIVE_INFINITY, 0}, 1));
        assertTrue(e4.getMessage().contains("Infinity"), e4.getMessage());
    }
}
