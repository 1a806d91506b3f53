package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.CountingBackend;
import dev.panthera.testing.GradCheck;
import dev.panthera.testing.Shapes;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.TensorSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Each fused op's analytic backward (Gradients → FusedGradients) in F64 against two independent sources: central
 * differences of L = Σ w·f(x) for a fixed random w, and autograd through the op's composition from primitives
 * ({@link Composed}, differentiated by the primitives' own rules). Both run on the reference backend, whose backward
 * kernels then compute the gradients, and on a backend without fused kernels, where the backwards are the
 * formulas written with primitive ops. Inputs are leaves viewed the way the layers view them (q/k/v as transposed
 * [B, T, H, D] projections).
 */
class FusedGradTest {
    private static Backend[] backends() {
        return new Backend[] {
            ReferenceBackend.INSTANCE,
            CountingBackend.primitivesOf(ReferenceBackend.INSTANCE).backend()
        };
    }

    /**
     * One check: the gradient of L = Σ w·fused(xs) for leaves of {@code shapes}, the composition it must agree with,
     * and the shape of the output (so w, a random weight per backend, is drawn with the leaves).
     */
    record FusedCheck(
            String what,
            Function<Tensor[], Tensor> fused,
            Function<Tensor[], Tensor> composed,
            long[] out,
            long[]... shapes) {}

    /** Checks drawn from parameters, with their N(0, 1) F64 leaves and one N(0, 1) w per backend. */
    record Case(Object params, List<FusedCheck> checks, List<List<TensorSpec>> leaves, List<List<TensorSpec>> ws) {
        static <P> Arbitrary<Case> of(Arbitrary<P> params, Function<P, List<FusedCheck>> make) {
            int backends = backends().length;
            return SizesFirst.flatMap(params, p -> {
                List<FusedCheck> checks = make.apply(p);
                List<Arbitrary<List<TensorSpec>>> leaves = new ArrayList<>(), ws = new ArrayList<>();
                for (FusedCheck c : checks) {
                    List<Arbitrary<TensorSpec>> l = new ArrayList<>(), w = new ArrayList<>();
                    for (long[] sh : c.shapes()) l.add(Cases.contiguous(DType.F64, sh));
                    for (int b = 0; b < backends; b++) w.add(Cases.contiguous(DType.F64, c.out()));
                    leaves.add(Cases.all(l));
                    ws.add(Cases.all(w));
                }
                return Combinators.combine(Cases.all(leaves), Cases.all(ws)).as((l, w) -> new Case(p, checks, l, w));
            });
        }

        void run() {
            for (int i = 0; i < checks.size(); i++) check(checks.get(i), leaves.get(i), ws.get(i));
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder("params ").append(params);
            for (int i = 0; i < checks.size(); i++)
                s.append("\n  ")
                        .append(checks.get(i).what())
                        .append(": leaves ")
                        .append(leaves.get(i))
                        .append(", w ")
                        .append(ws.get(i));
            return s.toString();
        }
    }

    /**
     * Checks the gradient of L = Σ w·fused(xs) on every backend: against central differences through
     * panthera-testing's {@link GradCheck} (its derived tolerance), and against the composition's autograd gradient
     * for the drawn w.
     *
     * <p>The composition's gradient computes the same derivative in float64 in another order; both differ from it by
     * at most (n + 32)·ε·κ·max(1, |g|) with n = numel(out) ≤ 2000, ε = 2⁻⁵³ and κ ≤ 1/√1e-5 ≈ 316 the largest
     * amplification in these ops (a norm's 1/√(var + eps)): below 1e-10·max(1, |g|), so 1e-9·max(1, |g|) bounds it.
     */
    static void check(FusedCheck c, List<TensorSpec> leafSpecs, List<TensorSpec> wSpecs) {
        Tensor[] base = Cases.tensors(leafSpecs);
        Backend[] bes = backends();
        for (int n = 0; n < bes.length; n++) {
            Backend be = bes[n];
            try (Handle use = Backends.use(be)) {
                Tensor[] xs = leaves(base);
                Tensor out = c.fused().apply(xs);
                Tensor w = wSpecs.get(n).tensor();
                out.mul(w).sum().backward();
                Tensor[] ys = leaves(base);
                c.composed().apply(ys).mul(w).sum().backward();
                for (int k = 0; k < xs.length; k++) {
                    double[] g = grad(xs[k]), gc = grad(ys[k]);
                    for (int i = 0; i < g.length; i++) {
                        if (!(Math.abs(g[i] - gc[i]) <= 1e-9 * Math.max(1, Math.abs(gc[i])))) {
                            fail(c.what() + " on " + be.name() + ": d/dx" + k + "[" + i + "] of "
                                    + Shape.of(c.shapes()[k]) + ": fused " + g[i] + " but composition " + gc[i]);
                        }
                    }
                }
                GradCheck.check(c.what() + " on " + be.name(), c.fused(), base);
            }
        }
    }

    /** Fresh leaves holding copies of {@code values}. */
    private static Tensor[] leaves(Tensor[] values) {
        Tensor[] t = new Tensor[values.length];
        for (int k = 0; k < t.length; k++) t[k] = values[k].copy().requiresGrad(true);
        return t;
    }

    /** The leaf's gradient as an array; zeros when no gradient reached it. */
    private static double[] grad(Tensor leaf) {
        return leaf.grad() == null
                ? new double[(int) leaf.numel()]
                : leaf.grad().toDoubleArray();
    }

    /** b, hkv in [1, 2], groups 1, 2 or 4, lk in [1, 4], d in [1, 4], dv in [1, 3]; and a mask, none one time in three. */
    record AttentionParams(AttentionSizes s, FusedOpsTest.Mask mask) {}

    @Provide
    Arbitrary<Case> attentionCases() {
        Arbitrary<AttentionParams> params = AttentionSizes.draw(
                        Cases.between(1, 2),
                        Cases.between(1, 2),
                        Cases.oneOf(1, 2, 4),
                        Cases.between(1, 4),
                        Cases.between(1, 4),
                        Cases.between(1, 3))
                .flatMap(s -> FusedOpsTest.Mask.draw(s, 1).map(m -> new AttentionParams(s, m)));
        return Case.of(params, p -> {
            AttentionSizes s = p.s();
            long b = s.b(), hq = s.hq(), lq = s.lq(), lk = s.lk();
            boolean causal = s.causal();
            double scale = 1 / Math.sqrt(s.d());
            Tensor mask = p.mask().tensor(s);
            Tensor additive = mask == null
                    ? null
                    : (mask.dtype() == DType.BOOL
                                    ? Tensor.where(
                                            mask,
                                            Tensor.zeros(DType.F64, Shape.scalar()),
                                            Tensor.full(DType.F64, Double.NEGATIVE_INFINITY))
                                    : mask)
                            .expand(b, hq, lq, lk);
            // leaves are [B, T, H, D] projections; attention sees them transposed, as the layer passes them
            return List.of(new FusedCheck(
                    "attention",
                    x -> Tensor.scaledDotProductAttention(
                            x[0].transpose(1, 2), x[1].transpose(1, 2), x[2].transpose(1, 2), mask, causal, scale),
                    x -> Composed.attention(
                            x[0].transpose(1, 2), x[1].transpose(1, 2), x[2].transpose(1, 2), additive, causal, scale),
                    new long[] {b, hq, lq, s.dv()},
                    new long[] {b, lq, hq, s.d()},
                    new long[] {b, lk, s.hkv(), s.d()},
                    new long[] {b, lk, s.hkv(), s.dv()}));
        });
    }

    @Property(tries = 25)
    void attention(@ForAll("attentionCases") Case c) {
        c.run();
    }

    /** h in [1, 3], t in [1, 4], an even d in [2, 8], interleaved or half-split pairs. */
    @Provide
    Arbitrary<Case> ropeCases() {
        return Case.of(
                Combinators.combine(
                                Cases.between(1, 3),
                                Cases.between(1, 4),
                                Cases.between(1, 4),
                                Arbitraries.of(false, true))
                        .as(List::<Object>of),
                p -> {
                    long h = (Long) p.get(0), t = (Long) p.get(1), d = 2 * (Long) p.get(2);
                    boolean interleaved = (Boolean) p.get(3);
                    Tensor[] cs = RopeAttentionTest.tables(t, d);
                    return List.of(
                            new FusedCheck(
                                    "rope " + (interleaved ? "interleaved" : "half"),
                                    x -> x[0].transpose(0, 1).rope(cs[0], cs[1], interleaved),
                                    x -> Composed.rope(x[0].transpose(0, 1), cs[0], cs[1], interleaved),
                                    new long[] {h, t, d},
                                    new long[] {t, h, d}),
                            // the tables too (learned or perturbed angles): dcos and dsin sum over the heads
                            new FusedCheck(
                                    "rope tables",
                                    x -> x[0].rope(x[1], x[2], interleaved),
                                    x -> Composed.rope(x[0], x[1], x[2], interleaved),
                                    new long[] {h, t, d},
                                    new long[] {h, t, d},
                                    new long[] {t, d / 2},
                                    new long[] {t, d / 2}));
                });
    }

    @Property(tries = 25)
    void rope(@ForAll("ropeCases") Case c) {
        c.run();
    }

    /** rows in [1, 4] and a row length n up to 13. */
    @Provide
    Arbitrary<Case> normCases() {
        return Case.of(Combinators.combine(Cases.between(1, 4), Cases.size(13)).as(List::of), p -> {
            long rows = p.get(0), n = p.get(1);
            long[] x = {rows, n}, q = {n};
            return List.of(
                    new FusedCheck(
                            "layerNorm",
                            v -> v[0].layerNorm(v[1], v[2], 1e-5),
                            v -> Composed.layerNorm(v[0], v[1], v[2], 1e-5),
                            x,
                            x,
                            q,
                            q),
                    new FusedCheck(
                            "layerNorm no affine",
                            v -> v[0].layerNorm(null, null, 1e-5),
                            v -> Composed.layerNorm(v[0], null, null, 1e-5),
                            x,
                            x),
                    new FusedCheck(
                            "rmsNorm",
                            v -> v[0].t().rmsNorm(v[1], 1e-6),
                            v -> Composed.rmsNorm(v[0].t(), v[1], 1e-6),
                            x,
                            new long[] {n, rows},
                            new long[] {n}),
                    new FusedCheck(
                            "rmsNorm no weight",
                            v -> v[0].rmsNorm(null, 1e-6),
                            v -> Composed.rmsNorm(v[0], null, 1e-6),
                            x,
                            x));
        });
    }

    @Property(tries = 25)
    void norms(@ForAll("normCases") Case c) {
        c.run();
    }

    /** A shape of rank 1 to 3 with sizes 1 to 4, and a dim of it. */
    @Provide
    Arbitrary<Case> softmaxCases() {
        Arbitrary<long[]> shapes = Shapes.shapes(1, 3, 1, 4, 64).map(Shape::toArray);
        Arbitrary<List<Object>> params =
                shapes.flatMap(sh -> Cases.choice(sh.length).map(d -> List.<Object>of(sh, d)));
        return Case.of(params, p -> {
            long[] shape = (long[]) p.get(0);
            int dim = (Integer) p.get(1);
            return List.of(
                    new FusedCheck(
                            "softmax", x -> x[0].softmax(dim), x -> Composed.softmax(x[0], dim, false), shape, shape),
                    new FusedCheck(
                            "logSoftmax",
                            x -> x[0].logSoftmax(dim),
                            x -> Composed.softmax(x[0], dim, true),
                            shape,
                            shape));
        });
    }

    @Property(tries = 25)
    void softmaxAndLogSoftmax(@ForAll("softmaxCases") Case c) {
        c.run();
    }

    /**
     * Causal attention with more queries than keys: the first rows see no key, give NaN and get no gradient, with
     * and without backward kernels; the other rows' gradients agree (same float64 formula in another order, as in
     * {@link #check}: 1e-9·max(1, |g|)).
     */
    /** Four q rows, two keys of dim 3, values of dim 2 (one head), and the upstream gradient, all N(0, 1). */
    record NoKeyInputs(TensorSpec q, TensorSpec k, TensorSpec v, TensorSpec up) {}

    @Provide
    Arbitrary<NoKeyInputs> noKeyInputs() {
        return Combinators.combine(
                        Cases.contiguous(DType.F64, 1, 2, 4, 3),
                        Cases.contiguous(DType.F64, 1, 1, 2, 3),
                        Cases.contiguous(DType.F64, 1, 1, 2, 2),
                        Cases.contiguous(DType.F64, 1, 2, 4, 2))
                .as(NoKeyInputs::new);
    }

    @Property(tries = 5)
    void rowsThatSeeNoKeyGetNoGradient(@ForAll("noKeyInputs") NoKeyInputs in) {
        Tensor[] base = {in.q().tensor(), in.k().tensor(), in.v().tensor()};
        Tensor up = in.up().tensor();
        double[][][] grads = new double[2][][];
        Backend[] bes = backends();
        for (int n = 0; n < 2; n++) {
            try (Handle use = Backends.use(bes[n])) {
                Tensor[] x = leaves(base);
                Tensor o = Tensor.scaledDotProductAttention(x[0], x[1], x[2], true, 0.5);
                // query i sees keys j <= i + 2 - 4: rows 0 and 1 see none
                assertTrue(Double.isNaN(o.get(0, 0, 0, 0)) && Double.isNaN(o.get(0, 1, 1, 1)), "rows 0, 1 are NaN");
                assertTrue(!Double.isNaN(o.get(0, 0, 2, 0)) && !Double.isNaN(o.get(0, 1, 3, 1)), "rows 2, 3 are not");
                o.backward(up);
                grads[n] = new double[][] {grad(x[0]), grad(x[1]), grad(x[2])};
            }
        }
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < grads[0][k].length; i++) {
                double a = grads[0][k][i], b = grads[1][k][i];
                if (!(Double.isFinite(a) && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a)))) {
                    fail("input " + k + " element " + i + ": kernel " + a + ", composed " + b);
                }
            }
        }
        for (int i = 0; i < 2 * 2 * 3; i++) { // q rows 0 and 1 of each head
            int h = i / 6, row = i % 6 / 3;
            assertEquals(0.0, grads[0][0][h * 12 + row * 3 + i % 3]);
        }
    }
}
