package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.loss.Losses;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.util.Arrays;
import net.jqwik.api.*;
import net.jqwik.api.constraints.DoubleRange;
import org.junit.jupiter.api.Test;

/** Losses against float64 loops of PyTorch's documented formulas and TinyBERT's definitions. */
class LossesTest {

    static double[] logSoftmaxRow(double[] z, int off, int c, double temp) {
        double mx = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < c; i++) mx = Math.max(mx, z[off + i] / temp);
        double s = 0;
        for (int i = 0; i < c; i++) s += Math.exp(z[off + i] / temp - mx);
        double[] out = new double[c];
        for (int i = 0; i < c; i++) out[i] = z[off + i] / temp - mx - Math.log(s);
        return out;
    }

    /** PyTorch docs: l_n = -Σ_c w·log p_c·((1-ε)·1[c=y] + ε/C), mean over non-ignored n. */
    static double crossEntropy(double[] z, long[] y, int c, long ignore, double eps) {
        double total = 0;
        int count = 0;
        for (int n = 0; n < y.length; n++) {
            if (y[n] == ignore) continue;
            double[] lp = logSoftmaxRow(z, n * c, c, 1);
            double l = 0;
            for (int k = 0; k < c; k++) l -= lp[k] * ((k == y[n] ? 1 - eps : 0) + eps / c);
            total += l;
            count++;
        }
        return total / count;
    }

    /** n rows of c logits (N(0, 1)·3), each row's label in [0, c), and the row whose label is -100 when n > 1. */
    record CeCase(int n, int c, float[] logits, long[] y) {
        @Override
        public String toString() {
            return "n=" + n + " c=" + c + " logits=" + Arrays.toString(logits) + " y=" + Arrays.toString(y);
        }
    }

    private static Arbitrary<float[]> normals(int n, double scale) {
        return Values.normal().list().ofSize(n).map(l -> {
            float[] out = new float[l.size()];
            for (int i = 0; i < out.length; i++) out[i] = (float) (l.get(i) * scale);
            return out;
        });
    }

    /** Sizes drawn before the logits and labels, so a failure shrinks to few rows and classes first. */
    @Provide
    Arbitrary<CeCase> ceCases() {
        Arbitrary<Tuple.Tuple2<Integer, Integer>> sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 9),
                        Arbitraries.integers().between(2, 11))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            int n = t.get1(), c = t.get2();
            Arbitrary<long[]> labels =
                    Arbitraries.longs().between(0, c - 1).array(long[].class).ofSize(n);
            return Combinators.combine(
                            normals(n * c, 3), labels, Arbitraries.integers().between(0, n - 1))
                    .as((logits, y, ignored) -> {
                        long[] labelled = y.clone();
                        if (n > 1) labelled[ignored] = -100;
                        return new CeCase(n, c, logits, labelled);
                    });
        });
    }

    @Property(tries = 25)
    void crossEntropyMatchesPyTorchDefinition(
            @ForAll("ceCases") CeCase cs, @ForAll @DoubleRange(min = 0, max = 0.5) double eps) {
        int n = cs.n(), c = cs.c();
        Tensor logits = Tensor.of(cs.logits(), n, c);
        long[] y = cs.y();
        double expected = crossEntropy(F64.d(logits.toFloatArray()), y, c, -100, eps);
        assertEquals(
                expected,
                Losses.crossEntropy(logits, Tensor.of(y, n), -100, eps).item(),
                1e-5 * Math.max(1, Math.abs(expected)));
    }

    @Test
    void crossEntropyGradientIsSoftmaxMinusOneHotOverCount() {
        Tensor logits = Tensor.randn(Shape.of(3, 4), 2).requiresGrad(true);
        long[] y = {1, -100, 3};
        Losses.crossEntropy(logits, Tensor.of(y, 3)).backward();
        double[] z = F64.d(logits.detach().toFloatArray());
        double[] expected = new double[12];
        for (int n = 0; n < 3; n++) {
            if (y[n] == -100) continue;
            double[] lp = logSoftmaxRow(z, n * 4, 4, 1);
            for (int k = 0; k < 4; k++) expected[n * 4 + k] = (Math.exp(lp[k]) - (k == y[n] ? 1 : 0)) / 2;
        }
        F64.close(expected, logits.grad().toFloatArray(), 1e-6, 1e-5, "d CE / d logits");
    }

    @Test
    void crossEntropyOverSequencesAndBadTargets() {
        Tensor logits = Tensor.randn(Shape.of(2, 3, 5), 1);
        long[] y = {0, 1, 2, 3, 4, -100};
        double expected = crossEntropy(F64.d(logits.toFloatArray()), y, 5, -100, 0);
        assertEquals(expected, Losses.crossEntropy(logits, Tensor.of(y, 2, 3)).item(), 1e-5);
        var e = assertThrows(
                IndexOutOfBoundsException.class,
                () -> Losses.crossEntropy(logits, Tensor.of(new long[] {0, 1, 5, 0, 0, 0}, 2, 3)));
        assertTrue(e.getMessage().contains("target 5"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class, () -> Losses.crossEntropy(logits, Tensor.of(new long[] {0, 1}, 2)));
    }

    @Test
    void mse() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), b = Tensor.of(new float[] {0, 2, 5, 1}, 2, 2);
        assertEquals((1 + 0 + 4 + 9) / 4.0, Losses.mse(a, b).item(), 1e-7);
        assertThrows(IllegalArgumentException.class, () -> Losses.mse(a, Tensor.zeros(4)));
    }

    /** Student logits N(0, 1) and teacher logits N(0, 1)·2, n rows of c. */
    record KdCase(int n, int c, float[] s, float[] t) {
        @Override
        public String toString() {
            return "n=" + n + " c=" + c + " s=" + Arrays.toString(s) + " t=" + Arrays.toString(t);
        }
    }

    /** Sizes drawn before the logits, so a failure shrinks to few rows and classes first. */
    @Provide
    Arbitrary<KdCase> kdCases() {
        Arbitrary<Tuple.Tuple2<Integer, Integer>> sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 5),
                        Arbitraries.integers().between(2, 7))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            int n = t.get1(), c = t.get2();
            return Combinators.combine(normals(n * c, 1), normals(n * c, 2)).as((s, te) -> new KdCase(n, c, s, te));
        });
    }

    @Property(tries = 20)
    void distillationLossesMatchLoops(
            @ForAll("kdCases") KdCase cs, @ForAll @DoubleRange(min = 0.5, max = 4) double temp) {
        int n = cs.n(), c = cs.c();
        Tensor s = Tensor.of(cs.s(), n, c), t = Tensor.of(cs.t(), n, c);
        double[] sd = F64.d(s.toFloatArray()), td = F64.d(t.toFloatArray());
        double soft = 0, kl = 0;
        for (int r = 0; r < n; r++) {
            double[] ls = logSoftmaxRow(sd, r * c, c, temp), lt = logSoftmaxRow(td, r * c, c, temp);
            for (int k = 0; k < c; k++) {
                soft -= Math.exp(lt[k]) * ls[k];
                kl += Math.exp(lt[k]) * (lt[k] - ls[k]);
            }
        }
        soft /= n * c; // TinyBERT's soft_cross_entropy: mean over every element, classes included
        kl = kl / n * temp * temp;
        assertEquals(soft, Losses.softCrossEntropy(s, t, temp).item(), 1e-5 * Math.max(1, soft));
        assertEquals(kl, Losses.klDivergence(s, t, temp).item(), 1e-5 * Math.max(1, kl));
        assertEquals(0, Losses.klDivergence(t, t, temp).item(), 1e-5);
    }

    @Test
    void tinyBertAttentionLossZeroesMaskedScores() {
        double inf = Double.NEGATIVE_INFINITY;
        Tensor s = Tensor.of(new double[] {1, inf, 2, 3}, 1, 1, 2, 2).to(dev.panthera.tensor.DType.F32);
        Tensor t = Tensor.of(new double[] {0, -1e4, 2, 5}, 1, 1, 2, 2).to(dev.panthera.tensor.DType.F32);
        // masked entries become 0 on both sides: ((1-0)² + 0 + 0 + (3-5)²)/4
        assertEquals(5 / 4.0, Losses.attentionScoreMse(s, t).item(), 1e-6);
    }

    @Test
    void tinyBertHiddenStateLossProjectsTheStudent() {
        var proj = new dev.panthera.nn.layers.Linear(2, 3, false, new java.util.SplittableRandom(1));
        Tensor hs = Tensor.randn(Shape.of(4, 2), 1), ht = Tensor.randn(Shape.of(4, 3), 2);
        double[] p =
                F64.linear(F64.d(hs.toFloatArray()), 4, 2, F64.d(proj.weight().toFloatArray()), 3, null);
        double[] tt = F64.d(ht.toFloatArray());
        double e = 0;
        for (int i = 0; i < 12; i++) e += (p[i] - tt[i]) * (p[i] - tt[i]) / 12;
        assertEquals(e, Losses.hiddenStateMse(hs, ht, proj).item(), 1e-6);
    }
}
