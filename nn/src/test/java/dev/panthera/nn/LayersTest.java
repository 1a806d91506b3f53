package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.DrawnWeights;
import dev.panthera.nn.layers.*;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.util.Arrays;
import java.util.SplittableRandom;
import net.jqwik.api.*;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Layers against float64 loops written here from the published definitions (PyTorch, llama2.c run.c, HF Llama). */
class LayersTest {

    /** n rows of {@code in} N(0, 1) features, and a Linear's weight and (with {@code bias}) bias. */
    record LinearCase(int n, int in, int out, boolean bias, float[] x, DrawnWeights.Weights weights) {
        @Override
        public String toString() {
            return "n=" + n + " in=" + in + " out=" + out + " bias=" + bias + " x=" + Arrays.toString(x) + " weights="
                    + weights;
        }
    }

    /**
     * Sizes drawn before the values, so a failure shrinks to a small layer first; the weight and bias are drawn
     * U(−1/√in, 1/√in), nn.Linear's initial distribution.
     */
    @Provide
    Arbitrary<LinearCase> linearCases() {
        var sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 7),
                        Arbitraries.integers().between(1, 13),
                        Arbitraries.integers().between(1, 11),
                        Arbitraries.of(false, true))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, s -> {
            int n = s.get1(), in = s.get2(), out = s.get3();
            boolean bias = s.get4();
            Linear template = new Linear(in, out, bias, new SplittableRandom(0));
            return Combinators.combine(DrawnWeights.floats(Values.normal(), n * in), DrawnWeights.initLike(template))
                    .as((x, w) -> new LinearCase(n, in, out, bias, x, w));
        });
    }

    /**
     * The layer's own initialisation is within nn.Linear's bound for any seed ({@code initSeed} is the initialiser's
     * input, not a case draw); the forward pass is then checked on the drawn weights.
     */
    @Property(tries = 20)
    void linearMatchesLoop(@ForAll("linearCases") LinearCase c, @ForAll long initSeed) {
        int n = c.n(), in = c.in(), out = c.out();
        Linear l = new Linear(in, out, c.bias(), new SplittableRandom(initSeed));
        double bound = 1 / Math.sqrt(in);
        for (double v : F64.d(l.weight().toFloatArray()))
            assertTrue(Math.abs(v) <= bound, "nn.Linear init bound 1/sqrt(in)");
        c.weights().load(l);
        Tensor x = Tensor.of(c.x(), n, in);
        double[] w = F64.d(l.weight().toFloatArray());
        double[] y = F64.linear(
                F64.d(x.toFloatArray()),
                n,
                in,
                w,
                out,
                c.bias() ? F64.d(l.bias().toFloatArray()) : null);
        F64.close(y, l.forward(x).toFloatArray(), 1e-5, 1e-5, "linear");
        // a non-contiguous input (transposed view) gives the same result
        Tensor xt = x.t().contiguous().t();
        F64.close(y, l.forward(xt).toFloatArray(), 1e-5, 1e-5, "linear on a view");
    }

    /** run.c: for i in 0..d step 2, angle = pos / 10000^(i/d); (v0, v1) -> (v0 cos - v1 sin, v0 sin + v1 cos). */
    static double[] ropeInterleaved(double[] x, int t, int d, int start) {
        double[] o = x.clone();
        for (int p = 0; p < t; p++)
            for (int i = 0; i < d; i += 2) {
                double a = (start + p) / Math.pow(10000, (double) i / d);
                double v0 = x[p * d + i], v1 = x[p * d + i + 1];
                o[p * d + i] = v0 * Math.cos(a) - v1 * Math.sin(a);
                o[p * d + i + 1] = v0 * Math.sin(a) + v1 * Math.cos(a);
            }
        return o;
    }

    /** HF: x·cat(cos, cos) + rotate_half(x)·cat(sin, sin), rotate_half(x) = cat(-x2, x1), inv_freq = 1/10000^(2j/d). */
    static double[] ropeHalf(double[] x, int t, int d, int start) {
        double[] o = new double[x.length];
        int h = d / 2;
        for (int p = 0; p < t; p++)
            for (int i = 0; i < d; i++) {
                int j = i % h;
                double a = (start + p) / Math.pow(10000, 2.0 * j / d);
                double rot = i < h ? -x[p * d + i + h] : x[p * d + i - h];
                o[p * d + i] = x[p * d + i] * Math.cos(a) + rot * Math.sin(a);
            }
        return o;
    }

    /** t positions of d = 2·halfD N(0, 1) features. */
    record RopeCase(int t, int d, float[] x) {
        @Override
        public String toString() {
            return "t=" + t + " d=" + d + " x=" + java.util.Arrays.toString(x);
        }
    }

    /** Sizes drawn before the values, so a failure shrinks to few positions and features first. */
    @Provide
    Arbitrary<RopeCase> ropeCases() {
        Arbitrary<Tuple.Tuple2<Integer, Integer>> sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 9),
                        Arbitraries.integers().between(1, 6))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, td -> {
            int t = td.get1(), d = 2 * td.get2();
            return Values.normal().list().ofSize(t * d).map(l -> {
                float[] x = new float[l.size()];
                for (int i = 0; i < x.length; i++) x[i] = l.get(i).floatValue();
                return new RopeCase(t, d, x);
            });
        });
    }

    @Property(tries = 20)
    void ropeMatchesBothReferenceLayouts(
            @ForAll("ropeCases") RopeCase c, @ForAll @IntRange(min = 0, max = 20) int start) {
        int t = c.t(), d = c.d();
        Tensor x = Tensor.of(c.x(), t, d);
        double[] xd = F64.d(x.toFloatArray());
        Rope inter = new Rope(d, 32, 10000, Rope.Layout.INTERLEAVED);
        Rope half = new Rope(d, 32, 10000, Rope.Layout.HALF);
        F64.close(
                ropeInterleaved(xd, t, d, start), inter.apply(x, start).toFloatArray(), 2e-5, 1e-5, "rope interleaved");
        F64.close(ropeHalf(xd, t, d, start), half.apply(x, start).toFloatArray(), 2e-5, 1e-5, "rope half");
    }

    @Test
    void ropeLayoutsDifferAndFailClearly() {
        Tensor x = Tensor.randn(Shape.of(3, 8), 5);
        float[] a = new Rope(8, 8, 10000, Rope.Layout.INTERLEAVED).apply(x, 1).toFloatArray();
        float[] b = new Rope(8, 8, 10000, Rope.Layout.HALF).apply(x, 1).toFloatArray();
        assertFalse(java.util.Arrays.equals(a, b));
        var e = assertThrows(IllegalArgumentException.class, () -> new Rope(8, 4, 10000, Rope.Layout.HALF).apply(x, 2));
        assertTrue(e.getMessage().contains("exceed"), e.getMessage());
    }

    /** Causal GQA attention in float64: head h uses kv head h / (H/KV). */
    static double[] attentionOracle(
            Attention a, double[] x, int b, int t, int dim, int heads, int kv, Rope.Layout layout) {
        var p = a.namedParameters();
        int hd = dim / heads;
        double[] q = F64.linear(x, b * t, dim, F64.d(p.get("q_proj.weight").toFloatArray()), heads * hd, null);
        double[] k = F64.linear(x, b * t, dim, F64.d(p.get("k_proj.weight").toFloatArray()), kv * hd, null);
        double[] v = F64.linear(x, b * t, dim, F64.d(p.get("v_proj.weight").toFloatArray()), kv * hd, null);
        double[] ctx = new double[b * t * heads * hd];
        for (int bi = 0; bi < b; bi++)
            for (int h = 0; h < heads; h++) {
                int g = h / (heads / kv);
                double[] qh = new double[t * hd], kh = new double[t * hd];
                for (int i = 0; i < t; i++)
                    for (int e = 0; e < hd; e++) {
                        qh[i * hd + e] = q[(bi * t + i) * heads * hd + h * hd + e];
                        kh[i * hd + e] = k[(bi * t + i) * kv * hd + g * hd + e];
                    }
                qh = layout == Rope.Layout.HALF ? ropeHalf(qh, t, hd, 0) : ropeInterleaved(qh, t, hd, 0);
                kh = layout == Rope.Layout.HALF ? ropeHalf(kh, t, hd, 0) : ropeInterleaved(kh, t, hd, 0);
                for (int i = 0; i < t; i++) {
                    double[] s = new double[i + 1];
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double acc = 0;
                        for (int e = 0; e < hd; e++) acc += qh[i * hd + e] * kh[j * hd + e];
                        s[j] = acc / Math.sqrt(hd);
                        mx = Math.max(mx, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j <= i; j++) {
                        s[j] = Math.exp(s[j] - mx);
                        z += s[j];
                    }
                    for (int e = 0; e < hd; e++) {
                        double acc = 0;
                        for (int j = 0; j <= i; j++) acc += s[j] / z * v[(bi * t + j) * kv * hd + g * hd + e];
                        ctx[(bi * t + i) * heads * hd + h * hd + e] = acc;
                    }
                }
            }
        return F64.linear(ctx, b * t, heads * hd, F64.d(p.get("o_proj.weight").toFloatArray()), dim, null);
    }

    /** b sequences of t positions of dim = kv·groups·hd N(0, 1) features, and the attention's drawn weights. */
    record AttentionCase(
            int b, int t, int kv, int groups, int hd, boolean interleaved, float[] x, DrawnWeights.Weights weights) {
        int heads() {
            return kv * groups;
        }

        int dim() {
            return heads() * hd;
        }

        @Override
        public String toString() {
            return "b=" + b + " t=" + t + " kv=" + kv + " groups=" + groups + " hd=" + hd + " interleaved="
                    + interleaved + " x=" + Arrays.toString(x) + " weights=" + weights;
        }
    }

    /**
     * Sizes drawn before the values, so a failure shrinks to few sequences, positions and heads first; the projection
     * weights are drawn U(−1/√in, 1/√in), nn.Linear's initial distribution.
     */
    @Provide
    Arbitrary<AttentionCase> attentionCases() {
        var sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 2),
                        Arbitraries.integers().between(1, 7),
                        Arbitraries.integers().between(1, 2),
                        Arbitraries.integers().between(1, 3),
                        Arbitraries.integers().between(1, 2),
                        Arbitraries.of(false, true))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, s -> {
            int b = s.get1(), t = s.get2(), kv = s.get3(), groups = s.get4(), hd = 2 * s.get5();
            int heads = kv * groups, dim = heads * hd;
            Attention template = new Attention(
                    dim, heads, kv, new Rope(hd, 16, 10000, Rope.Layout.HALF), false, new SplittableRandom(0));
            return Combinators.combine(
                            DrawnWeights.floats(Values.normal(), b * t * dim), DrawnWeights.initLike(template))
                    .as((x, w) -> new AttentionCase(b, t, kv, groups, hd, s.get6(), x, w));
        });
    }

    @Property(tries = 12)
    void gqaAttentionMatchesLoop(@ForAll("attentionCases") AttentionCase c) {
        int b = c.b(), t = c.t(), kv = c.kv(), heads = c.heads(), hd = c.hd(), dim = c.dim();
        Rope.Layout layout = c.interleaved() ? Rope.Layout.INTERLEAVED : Rope.Layout.HALF;
        Attention a = new Attention(dim, heads, kv, new Rope(hd, 16, 10000, layout), false, new SplittableRandom(0));
        c.weights().load(a);
        Tensor x = Tensor.of(c.x(), b, t, dim);
        double[] expected = attentionOracle(a, F64.d(x.toFloatArray()), b, t, dim, heads, kv, layout);
        F64.close(expected, a.forward(x).toFloatArray(), 1e-5, 1e-4, "attention");
    }

    /** Sizes drawn before the values: heads, head width and positions, then the HF-layout weights and the input. */
    @Provide
    Arbitrary<AttentionCase> permutationCases() {
        var sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 3),
                        Arbitraries.integers().between(1, 3),
                        Arbitraries.integers().between(1, 6))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, s -> {
            int heads = s.get1(), hd = 2 * s.get2(), t = s.get3(), dim = heads * hd;
            Attention template = new Attention(
                    dim, heads, heads, new Rope(hd, 16, 10000, Rope.Layout.HALF), false, new SplittableRandom(0));
            return Combinators.combine(DrawnWeights.floats(Values.normal(), t * dim), DrawnWeights.initLike(template))
                    .as((x, w) -> new AttentionCase(1, t, heads, 1, hd, false, x, w));
        });
    }

    /**
     * The two RoPE layouts are the same rotation up to a reordering of each head's q/k rows (llama.cpp's conversion of
     * HF checkpoints): HALF with rows W equals INTERLEAVED with rows reordered so that new row 2i = old row i and new
     * row 2i+1 = old row i + d/2 within each head, since q·k is unchanged when both are permuted alike.
     */
    @Property(tries = 8)
    void ropeLayoutsAgreeAfterTheRowPermutation(@ForAll("permutationCases") AttentionCase cs) {
        int heads = cs.heads(), hd = cs.hd(), halfHd = hd / 2, t = cs.t(), dim = cs.dim();
        Attention half = new Attention(
                dim, heads, heads, new Rope(hd, 16, 10000, Rope.Layout.HALF), false, new SplittableRandom(0));
        cs.weights().load(half);
        // every weight of this layer is overwritten below, so its initialisation does not matter
        Attention inter = new Attention(
                dim, heads, heads, new Rope(hd, 16, 10000, Rope.Layout.INTERLEAVED), false, new SplittableRandom(1));
        var hp = half.namedParameters();
        var ip = inter.namedParameters();
        try (var _ = Autograd.noGrad()) {
            for (String k : java.util.List.of("q_proj.weight", "k_proj.weight")) {
                float[] w = hp.get(k).toFloatArray();
                float[] out = new float[w.length];
                for (int h = 0; h < heads; h++)
                    for (int i = 0; i < halfHd; i++)
                        for (int c = 0; c < dim; c++) {
                            out[(h * hd + 2 * i) * dim + c] = w[(h * hd + i) * dim + c];
                            out[(h * hd + 2 * i + 1) * dim + c] = w[(h * hd + i + halfHd) * dim + c];
                        }
                ip.get(k).copy_(Tensor.of(out, dim, dim));
            }
            ip.get("v_proj.weight").copy_(hp.get("v_proj.weight"));
            ip.get("o_proj.weight").copy_(hp.get("o_proj.weight"));
        }
        Tensor x = Tensor.of(cs.x(), 1, t, dim);
        F64.close(
                F64.d(half.forward(x).toFloatArray()),
                inter.forward(x).toFloatArray(),
                1e-5,
                1e-4,
                "HF layout vs permuted llama.cpp layout");
    }

    @Test
    void kvCacheDecodingMatchesFullForward() {
        CausalLm m = ModuleTest.tiny(3);
        long[] ids = {3, 1, 4, 1, 5, 9, 2};
        Tensor full = m.forward(Tensor.of(ids, 1, ids.length));
        KvCache cache = m.newCache(16);
        try (var _ = Autograd.noGrad()) {
            // prefill 3 tokens, then one at a time
            Tensor pre = m.forward(Tensor.of(new long[] {3, 1, 4}, 1, 3), 0, cache);
            F64.close(
                    F64.d(full.narrow(1, 0, 3).contiguous().toFloatArray()), pre.toFloatArray(), 1e-5, 1e-5, "prefill");
            for (int i = 3; i < ids.length; i++) {
                Tensor step = m.forward(Tensor.of(new long[] {ids[i]}, 1, 1), i, cache);
                F64.close(
                        F64.d(full.narrow(1, i, 1).contiguous().toFloatArray()),
                        step.toFloatArray(),
                        1e-5,
                        1e-4,
                        "decode step " + i);
            }
        }
        assertEquals(ids.length, cache.length(0));
    }

    @Test
    void aClearedCacheServesANewSequenceAsAFreshOneDoes() {
        CausalLm m = ModuleTest.tiny(3);
        KvCache used = m.newCache(16), fresh = m.newCache(16);
        try (var _ = Autograd.noGrad()) {
            m.forward(Tensor.of(new long[] {7, 2, 8, 2, 8}, 1, 5), 0, used); // a longer sequence first
            used.clear();
            assertEquals(0, used.length(0));
            long[] ids = {3, 1, 4};
            for (int i = 0; i < ids.length; i++) {
                float[] want = m.forward(Tensor.of(new long[] {ids[i]}, 1, 1), i, fresh)
                        .toFloatArray();
                float[] got =
                        m.forward(Tensor.of(new long[] {ids[i]}, 1, 1), i, used).toFloatArray();
                assertArrayEquals(want, got, "step " + i + " after clear()");
            }
            assertEquals(ids.length, used.length(0));
        }
    }

    /**
     * A cache truncated to a prefix continues as a cache that only ever held that prefix: the same logits, bit for
     * bit, as a fresh cache fed the prefix and then the new tokens, one at a time both ways.
     */
    @Test
    void aTruncatedCacheContinuesFromItsPrefix() {
        CausalLm m = ModuleTest.tiny(3);
        KvCache used = m.newCache(16), fresh = m.newCache(16);
        try (var _ = Autograd.noGrad()) {
            long[] prefix = {3, 1, 4}, tail = {5, 9};
            for (int i = 0; i < prefix.length; i++) {
                m.forward(Tensor.of(new long[] {prefix[i]}, 1, 1), i, used);
                m.forward(Tensor.of(new long[] {prefix[i]}, 1, 1), i, fresh);
            }
            for (long id : new long[] {7, 2, 8}) // a continuation to be dropped
            m.forward(Tensor.of(new long[] {id}, 1, 1), used.length(0), used);
            used.truncate(prefix.length);
            assertEquals(prefix.length, used.length(0));
            for (int i = 0; i < tail.length; i++) {
                int at = prefix.length + i;
                float[] want = m.forward(Tensor.of(new long[] {tail[i]}, 1, 1), at, fresh)
                        .toFloatArray();
                float[] got = m.forward(Tensor.of(new long[] {tail[i]}, 1, 1), at, used)
                        .toFloatArray();
                assertArrayEquals(want, got, "position " + at + " after truncate(" + prefix.length + ")");
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> used.truncate(6));
        assertTrue(e.getMessage().contains("length 6") && e.getMessage().contains("holds 5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> used.truncate(-1));
    }

    /**
     * A cache made with a 16-bit dtype keeps what is appended rounded to it (the same bits as tensor's conversion,
     * round to nearest even) and returns views of that dtype, appends after earlier ones in place; other dtypes are
     * refused. A decode of a small model runs through such a cache.
     */
    @Test
    void aHalfCacheKeepsKeysAndValuesRoundedToItsDtype() {
        for (dev.panthera.tensor.DType dt :
                new dev.panthera.tensor.DType[] {dev.panthera.tensor.DType.F16, dev.panthera.tensor.DType.BF16}) {
            KvCache c = new KvCache(2, 8, dt);
            assertEquals(dt, c.dtype());
            Tensor k = Tensor.randn(Shape.of(1, 2, 3, 4), 1), v = Tensor.randn(Shape.of(1, 2, 3, 4), 2);
            Tensor[] kv = c.append(1, k, v);
            assertEquals(dt, kv[0].dtype());
            assertEquals(dt, kv[1].dtype());
            assertArrayEquals(k.to(dt).toFloatArray(), kv[0].toFloatArray(), dt + " keys");
            assertArrayEquals(v.to(dt).toFloatArray(), kv[1].toFloatArray(), dt + " values");
            Tensor k2 = Tensor.randn(Shape.of(1, 2, 2, 4), 3), v2 = Tensor.randn(Shape.of(1, 2, 2, 4), 4);
            kv = c.append(1, k2, v2);
            assertEquals(5, kv[0].size(2));
            assertArrayEquals(
                    k.to(dt).toFloatArray(), kv[0].narrow(2, 0, 3).contiguous().toFloatArray());
            assertArrayEquals(
                    k2.to(dt).toFloatArray(), kv[0].narrow(2, 3, 2).contiguous().toFloatArray());
            assertArrayEquals(
                    v2.to(dt).toFloatArray(), kv[1].narrow(2, 3, 2).contiguous().toFloatArray());
            CausalLm m = ModuleTest.tiny(3);
            KvCache half = m.newCache(8, dt);
            try (var _ = Autograd.noGrad()) {
                for (int i = 0; i < 3; i++) {
                    float[] logits = m.forward(Tensor.of(new long[] {i + 1}, 1, 1), i, half)
                            .toFloatArray();
                    for (float x : logits) assertTrue(Float.isFinite(x), dt + " step " + i);
                }
            }
            assertEquals(3, half.length(0));
        }
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new KvCache(1, 8, dev.panthera.tensor.DType.I32));
        assertTrue(e.getMessage().contains("I32"), e.getMessage());
    }

    @Test
    void laterTokensDoNotChangeEarlierLogits() {
        CausalLm m = ModuleTest.tiny(4);
        float[] a = m.forward(Tensor.of(new long[] {1, 2, 3, 4}, 1, 4))
                .narrow(1, 0, 3)
                .contiguous()
                .toFloatArray();
        float[] b = m.forward(Tensor.of(new long[] {1, 2, 3, 9}, 1, 4))
                .narrow(1, 0, 3)
                .contiguous()
                .toFloatArray();
        assertArrayEquals(a, b);
    }

    @Test
    void swigluMatchesLoop() {
        SwiGlu s = new SwiGlu(5, 7, new SplittableRandom(2));
        Tensor x = Tensor.randn(Shape.of(3, 5), 9);
        var p = s.namedParameters();
        double[] xd = F64.d(x.toFloatArray());
        double[] g = F64.linear(xd, 3, 5, F64.d(p.get("gate_proj.weight").toFloatArray()), 7, null);
        double[] u = F64.linear(xd, 3, 5, F64.d(p.get("up_proj.weight").toFloatArray()), 7, null);
        for (int i = 0; i < g.length; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        F64.close(
                F64.linear(g, 3, 7, F64.d(p.get("down_proj.weight").toFloatArray()), 5, null),
                s.forward(x).toFloatArray(),
                1e-5,
                1e-5,
                "swiglu");
    }

    @Test
    void mlpUsesErfGelu() {
        Mlp m = new Mlp(4, 6, true, new SplittableRandom(1));
        Tensor x = Tensor.randn(Shape.of(2, 4), 3);
        var p = m.namedParameters();
        double[] h = F64.linear(
                F64.d(x.toFloatArray()),
                2,
                4,
                F64.d(p.get("fc1.weight").toFloatArray()),
                6,
                F64.d(p.get("fc1.bias").toFloatArray()));
        for (int i = 0; i < h.length; i++) h[i] = 0.5 * h[i] * (1 + erf(h[i] / Math.sqrt(2)));
        F64.close(
                F64.linear(
                        h,
                        2,
                        6,
                        F64.d(p.get("fc2.weight").toFloatArray()),
                        4,
                        F64.d(p.get("fc2.bias").toFloatArray())),
                m.forward(x).toFloatArray(),
                1e-5,
                1e-5,
                "mlp");
    }

    /** erf by its Maclaurin series (|x| small here) — independent of the library's implementation. */
    static double erf(double x) {
        if (Math.abs(x) > 3) return Math.signum(x);
        double sum = 0, term = x;
        for (int n = 0; n < 60; n++) {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    @Test
    void dropoutIsSeededAndScaled() {
        Tensor x = Tensor.ones(4000);
        float[] a = new Dropout(0.25, 42).forward(x).toFloatArray();
        float[] b = new Dropout(0.25, 42).forward(x).toFloatArray();
        assertArrayEquals(a, b);
        int zeros = 0;
        for (float v : a) {
            if (v == 0) zeros++;
            else assertEquals(1 / 0.75f, v, 1e-6);
        }
        assertEquals(0.25, zeros / 4000.0, 0.03); // binomial sd ≈ 0.007
    }

    @Test
    void rmsNormMatchesLoop() {
        RMSNorm n = new RMSNorm(6, 1e-5);
        Tensor x = Tensor.randn(Shape.of(2, 6), 1);
        double[] xd = F64.d(x.toFloatArray());
        double[] y = new double[12];
        for (int r = 0; r < 2; r++) {
            double ms = 0;
            for (int i = 0; i < 6; i++) ms += xd[r * 6 + i] * xd[r * 6 + i] / 6;
            for (int i = 0; i < 6; i++) y[r * 6 + i] = xd[r * 6 + i] / Math.sqrt(ms + 1e-5);
        }
        F64.close(y, n.forward(x).toFloatArray(), 1e-6, 1e-5, "rmsnorm");
    }

    @Test
    void layerNormMatchesLoop() {
        LayerNorm n = new LayerNorm(5, 1e-5);
        try (var _ = Autograd.noGrad()) {
            n.namedParameters().get("weight").copy_(Tensor.of(1f, 2f, 0.5f, -1f, 3f));
            n.namedParameters().get("bias").copy_(Tensor.of(0.1f, 0f, -0.2f, 0.3f, 0f));
        }
        Tensor x = Tensor.randn(Shape.of(3, 5), 4);
        double[] xd = F64.d(x.toFloatArray()), w = {1, 2, 0.5, -1, 3}, b = {0.1, 0, -0.2, 0.3, 0};
        double[] y = new double[15];
        for (int r = 0; r < 3; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < 5; i++) mean += xd[r * 5 + i] / 5;
            for (int i = 0; i < 5; i++)
                var += (xd[r * 5 + i] - mean) * (xd[r * 5 + i] - mean) / 5; // biased, as PyTorch
            for (int i = 0; i < 5; i++) y[r * 5 + i] = (xd[r * 5 + i] - mean) / Math.sqrt(var + 1e-5) * w[i] + b[i];
        }
        F64.close(y, n.forward(x).toFloatArray(), 1e-5, 1e-5, "layernorm");
    }

    @Test
    void badInputsNameTheLayer() {
        Linear l = new Linear(3, 2, true, new SplittableRandom(1));
        var e = assertThrows(IllegalArgumentException.class, () -> l.forward(Tensor.zeros(2, 4)));
        assertTrue(e.getMessage().contains("Linear") && e.getMessage().contains("[2, 4]"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class, () -> new Attention(6, 4, 3, null, false, new SplittableRandom(1)));
        Embedding emb = new Embedding(5, 2, new SplittableRandom(1));
        assertThrows(IndexOutOfBoundsException.class, () -> emb.forward(Tensor.of(new long[] {5}, 1)));
    }
}
