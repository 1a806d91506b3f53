package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.loss.Losses;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import net.jqwik.api.*;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
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

    @Property(tries = 25)
    void crossEntropyMatchesPyTorchDefinition(
            @ForAll @IntRange(min = 1, max = 9) int n,
            @ForAll @IntRange(min = 2, max = 11) int c,
            @ForAll @DoubleRange(min = 0, max = 0.5) double eps,
            @ForAll long seed) {
        Tensor logits = Tensor.randn(Shape.of(n, c), seed).mul(3);
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        long[] y = new long[n];
        for (int i = 0; i < n; i++) y[i] = r.nextInt(c);
        if (n > 1) y[r.nextInt(n)] = -100;
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

    @Property(tries = 20)
    void distillationLossesMatchLoops(
            @ForAll @IntRange(min = 1, max = 5) int n,
            @ForAll @IntRange(min = 2, max = 7) int c,
            @ForAll @DoubleRange(min = 0.5, max = 4) double temp,
            @ForAll long seed) {
        Tensor s = Tensor.randn(Shape.of(n, c), seed),
                t = Tensor.randn(Shape.of(n, c), seed + 1).mul(2);
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
