package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.DrawnWeights;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.lora.*;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.*;

/**
 * LoRA on one adapted Linear: forward, gradients and merge/unmerge against float64 oracles written from the LoRA
 * equations, over drawn shapes, ranks, scalings and weights, each within a rounding-error bound derived for its chain
 * of float32 operations.
 */
class LoraLinearPropertiesTest {

    // The oracles follow Hu et al., arXiv 2106.09685, eq. 3: h = W₀x + ΔWx = W₀x + BAx, with ΔWx scaled by α/r; with
    // rsLoRA (Kalajdzievski, arXiv 2312.03732) by α/√r.

    /** A root holding one Linear named "proj", so that Lora.apply adapts it exactly as it adapts a model's layers. */
    static final class OneLinear extends Module {
        OneLinear(Linear proj) {
            registerModule("proj", proj);
        }

        @Override
        public Tensor forward(Tensor x) {
            return call("proj", x);
        }
    }

    /** Feature counts: 1, primes, and a power of two, so no kernel gets only the sizes it was tuned for. */
    @Provide
    Arbitrary<Integer> features() {
        return Arbitraries.of(1, 2, 3, 5, 7, 8, 11, 13, 17);
    }

    /** Float32 unit roundoff, 2⁻²⁴. */
    static final double U = Math.ulp(1.0f) / 2;

    /**
     * Error bound of a float32 result whose longest chain of roundings has {@code k} steps (Higham, Accuracy and
     * Stability of Numerical Algorithms, §3.1: a length-n dot product is within γₙ = nU/(1 − nU) of the sum of
     * absolute products, whatever the order or FMA use): γₖ·{@code absolute}, where {@code absolute} is the same
     * expression evaluated on absolute values.
     */
    static double gamma(int k, double absolute) {
        return k * U / (1 - k * U) * absolute;
    }

    /** The adapted layer and its parameter values read back in float64. */
    record Adapted(
            OneLinear root,
            LoraLinear layer,
            int in,
            int out,
            int r,
            double s,
            double[] w,
            double[] bias,
            double[] a,
            double[] b) {
        /** The layer of {@code c}'s sizes with {@code c}'s drawn weight, bias, A and B loaded. */
        static Adapted of(LinearCase c) {
            OneLinear root = adaptedLinear(c.in(), c.out(), c.r(), c.alpha(), c.rs(), c.bias());
            c.weights().load(root);
            int in = c.in(), out = c.out(), r = c.r();
            double alpha = c.alpha();
            boolean rs = c.rs(), bias = c.bias();
            LoraLinear l = Lora.layers(root).get("proj");
            double s = rs ? alpha / Math.sqrt(r) : alpha / r;
            assertEquals(s, l.scaling("default"), "scaling α/r, or α/√r with rsLoRA");
            return new Adapted(
                    root,
                    l,
                    in,
                    out,
                    r,
                    s,
                    l.base().weight().toDoubleArray(),
                    bias ? l.base().bias().toDoubleArray() : null,
                    l.loraA("default").weight().toDoubleArray(),
                    l.loraB("default").weight().toDoubleArray());
        }

        /** h = x·Aᵀ, [n, r]; with {@code abs} on absolute values. */
        double[] h(double[] x, int n, boolean abs) {
            double[] h = new double[n * r];
            for (int t = 0; t < n; t++)
                for (int j = 0; j < r; j++)
                    for (int i = 0; i < in; i++) h[t * r + j] += f(x[t * in + i], abs) * f(a[j * in + i], abs);
            return h;
        }

        /** y = x·Wᵀ + bias + s·(x·Aᵀ)·Bᵀ, [n, out]; with {@code abs} on absolute values. */
        double[] forward(double[] x, int n, boolean abs) {
            double[] h = h(x, n, abs), y = new double[n * out];
            for (int t = 0; t < n; t++)
                for (int o = 0; o < out; o++) {
                    double base = bias == null ? 0 : f(bias[o], abs), low = 0;
                    for (int i = 0; i < in; i++) base += f(x[t * in + i], abs) * f(w[o * in + i], abs);
                    for (int j = 0; j < r; j++) low += f(b[o * r + j], abs) * h[t * r + j];
                    y[t * out + o] = base + s * low;
                }
            return y;
        }

        /** ΔW = s·B·A, [out, in]; with {@code abs} on absolute values. */
        double[] delta(boolean abs) {
            double[] d = new double[out * in];
            for (int o = 0; o < out; o++)
                for (int i = 0; i < in; i++) {
                    double sum = 0;
                    for (int j = 0; j < r; j++) sum += f(b[o * r + j], abs) * f(a[j * in + i], abs);
                    d[o * in + i] = s * sum;
                }
            return d;
        }

        private static double f(double v, boolean abs) {
            return abs ? Math.abs(v) : v;
        }
    }

    /**
     * One Linear named "proj" with a LoRA adapter "default"; RANDOM init makes B non-zero as well as A (so the adapter
     * path carries values and every gradient is non-trivial) until drawn values replace them.
     */
    static OneLinear adaptedLinear(int in, int out, int r, double alpha, boolean rs, boolean bias) {
        OneLinear root = new OneLinear(new Linear(in, out, bias, new SplittableRandom(0)));
        Lora.apply(
                root,
                LoraConfig.of(r, alpha, 0, List.of("proj")).withRsLora(rs).withInit(LoraConfig.InitWeights.RANDOM),
                "default");
        return root;
    }

    /**
     * Sizes and scaling of one adapted Linear, its drawn weight, bias, A and B, and n rows of input x and (for the
     * gradient property) output weights c, both N(0, 1) rounded to float32 so F32 tensors hold them exactly.
     */
    record LinearCase(
            int in,
            int out,
            int r,
            int n,
            boolean rs,
            boolean bias,
            double alpha,
            DrawnWeights.Weights weights,
            double[] x,
            double[] c) {
        @Override
        public String toString() {
            return "in=" + in + " out=" + out + " r=" + r + " n=" + n + " rs=" + rs + " bias=" + bias + " alpha="
                    + alpha + " x=" + java.util.Arrays.toString(x) + " c=" + java.util.Arrays.toString(c)
                    + " weights=" + weights;
        }
    }

    /**
     * Sizes (in and out from {@link #features}, r in [1, 9], n in [1, maxN]), rsLoRA, bias and α in [1, 32] drawn
     * before the values, so a failure shrinks to a small layer first. The weight, bias, A and B are drawn in their
     * kaiming-uniform distributions U(−1/√fan_in, 1/√fan_in) (RANDOM init's); c is drawn only with {@code withC}.
     */
    Arbitrary<LinearCase> linearCases(int maxN, boolean anyBias, boolean withC) {
        var sizes = Combinators.combine(
                        features(),
                        features(),
                        Arbitraries.integers().between(1, 9),
                        Arbitraries.integers().between(1, maxN),
                        Arbitraries.of(false, true),
                        anyBias ? Arbitraries.of(false, true) : Arbitraries.just(true),
                        Arbitraries.integers().between(1, 32))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, s -> {
            int in = s.get1(), out = s.get2(), r = s.get3(), n = s.get4();
            boolean rs = s.get5(), bias = s.get6();
            double alpha = s.get7();
            OneLinear template = adaptedLinear(in, out, r, alpha, rs, bias);
            Arbitrary<double[]> c = withC ? doubles(n * out) : Arbitraries.just(new double[0]);
            return Combinators.combine(DrawnWeights.initLike(template), doubles(n * in), c)
                    .as((w, x, cs) -> new LinearCase(in, out, r, n, rs, bias, alpha, w, x, cs));
        });
    }

    /** {@code n} N(0, 1) values rounded to float32. */
    static Arbitrary<double[]> doubles(int n) {
        return DrawnWeights.floats(Values.normal(), n).map(f -> {
            double[] d = new double[f.length];
            for (int i = 0; i < d.length; i++) d[i] = f[i];
            return d;
        });
    }

    @Provide
    Arbitrary<LinearCase> forwardCases() {
        return linearCases(5, true, false);
    }

    @Provide
    Arbitrary<LinearCase> gradientCases() {
        return linearCases(5, true, true);
    }

    @Provide
    Arbitrary<LinearCase> mergeLinearCases() {
        return linearCases(4, false, false);
    }

    static void assertWithin(double[] want, double[] bound, double[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++)
            assertEquals(want[i], got[i], bound[i], what + ", element " + i + " (bound " + bound[i] + ")");
    }

    @Property(tries = 40)
    void forwardIsBasePlusScaledLowRankProduct(@ForAll("forwardCases") LinearCase cs) {
        int n = cs.n(), in = cs.in(), out = cs.out(), r = cs.r();
        Adapted ad = Adapted.of(cs);
        double[] x = cs.x();
        double[] got = ad.root().forward(Tensor.of(x, n, in).to(DType.F32)).toDoubleArray();
        double[] want = ad.forward(x, n, false), abs = ad.forward(x, n, true), bound = new double[abs.length];
        // longest rounding chain: the dot over in (h), the dot over r, the scaling, the bias and the final add
        for (int i = 0; i < bound.length; i++) bound[i] = gamma(in + r + 3, abs[i]);
        assertWithin(want, bound, got, "LoRA forward [" + n + ", " + in + "] → " + out + ", r " + r);
    }

    @Property(tries = 40)
    void gradientsAreTheAnalyticOnesAndTheBaseGetsNone(@ForAll("gradientCases") LinearCase cs) {
        int n = cs.n(), in = cs.in(), out = cs.out(), r = cs.r();
        boolean bias = cs.bias();
        Adapted ad = Adapted.of(cs);
        double[] x = cs.x(), c = cs.c();
        Tensor xt = Tensor.of(x, n, in).to(DType.F32).requiresGrad(true);
        // L = Σ c ⊙ y, so ∂L/∂y = c: every gradient below is linear in c and has a closed form
        ad.root().forward(xt).mul(Tensor.of(c, n, out).to(DType.F32)).sum().backward();
        Tensor weightA = ad.layer().loraA("default").weight(),
                weightB = ad.layer().loraB("default").weight();

        // with y = xWᵀ + b + s·(xAᵀ)Bᵀ and h = xAᵀ, u = c·B [n, r]:
        //   ∂L/∂B[o][j] = s·Σₜ c[t][o]·h[t][j]        ∂L/∂A[j][i] = s·Σₜ u[t][j]·x[t][i]
        //   ∂L/∂x[t][i] = Σₒ c[t][o]·W[o][i] + s·Σⱼ u[t][j]·A[j][i]
        // each also evaluated on absolute values for its bound
        int k = n + in + out + r + 4; // longer than any rounding chain below (two dots, a scaling, an add)
        double[][] dB = new double[2][out * r], dA = new double[2][r * in], dx = new double[2][n * in];
        for (int m = 0; m < 2; m++) {
            boolean abs = m == 1;
            double[] h = ad.h(x, n, abs), u = new double[n * r];
            for (int t = 0; t < n; t++)
                for (int j = 0; j < r; j++)
                    for (int o = 0; o < out; o++) u[t * r + j] += v(c[t * out + o], abs) * v(ad.b()[o * r + j], abs);
            for (int o = 0; o < out; o++)
                for (int j = 0; j < r; j++)
                    for (int t = 0; t < n; t++) dB[m][o * r + j] += ad.s() * v(c[t * out + o], abs) * h[t * r + j];
            for (int j = 0; j < r; j++)
                for (int i = 0; i < in; i++)
                    for (int t = 0; t < n; t++) dA[m][j * in + i] += ad.s() * u[t * r + j] * v(x[t * in + i], abs);
            for (int t = 0; t < n; t++)
                for (int i = 0; i < in; i++) {
                    double sum = 0;
                    for (int o = 0; o < out; o++) sum += v(c[t * out + o], abs) * v(ad.w()[o * in + i], abs);
                    for (int j = 0; j < r; j++) sum += ad.s() * u[t * r + j] * v(ad.a()[j * in + i], abs);
                    dx[m][t * in + i] = sum;
                }
        }
        for (double[][] q : new double[][][] {dB, dA, dx})
            for (int i = 0; i < q[1].length; i++) q[1][i] = gamma(k, q[1][i]);
        assertWithin(dB[0], dB[1], weightB.grad().toDoubleArray(), "∂L/∂B");
        assertWithin(dA[0], dA[1], weightA.grad().toDoubleArray(), "∂L/∂A");
        assertWithin(dx[0], dx[1], xt.grad().toDoubleArray(), "∂L/∂x");
        // the base layer is frozen by Lora.apply: it neither requires nor receives a gradient
        assertFalse(ad.layer().base().weight().requiresGrad(), "frozen base weight");
        assertNull(ad.layer().base().weight().grad(), "frozen base weight gets no gradient");
        if (bias) assertNull(ad.layer().base().bias().grad(), "frozen base bias gets no gradient");
    }

    private static double v(double x, boolean abs) {
        return abs ? Math.abs(x) : x;
    }

    @Property(tries = 40)
    void mergeAddsScaledBaAndUnmergeTakesItBack(@ForAll("mergeLinearCases") LinearCase cs) {
        int n = cs.n(), in = cs.in(), r = cs.r();
        Adapted ad = Adapted.of(cs);
        double[] x = cs.x();
        Lora.merge(ad.root());
        assertEquals("default", ad.layer().mergedAdapter());
        double[] merged = ad.layer().base().weight().toDoubleArray();
        double[] delta = ad.delta(false), deltaAbs = ad.delta(true);
        double[] want = new double[merged.length], bound = new double[merged.length];
        for (int i = 0; i < want.length; i++) {
            want[i] = ad.w()[i] + delta[i];
            // the dot over r, the scaling and the add
            bound[i] = gamma(r + 2, Math.abs(ad.w()[i]) + deltaAbs[i]);
        }
        assertWithin(want, bound, merged, "W + (α/r)·B·A after merge");
        // the merged layer computes the same function: x·(W + ΔW)ᵀ + bias, from the merged weight's own rounding
        double[] y = ad.root().forward(Tensor.of(x, n, in).to(DType.F32)).toDoubleArray();
        double[] yWant = ad.forward(x, n, false), yAbs = ad.forward(x, n, true), yBound = new double[y.length];
        for (int i = 0; i < y.length; i++) yBound[i] = gamma(in + r + 4, yAbs[i]);
        assertWithin(yWant, yBound, y, "merged forward");
        Lora.unmerge(ad.root());
        double[] restored = ad.layer().base().weight().toDoubleArray();
        for (int i = 0; i < bound.length; i++) {
            // fl(fl(W + Δ̂) − Δ̂) with the same Δ̂ both times: one rounding of |W + Δ̂| and one of |W|, so within
            // 2U·(|W| + |Δ̂|), and |Δ̂| ≤ (1 + γ_{r+1})·s·Σ|B||A|
            bound[i] = 2 * U * (Math.abs(ad.w()[i]) + deltaAbs[i] * (1 + gamma(r + 1, 1)));
        }
        assertWithin(ad.w(), bound, restored, "W after merge and unmerge");
        assertNull(ad.layer().mergedAdapter());
    }
}
