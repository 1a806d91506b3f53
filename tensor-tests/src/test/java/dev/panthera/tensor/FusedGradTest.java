package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.CountingBackend;
import dev.panthera.testing.GradCheck;
import java.util.Random;
import java.util.function.Function;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

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
     * Checks the gradient of L = Σ w·fused(xs) for leaves of {@code shapes} on every backend: against central
     * differences through panthera-testing's {@link GradCheck} (its derived tolerance), and against the composition's
     * autograd gradient for a random w.
     *
     * <p>The composition's gradient computes the same derivative in float64 in another order; both differ from it by
     * at most (n + 32)·ε·κ·max(1, |g|) with n = numel(out) ≤ 2000, ε = 2⁻⁵³ and κ ≤ 1/√1e-5 ≈ 316 the largest
     * amplification in these ops (a norm's 1/√(var + eps)): below 1e-10·max(1, |g|), so 1e-9·max(1, |g|) bounds it.
     */
    static void check(
            String what,
            Random r,
            Function<Tensor[], Tensor> fused,
            Function<Tensor[], Tensor> composed,
            long[]... shapes) {
        Tensor[] base = new Tensor[shapes.length];
        for (int k = 0; k < shapes.length; k++) base[k] = Seeded.normal(r, shapes[k], DType.F64);
        for (Backend be : backends()) {
            try (Handle use = Backends.use(be)) {
                Tensor[] xs = leaves(base);
                Tensor out = fused.apply(xs);
                Tensor w = Seeded.normal(r, out.dims(), DType.F64);
                out.mul(w).sum().backward();
                Tensor[] ys = leaves(base);
                composed.apply(ys).mul(w).sum().backward();
                for (int k = 0; k < xs.length; k++) {
                    double[] g = grad(xs[k]), gc = grad(ys[k]);
                    for (int i = 0; i < g.length; i++) {
                        if (!(Math.abs(g[i] - gc[i]) <= 1e-9 * Math.max(1, Math.abs(gc[i])))) {
                            fail(what + " on " + be.name() + ": d/dx" + k + "[" + i + "] of " + Shape.of(shapes[k])
                                    + ": fused " + g[i] + " but composition " + gc[i]);
                        }
                    }
                }
                GradCheck.check(what + " on " + be.name(), fused, base);
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

    @Property(tries = 25)
    void attention(@ForAll long seed) {
        Random r = new Random(seed);
        long[] groups = {1, 2, 4};
        long b = 1 + r.nextInt(2), hkv = 1 + r.nextInt(2), g = groups[r.nextInt(3)];
        long lk = 1 + r.nextInt(4), lq = r.nextBoolean() ? lk : 1 + r.nextInt((int) lk), d = 1 + r.nextInt(4);
        long dv = 1 + r.nextInt(3);
        boolean causal = r.nextBoolean();
        double scale = 1 / Math.sqrt(d);
        Tensor mask = switch (r.nextInt(3)) {
            case 0 -> null;
            case 1 -> FusedOpsTest.paddingMask(r, b, lq, lk);
            default -> Seeded.normal(r, new long[] {b, 1, lq, lk}, DType.F64);
        };
        Tensor additive = mask == null
                ? null
                : (mask.dtype() == DType.BOOL
                                ? Tensor.where(
                                        mask,
                                        Tensor.zeros(DType.F64, Shape.scalar()),
                                        Tensor.full(DType.F64, Double.NEGATIVE_INFINITY))
                                : mask)
                        .expand(b, hkv * g, lq, lk);
        // leaves are [B, T, H, D] projections; attention sees them transposed, as the layer passes them
        check(
                "attention",
                r,
                x -> Tensor.scaledDotProductAttention(
                        x[0].transpose(1, 2), x[1].transpose(1, 2), x[2].transpose(1, 2), mask, causal, scale),
                x -> Composed.attention(
                        x[0].transpose(1, 2), x[1].transpose(1, 2), x[2].transpose(1, 2), additive, causal, scale),
                new long[] {b, lq, hkv * g, d},
                new long[] {b, lk, hkv, d},
                new long[] {b, lk, hkv, dv});
    }

    @Property(tries = 25)
    void rope(@ForAll long seed) {
        Random r = new Random(seed);
        long h = 1 + r.nextInt(3), t = 1 + r.nextInt(4), d = 2 * (1 + r.nextInt(4));
        boolean interleaved = r.nextBoolean();
        Tensor[] cs = RopeAttentionTest.tables(t, d);
        check(
                "rope " + (interleaved ? "interleaved" : "half"),
                r,
                x -> x[0].transpose(0, 1).rope(cs[0], cs[1], interleaved),
                x -> Composed.rope(x[0].transpose(0, 1), cs[0], cs[1], interleaved),
                new long[] {t, h, d});
        // the tables too (learned or perturbed angles): dcos and dsin sum over the heads
        check(
                "rope tables",
                r,
                x -> x[0].rope(x[1], x[2], interleaved),
                x -> Composed.rope(x[0], x[1], x[2], interleaved),
                new long[] {h, t, d},
                new long[] {t, d / 2},
                new long[] {t, d / 2});
    }

    @Property(tries = 25)
    void norms(@ForAll long seed) {
        Random r = new Random(seed);
        long rows = 1 + r.nextInt(4), n = Seeded.size(r, 13);
        long[] x = {rows, n}, p = {n};
        check(
                "layerNorm",
                r,
                v -> v[0].layerNorm(v[1], v[2], 1e-5),
                v -> Composed.layerNorm(v[0], v[1], v[2], 1e-5),
                x,
                p,
                p);
        check(
                "layerNorm no affine",
                r,
                v -> v[0].layerNorm(null, null, 1e-5),
                v -> Composed.layerNorm(v[0], null, null, 1e-5),
                x);
        check(
                "rmsNorm",
                r,
                v -> v[0].t().rmsNorm(v[1], 1e-6),
                v -> Composed.rmsNorm(v[0].t(), v[1], 1e-6),
                new long[] {n, rows},
                new long[] {n});
        check("rmsNorm no weight", r, v -> v[0].rmsNorm(null, 1e-6), v -> Composed.rmsNorm(v[0], null, 1e-6), x);
    }

    @Property(tries = 25)
    void softmaxAndLogSoftmax(@ForAll long seed) {
        Random r = new Random(seed);
        long[] shape = GradCheckShapes.small(r);
        int dim = r.nextInt(shape.length);
        check("softmax", r, x -> x[0].softmax(dim), x -> Composed.softmax(x[0], dim, false), shape);
        check("logSoftmax", r, x -> x[0].logSoftmax(dim), x -> Composed.softmax(x[0], dim, true), shape);
    }

    /** Small random shapes of rank 1 to 3 with sizes 1 to 4. */
    private static final class GradCheckShapes {
        static long[] small(Random r) {
            long[] s = new long[1 + r.nextInt(3)];
            for (int i = 0; i < s.length; i++) s[i] = 1 + r.nextInt(4);
            return s;
        }
    }

    /**
     * Causal attention with more queries than keys: the first rows see no key, give NaN and get no gradient, with
     * and without backward kernels; the other rows' gradients agree (same float64 formula in another order, as in
     * {@link #check}: 1e-9·max(1, |g|)).
     */
    @net.jqwik.api.Example
    void rowsThatSeeNoKeyGetNoGradient() {
        Random r = new Random(5);
        Tensor[] base = {
            Seeded.normal(r, new long[] {1, 2, 4, 3}, DType.F64),
            Seeded.normal(r, new long[] {1, 1, 2, 3}, DType.F64),
            Seeded.normal(r, new long[] {1, 1, 2, 2}, DType.F64)
        };
        Tensor up = Seeded.normal(r, new long[] {1, 2, 4, 2}, DType.F64);
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
