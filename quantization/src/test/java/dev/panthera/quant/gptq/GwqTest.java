package dev.panthera.quant.gptq;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.Tensor;
import dev.panthera.testing.Values;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * GWQ on a linear layer whose inputs have a few hot channels (activation outliers, 20× the others): the calibration
 * gradient ∂L/∂W = Rᵀ X of L = Σ (XWᵀ) ⊙ R comes from our autograd; the weights it singles out sit in the hot
 * channels, where a quantization error costs the output most.
 */
class GwqTest {
    static final int OUT = 16, IN = 64, N = 128;

    record Layer(float[] w, float[] x, float[] grad) {}

    /** The layer's weights, its inputs' hot channels, its inputs before the hot channels are scaled, and R. */
    record Inputs(int[] hot, float[] w, float[] x, float[] r) {
        @Override
        public String toString() {
            return "hot channels " + Arrays.toString(hot) + ", w " + w.length + " values from " + w[0] + ", x "
                    + x.length + " values from " + x[0] + ", R " + r.length + " values from " + r[0];
        }
    }

    /** A layer for the fixed fixtures, from a seeded Random: the same distributions as {@link #inputs()}. */
    static Layer layer(long seed) {
        Random r = new Random(seed);
        float[] w = new float[OUT * IN], x = new float[N * IN], rr = new float[N * OUT];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * 0.1);
        int[] hot = r.ints(0, IN).distinct().limit(4).toArray();
        for (int t = 0; t < N; t++) for (int j = 0; j < IN; j++) x[t * IN + j] = (float) r.nextGaussian();
        for (int i = 0; i < rr.length; i++) rr[i] = (float) r.nextGaussian();
        return layer(new Inputs(hot, w, x, rr));
    }

    /**
     * Four distinct hot channels (shrinking toward channels 0 to 3), weights N(0, 1)·0.1, inputs and R N(0, 1). The
     * values do not shrink: the claim below is about typical layers, and shrinking them toward 0 reaches degenerate
     * ones (all-zero weights, where every quantizer is exact and the errors tie at 0) that are no counterexample; a
     * failure reports the drawn layer, replayed from jqwik's seed, with the hot channels and the configuration shrunk.
     */
    @Provide
    Arbitrary<Inputs> inputs() {
        Arbitrary<int[]> hot = Arbitraries.integers()
                .between(0, IN - 1)
                .set()
                .ofSize(4)
                .map(set -> set.stream().mapToInt(Integer::intValue).sorted().toArray());
        return Combinators.combine(
                        hot,
                        normals(OUT * IN, 0.1).dontShrink(),
                        normals(N * IN, 1).dontShrink(),
                        normals(N * OUT, 1).dontShrink())
                .as(Inputs::new);
    }

    private static Arbitrary<float[]> normals(int n, double scale) {
        return Values.normal().list().ofSize(n).map(l -> {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) (l.get(i) * scale);
            return v;
        });
    }

    /** The layer over {@code in}: x with the hot channels ×20, and the calibration gradient Rᵀ X through autograd. */
    static Layer layer(Inputs in) {
        float[] w = in.w(), x = in.x().clone(), rr = in.r();
        for (int t = 0; t < N; t++) for (int h : in.hot()) x[t * IN + h] *= 20;
        Tensor wt = Tensor.of(w.clone(), OUT, IN).requiresGrad(true);
        Tensor.of(x, N, IN).matmul(wt.t()).mul(Tensor.of(rr, N, OUT)).sum().backward();
        float[] g = wt.grad().toFloatArray();
        // the gradient is Rᵀ X: checked against a float64 loop (float32 accumulation over N terms: N·2^-24·Σ|terms|)
        for (int o = 0; o < OUT; o++) {
            for (int j = 0; j < IN; j++) {
                double s = 0, a = 0;
                for (int t = 0; t < N; t++) {
                    s += (double) rr[t * OUT + o] * x[t * IN + j];
                    a += Math.abs((double) rr[t * OUT + o] * x[t * IN + j]);
                }
                assertEquals(s, g[o * IN + j], N * 0x1p-24 * a + 1e-30);
            }
        }
        return new Layer(w, x, g);
    }

    /** ‖(W − Ŵ)Xᵀ‖² in float64. */
    static double outputError(float[] w, float[] wHat, float[] x) {
        double e = 0;
        for (int t = 0; t < N; t++) {
            for (int o = 0; o < OUT; o++) {
                double s = 0;
                for (int j = 0; j < IN; j++) s += ((double) w[o * IN + j] - wHat[o * IN + j]) * x[t * IN + j];
                e += s * s;
            }
        }
        return e;
    }

    @Test
    void outliersAreTheTopGradientsKeptExactlyInFloat16() {
        Layer l = layer(3);
        GwqWeight g = Gwq.quantize("w", l.w(), OUT, IN, l.grad(), 0.01, null, GptqConfig.of(3, 32, false, false));
        // ⌈1% of 1024⌉ = 11 positions: the 11 largest |gradient|, found here by a plain sort
        int[] expected = IntStream.range(0, OUT * IN)
                .boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -Math.abs(l.grad()[i])))
                .limit(11)
                .mapToInt(Integer::intValue)
                .sorted()
                .toArray();
        assertArrayEquals(expected, g.outlierIndex());
        float[] d = g.dequantize();
        for (int i : expected) {
            float half = Float.float16ToFloat(Float.floatToFloat16(l.w()[i]));
            assertEquals(half, d[i], "outlier " + i);
        }
        // every other weight is the dense grid's value
        float[] dense = g.dense().dequantize();
        for (int i = 0; i < d.length; i++) if (Arrays.binarySearch(expected, i) < 0) assertEquals(dense[i], d[i]);
    }

    /**
     * At the same bits, GWQ over RTN has a lower output error than RTN on every drawn layer. (Keeping the same number
     * of largest-|w| weights instead is not always worse on this layer under RTN: removing the largest weights also
     * narrows their groups' grids, which this test does not claim GWQ beats.)
     */
    @Property(tries = 15)
    void gradientSalientOutliersLowerTheOutputError(
            @ForAll @IntRange(min = 0, max = 1) int bitsIdx, @ForAll boolean sym, @ForAll("inputs") Inputs inputs) {
        Layer l = layer(inputs);
        GptqConfig c = GptqConfig.of(bitsIdx == 0 ? 3 : 4, 32, sym, false);
        double rtn = outputError(l.w(), Gptq.rtn("w", l.w(), OUT, IN, c).dequantize(), l.x());
        double gwqRtn = outputError(
                l.w(),
                Gwq.quantize("w", l.w(), OUT, IN, l.grad(), 0.01, null, c).dequantize(),
                l.x());
        assertTrue(gwqRtn < rtn, "GWQ+RTN " + gwqRtn + " vs RTN " + rtn);
    }

    /**
     * Over GPTQ the claim holds on average, not on every layer: GPTQ compensates each weight's error on the weights
     * after it, and fixing the outliers changes that path, so one drawn layer (3 bits, symmetric) gave GWQ+GPTQ
     * 1132.8 against GPTQ's 1129.7. Here: forty seeded layers of the property's distribution, each at 3 and 4 bits,
     * symmetric and not; the summed output error of GWQ+GPTQ is below GPTQ's, and GWQ wins on most layers.
     */
    @Test
    void overGptqGradientSalientOutliersLowerTheOutputErrorOnAverage() {
        double gptqSum = 0, gwqSum = 0;
        int wins = 0, cases = 0;
        for (long seed = 100; seed < 140; seed++) {
            Layer l = layer(seed);
            Hessian h = new Hessian("w", IN);
            h.add(l.x(), N);
            for (int bits : new int[] {3, 4}) {
                for (boolean sym : new boolean[] {false, true}) {
                    GptqConfig c = GptqConfig.of(bits, 32, sym, false);
                    double gptq = outputError(
                            l.w(), Gptq.quantize("w", l.w(), OUT, IN, h, c).dequantize(), l.x());
                    double gwq = outputError(
                            l.w(),
                            Gwq.quantize("w", l.w(), OUT, IN, l.grad(), 0.01, h, c)
                                    .dequantize(),
                            l.x());
                    gptqSum += gptq;
                    gwqSum += gwq;
                    if (gwq < gptq) wins++;
                    cases++;
                }
            }
        }
        assertTrue(gwqSum < gptqSum, "summed GWQ+GPTQ " + gwqSum + " vs GPTQ " + gptqSum);
        assertTrue(wins > cases / 2, "GWQ+GPTQ lower on " + wins + " of " + cases + " layers");
    }

    @Test
    void badGradientsAreNamed() {
        float[] g = new float[64];
        g[5] = Float.NaN;
        var e = assertThrows(IllegalArgumentException.class, () -> Gwq.salient("layers.0.up", g, 0.01));
        assertTrue(e.getMessage().contains("layers.0.up") && e.getMessage().contains("NaN"), e.getMessage());
        var e2 = assertThrows(
                IllegalArgumentException.class,
                () -> Gwq.quantize(
                        "m", new float[64], 1, 64, new float[32], 0.01, null, GptqConfig.of(4, 32, false, false)));
        assertTrue(e2.getMessage().contains("32 gradients for 64 weights"), e2.getMessage());
    }
}
