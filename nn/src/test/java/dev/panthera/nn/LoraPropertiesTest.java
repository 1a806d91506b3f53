package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.lora.*;
import dev.panthera.nn.loss.Losses;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.*;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The LoRA properties: on one adapted Linear, forward, gradients and merge/unmerge against float64 oracles written from
 * the LoRA equations, over random shapes, ranks and scalings; on random small models and configs, the structural ones
 * (B = 0 is the identity, merged equals unmerged, only adapter weights train); plus peft-compatibility details.
 */
class LoraPropertiesTest {

    @Property(tries = 12)
    void zeroBLeavesOutputExactlyEqual(
            @ForAll @IntRange(min = 1, max = 4) int r,
            @ForAll @IntRange(min = 0, max = 2) int targets,
            @ForAll boolean rs,
            @ForAll long seed) {
        CausalLm m = LoraFixtures.model(seed, 8, 2, 1);
        Tensor x = LoraFixtures.ids(seed, 5);
        float[] base = m.forward(x).toFloatArray();
        List<String> adapted = Lora.apply(m, LoraFixtures.config(r, targets, rs, seed), "default");
        assertFalse(adapted.isEmpty());
        assertArrayEquals(base, m.forward(x).toFloatArray(), "LoRA with B = 0 must not change the output at all");
    }

    @Property(tries = 12)
    void mergedEqualsUnmergedAndUnmergeRestores(
            @ForAll @IntRange(min = 1, max = 4) int r,
            @ForAll @IntRange(min = 0, max = 2) int targets,
            @ForAll boolean rs,
            @ForAll long seed) {
        CausalLm m = LoraFixtures.model(seed, 8, 2, 2);
        Tensor x = LoraFixtures.ids(seed + 1, 4);
        Lora.apply(m, LoraFixtures.config(r, targets, rs, seed), "default");
        LoraFixtures.randomizeB(m, "default", seed);
        Map<String, float[]> before = new java.util.HashMap<>();
        for (var e : Lora.layers(m).entrySet())
            before.put(e.getKey(), e.getValue().base().weight().toFloatArray());
        float[] unmerged = m.forward(x).toFloatArray();
        Lora.merge(m);
        float[] merged = m.forward(x).toFloatArray();
        double maxAbs = 0;
        for (float v : unmerged) maxAbs = Math.max(maxAbs, Math.abs(v));
        for (int i = 0; i < merged.length; i++) {
            assertEquals(
                    unmerged[i],
                    merged[i],
                    1e-5 * maxAbs,
                    "merged vs unmerged, element " + i + " (1e-5 relative to the largest logit)");
        }
        Lora.unmerge(m);
        for (var e : Lora.layers(m).entrySet()) {
            float[] w0 = before.get(e.getKey()),
                    w1 = e.getValue().base().weight().toFloatArray();
            float[] d = e.getValue().delta("default").toFloatArray();
            for (int i = 0; i < w0.length; i++) {
                // W + Δ − Δ in float32 is within one rounding of |W| + |Δ| per operation
                double tol = 2 * Math.ulp((float) (Math.abs(w0[i]) + Math.abs(d[i])));
                assertEquals(w0[i], w1[i], tol, e.getKey() + " weight element " + i + " after merge/unmerge");
            }
        }
    }

    // ---- one adapted Linear against float64 oracles written from the LoRA equations (Hu et al., arXiv 2106.09685,
    // eq. 3: h = W₀x + ΔWx = W₀x + BAx, with ΔWx scaled by α/r; rsLoRA, Kalajdzievski, arXiv 2312.03732: α/√r) ----

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
        static Adapted of(int in, int out, int r, double alpha, boolean rs, boolean bias, long seed) {
            OneLinear root = new OneLinear(new Linear(in, out, bias, new SplittableRandom(seed)));
            // RANDOM init draws B as well as A, so the adapter path is non-zero and its gradients all carry values
            Lora.apply(
                    root,
                    LoraConfig.of(r, alpha, 0, List.of("proj"))
                            .withRsLora(rs)
                            .withInit(LoraConfig.InitWeights.RANDOM)
                            .withSeed(seed),
                    "default");
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

    static double[] randomValues(SplittableRandom rng, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++)
            v[i] = (float) rng.nextGaussian(); // float32 values, so F32 tensors hold them exactly
        return v;
    }

    static void assertWithin(double[] want, double[] bound, double[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++)
            assertEquals(want[i], got[i], bound[i], what + ", element " + i + " (bound " + bound[i] + ")");
    }

    @Property(tries = 40)
    void forwardIsBasePlusScaledLowRankProduct(
            @ForAll("features") int in,
            @ForAll("features") int out,
            @ForAll @IntRange(min = 1, max = 9) int r,
            @ForAll @IntRange(min = 1, max = 5) int n,
            @ForAll boolean rs,
            @ForAll boolean bias,
            @ForAll long seed) {
        double alpha = 1 + new SplittableRandom(seed).nextInt(32);
        Adapted ad = Adapted.of(in, out, r, alpha, rs, bias, seed);
        double[] x = randomValues(new SplittableRandom(seed + 1), n * in);
        double[] got = ad.root().forward(Tensor.of(x, n, in).to(DType.F32)).toDoubleArray();
        double[] want = ad.forward(x, n, false), abs = ad.forward(x, n, true), bound = new double[abs.length];
        // longest rounding chain: the dot over in (h), the dot over r, the scaling, the bias and the final add
        for (int i = 0; i < bound.length; i++) bound[i] = gamma(in + r + 3, abs[i]);
        assertWithin(want, bound, got, "LoRA forward [" + n + ", " + in + "] → " + out + ", r " + r);
    }

    @Property(tries = 40)
    void gradientsAreTheAnalyticOnesAndTheBaseGetsNone(
            @ForAll("features") int in,
            @ForAll("features") int out,
            @ForAll @IntRange(min = 1, max = 9) int r,
            @ForAll @IntRange(min = 1, max = 5) int n,
            @ForAll boolean rs,
            @ForAll boolean bias,
            @ForAll long seed) {
        double alpha = 1 + new SplittableRandom(seed).nextInt(32);
        Adapted ad = Adapted.of(in, out, r, alpha, rs, bias, seed);
        SplittableRandom rng = new SplittableRandom(seed + 2);
        double[] x = randomValues(rng, n * in), c = randomValues(rng, n * out);
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
    void mergeAddsScaledBaAndUnmergeTakesItBack(
            @ForAll("features") int in,
            @ForAll("features") int out,
            @ForAll @IntRange(min = 1, max = 9) int r,
            @ForAll @IntRange(min = 1, max = 4) int n,
            @ForAll boolean rs,
            @ForAll long seed) {
        double alpha = 1 + new SplittableRandom(seed).nextInt(32);
        Adapted ad = Adapted.of(in, out, r, alpha, rs, true, seed);
        double[] x = randomValues(new SplittableRandom(seed + 3), n * in);
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

    @Property(tries = 8)
    void onlyAdapterParametersReceiveGradients(
            @ForAll @IntRange(min = 1, max = 3) int r,
            @ForAll @IntRange(min = 0, max = 2) int targets,
            @ForAll long seed) {
        CausalLm m = LoraFixtures.model(seed, 8, 2, 1);
        Lora.apply(m, LoraFixtures.config(r, targets, false, seed), "default");
        LoraFixtures.randomizeB(m, "default", seed);
        Tensor x = LoraFixtures.ids(seed, 4);
        Losses.crossEntropy(m.forward(x), LoraFixtures.ids(seed + 3, 4)).backward();
        for (var e : m.namedParameters().entrySet()) {
            boolean adapter =
                    e.getKey().contains(".lora_A.default.") || e.getKey().contains(".lora_B.default.");
            assertEquals(adapter, e.getValue().requiresGrad(), e.getKey());
            if (adapter) assertNotNull(e.getValue().grad(), e.getKey() + " should have a gradient");
            else assertNull(e.getValue().grad(), e.getKey() + " is frozen and must get no gradient");
        }
    }

    @Test
    void peftKeyNamesShapesAndInit() {
        CausalLm m = LoraFixtures.model(1, 8, 2, 1);
        Lora.apply(m, LoraConfig.of(4, 8, 0, List.of("q_proj", "v_proj")).withSeed(5), "default");
        Map<String, Tensor> sd = Lora.adapterStateDict(m, "default");
        assertEquals(8, sd.size());
        Tensor a = sd.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
        Tensor b = sd.get("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight");
        assertEquals(Shape.of(4, 8), a.shape());
        assertEquals(Shape.of(4, 4), b.shape()); // v_proj out = kvHeads·headDim = 4
        for (float v : a.toFloatArray())
            assertTrue(Math.abs(v) <= 1 / Math.sqrt(8), "kaiming_uniform(a=√5): bound 1/√fan_in");
        for (float v : b.toFloatArray()) assertEquals(0f, v);
        // the model's own state dict keeps peft's in-memory layout
        assertTrue(m.stateDict().containsKey("model.layers.1.self_attn.q_proj.base_layer.weight"));
        assertTrue(m.stateDict().containsKey("model.layers.1.self_attn.q_proj.lora_A.default.weight"));
        assertEquals(2.0, Lora.layers(m).values().iterator().next().scaling("default"));
        assertEquals(
                4.0, LoraConfig.of(4, 8, 0, List.of("q_proj")).withRsLora(true).scaling());
        // all-linear skips lm_head
        CausalLm all = LoraFixtures.model(1, 8, 2, 1);
        List<String> adapted = Lora.apply(all, LoraConfig.of(2, 4, 0, List.of(LoraConfig.ALL_LINEAR)), "x");
        assertEquals(14, adapted.size());
        assertFalse(adapted.contains("lm_head"));
        long trainable = all.trainableParameterCount();
        assertEquals(
                Lora.adapterStateDict(all, "x").values().stream()
                        .mapToLong(Tensor::numel)
                        .sum(),
                trainable);
    }

    @Test
    void severalAdaptersOneActiveAndMergeAndUnload() {
        CausalLm m = LoraFixtures.model(2, 8, 2, 1);
        Tensor x = LoraFixtures.ids(2, 4);
        float[] base = m.forward(x).toFloatArray();
        Lora.apply(m, LoraConfig.of(2, 4, 0, List.of("q_proj", "o_proj")).withSeed(1), "one");
        LoraFixtures.randomizeB(m, "one", 1);
        float[] withOne = m.forward(x).toFloatArray();
        Lora.apply(m, LoraConfig.of(3, 3, 0, List.of("q_proj", "o_proj")).withSeed(2), "two");
        assertArrayEquals(base, m.forward(x).toFloatArray(), "'two' is active and its B is zero");
        for (var e : m.namedParameters().entrySet())
            assertEquals(e.getKey().contains(".two."), e.getValue().requiresGrad(), e.getKey());
        Lora.setActive(m, "one");
        assertArrayEquals(withOne, m.forward(x).toFloatArray());
        Lora.merge(m);
        assertThrows(IllegalStateException.class, () -> Lora.setActive(m, "two"));
        Lora.unmerge(m);
        Lora.mergeAndUnload(m);
        assertTrue(Lora.layers(m).isEmpty());
        assertTrue(m.namedModules().get("model.layers.0.self_attn.q_proj") instanceof Linear);
        assertTrue(m.stateDict().containsKey("model.layers.0.self_attn.q_proj.weight"));
        F64.close(F64.d(withOne), m.forward(x).toFloatArray(), 1e-5, 1e-4, "merge_and_unload keeps the adapted output");
    }

    @Test
    void noMatchingTargetFailsClearly() {
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> Lora.apply(LoraFixtures.model(1, 8, 2, 1), LoraConfig.of(2, 4, 0, List.of("query")), "d"));
        assertTrue(e.getMessage().contains("no Linear layer matched"), e.getMessage());
    }

    @Test
    void loraDropoutOnlyInTraining() {
        CausalLm m = LoraFixtures.model(3, 8, 2, 1);
        Lora.apply(m, LoraConfig.of(2, 4, 0.5, List.of("q_proj")).withSeed(3), "d");
        LoraFixtures.randomizeB(m, "d", 3);
        Tensor x = LoraFixtures.ids(3, 4);
        m.eval();
        float[] a = m.forward(x).toFloatArray();
        assertArrayEquals(a, m.forward(x).toFloatArray());
        m.train(true);
        assertFalse(java.util.Arrays.equals(a, m.forward(x).toFloatArray()));
    }

    @Property(tries = 6)
    void llamaAdapterStartsExactlyAtTheBase(
            @ForAll @IntRange(min = 1, max = 2) int layers,
            @ForAll @IntRange(min = 1, max = 5) int len,
            @ForAll long seed) {
        CausalLm m = LoraFixtures.model(seed, 8, 2, 1);
        Tensor x = LoraFixtures.ids(seed, 5);
        float[] base = m.forward(x).toFloatArray();
        LlamaAdapter.apply(m, layers, len, seed);
        assertArrayEquals(base, m.forward(x).toFloatArray(), "zero-initialised gate: output equals the base exactly");
        assertEquals(layers * (len * 8L + 1), m.trainableParameterCount());
        Losses.crossEntropy(m.forward(x), LoraFixtures.ids(seed + 1, 5)).backward();
        for (var e : m.namedParameters().entrySet()) {
            boolean adapter =
                    e.getKey().endsWith("adaption_prompt") || e.getKey().endsWith("adaption_gate");
            assertEquals(adapter, e.getValue().grad() != null, e.getKey());
        }
        // the gate's gradient is non-zero, so training moves the model away from the base
        Tensor gate = m.namedParameters().get("model.layers.1.self_attn.adaption_gate");
        assertNotEquals(0.0, gate.grad().item());
    }
}
