package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/** SmoothQuant's factors, its folding identity, and what it buys W8A8 on activations with outlier channels. */
class SmoothQuantTest {

    /** s_j against the paper's formula evaluated in float64 (eq. 4), floors included. */
    @Test
    void factorsFollowTheFormula() {
        float[] a = {4f, 0f, 1e-7f, 100f}, w = {0.25f, 1f, 0.5f, 0f};
        for (double alpha : new double[] {0, 0.5, 0.85, 1}) {
            float[] s = SmoothQuant.factors(a, w, alpha);
            for (int j = 0; j < a.length; j++) {
                double want = Math.max(
                        1e-5, Math.pow(Math.max(1e-5, a[j]), alpha) / Math.pow(Math.max(1e-5, w[j]), 1 - alpha));
                assertEquals(want, s[j], want * 0x1p-23, "alpha " + alpha + " channel " + j);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> SmoothQuant.factors(a, new float[3], 0.5));
        assertThrows(IllegalArgumentException.class, () -> SmoothQuant.factors(a, w, 1.5));
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> new SmoothQuant.ChannelMax(2).observe(Tensor.of(new float[] {1, Float.NaN}, 1, 2)));
        assertTrue(e.getMessage().contains("channel 1"), e.getMessage());
    }

    /** m rows of k activations, k norm gains, n rows of k weights, all N(0, 1) before the outlier channels. */
    record Fold(int k, int n, int m, float[] x, float[] g, float[] w) {
        @Override
        public String toString() {
            return "k=" + k + " n=" + n + " m=" + m + " x=" + java.util.Arrays.toString(x) + " g="
                    + java.util.Arrays.toString(g) + " w=" + java.util.Arrays.toString(w);
        }
    }

    private static Arbitrary<float[]> normals(int n) {
        return Values.normal().list().ofSize(n).map(l -> {
            float[] v = new float[l.size()];
            for (int i = 0; i < v.length; i++) v[i] = l.get(i).floatValue();
            return v;
        });
    }

    /** k in [1, 40], n in [1, 9], m in [0, 4], drawn before the values, so a failure shrinks to a small product first. */
    @Provide
    Arbitrary<Fold> folds() {
        Arbitrary<Tuple.Tuple3<Integer, Integer, Integer>> sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 40),
                        Arbitraries.integers().between(1, 9),
                        Arbitraries.integers().between(0, 4))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            int k = t.get1(), n = t.get2(), m = t.get3();
            return Combinators.combine(normals(m * k), normals(k), normals(n * k))
                    .as((x, g, w) -> new Fold(k, n, m, x, g, w));
        });
    }

    /**
     * (x∘g)·Wᵀ and (x∘(g/s))·(W∘s)ᵀ in float32 against the float64 unfolded product. Each folded term x·(g/s)·(w·s)
     * carries two more roundings than x·g·w (the division and the multiplication by s, u = 2^-24 each), so with k
     * products in a sum both stay within (k + 4)·u·Σ|x·g·w| of the exact value (first order, ×1.01).
     */
    @Property(tries = 50)
    void foldingLeavesTheProductUnchanged(@ForAll("folds") Fold c) {
        int k = c.k(), n = c.n(), m = c.m();
        float[] x = c.x().clone(), g = c.g(), w = c.w();
        for (int j = 0; j < k; j += 3) for (int i = 0; i < m; i++) x[i * k + j] *= 40; // outlier channels
        SmoothQuant.ChannelMax cm = new SmoothQuant.ChannelMax(k);
        float[] xg = new float[m * k];
        for (int i = 0; i < m * k; i++) xg[i] = x[i] * g[i % k];
        if (m > 0) cm.observe(Tensor.of(xg, m, k));
        float[] s = SmoothQuant.factors(cm.values(), SmoothQuant.columnAbsMax(w, n, k), 0.5);
        float[] g2 = SmoothQuant.divide(g, s), w2 = w.clone();
        SmoothQuant.scaleColumns(w2, n, k, s);
        for (int i = 0; i < m; i++) {
            for (int o = 0; o < n; o++) {
                double exact = 0, abs = 0;
                float plain = 0, folded = 0;
                for (int j = 0; j < k; j++) {
                    exact += (double) x[i * k + j] * g[j] * w[o * k + j];
                    abs += Math.abs((double) x[i * k + j] * g[j] * w[o * k + j]);
                    plain += (x[i * k + j] * g[j]) * w[o * k + j];
                    folded += (x[i * k + j] * g2[j]) * w2[o * k + j];
                }
                double bound = (k + 4) * 0x1p-24 * abs * 1.01;
                assertEquals(exact, plain, bound, "unfolded y[" + i + ", " + o + "]");
                assertEquals(exact, folded, bound, "folded y[" + i + ", " + o + "]");
            }
        }
    }

    static float[] gauss(Random r, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * std);
        return v;
    }

    /** Relative Frobenius error of W8A8 x·Wᵀ against the float64 product. */
    static double w8a8Error(float[] x, int m, int k, float[] w, int n, float[] xs, float[] ws) {
        float[] y = new float[m * n];
        Int8Matmul.reference(xs, m, Int8Weight.quantize("w", ws, n, k), y);
        double num = 0, den = 0;
        for (int i = 0; i < m; i++) {
            for (int o = 0; o < n; o++) {
                double e = 0;
                for (int j = 0; j < k; j++) e += (double) x[i * k + j] * w[o * k + j];
                num += (y[i * n + o] - e) * (y[i * n + o] - e);
                den += e * e;
            }
        }
        return Math.sqrt(num / den);
    }

    /**
     * Activations with a few outlier channels (×60, as the paper's Figure 4 shows for LLMs): per-token int8 spends its
     * 255 levels on the outliers and rounds every other channel to a handful of values. Smoothing (α = 0.5) must
     * lower the W8A8 error against the float64 product; the two errors are printed.
     */
    @Test
    void smoothingLowersW8A8ErrorOnOutlierChannels() {
        Random r = new Random(2211);
        int m = 64, k = 512, n = 256;
        float[] x = gauss(r, m * k, 1), w = gauss(r, n * k, 0.02);
        for (int j : new int[] {7, 100, 301, 480}) for (int i = 0; i < m; i++) x[i * k + j] *= 60;
        double plain = w8a8Error(x, m, k, w, n, x, w);
        SmoothQuant.ChannelMax cm = new SmoothQuant.ChannelMax(k);
        cm.observe(Tensor.of(x, m, k));
        float[] s = SmoothQuant.factors(cm.values(), SmoothQuant.columnAbsMax(w, n, k), SmoothQuant.DEFAULT_ALPHA);
        float[] xs = new float[x.length], ws = w.clone();
        for (int i = 0; i < x.length; i++) xs[i] = x[i] / s[i % k];
        SmoothQuant.scaleColumns(ws, n, k, s);
        double smoothed = w8a8Error(x, m, k, w, n, xs, ws);
        System.out.printf(
                "W8A8 relative error with 4 outlier channels: %.5f plain, %.5f smoothed (alpha 0.5)%n",
                plain, smoothed);
        assertTrue(smoothed < plain, "smoothed " + smoothed + " vs plain " + plain);
    }
}
