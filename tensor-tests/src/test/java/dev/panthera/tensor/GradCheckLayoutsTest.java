package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.panthera.tensor.GradChecks.Check;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * More central-difference gradient checks (F64, via {@link GradCheck#check} and its derived tolerance):
 * ops fed non-contiguous views of the leaves (transposed, stepped, offset, expanded), the index/axis variants the main
 * property does not draw (dim 0, negative dims, I32 indices, broadcast conditions), 1-D and batched matmul forms, and a
 * small composite network. Plus the leaf-hook contract on a graph with shared subexpressions.
 */
class GradCheckLayoutsTest {

    /** A size in [lo, hi], shrinking toward lo. */
    private static Arbitrary<Long> size(long lo, long hi) {
        return Cases.between(lo, hi);
    }

    @Provide
    Arbitrary<GradChecks> nonContiguous() {
        return GradChecks.of(
                Combinators.combine(size(1, 4), size(2, 5), size(1, 4)).as(List::of),
                p -> nonContiguousChecks(p.get(0), p.get(1), p.get(2)));
    }

    /** Each op reads its leaf through a transposed / stepped / offset / expanded view; leaves of [a, b, c] and more. */
    private static List<Check> nonContiguousChecks(long a, long b, long c) {
        long[] s = {a, b, c};
        return List.of(
                new Check("exp of a transpose", x -> x[0].transpose(0, 2).exp(), s),
                new Check(
                        "mul of stepped views",
                        x -> x[0].slice(1, 0, b, 2).mul(x[1].slice(1, 1, b + 1, 2)),
                        s,
                        new long[] {a, b + 1, c}),
                new Check(
                        "softmax dim 0 of a permute", x -> x[0].permute(2, 0, 1).softmax(0), s),
                new Check(
                        "logSoftmax of an offset view",
                        x -> x[0].narrow(1, 1, b - 1).logSoftmax(-1),
                        s),
                new Check(
                        "layerNorm of a transpose with weight",
                        x -> x[0].transpose(1, 2).layerNorm(x[1], x[2], 1e-5),
                        s,
                        new long[] {b},
                        new long[] {b}),
                new Check(
                        "rmsNorm with a stepped weight",
                        x -> x[0].rmsNorm(x[1].slice(0, 0, 2 * c, 2), 1e-6),
                        s,
                        new long[] {2 * c}),
                new Check(
                        "sum of an expanded leaf",
                        x -> x[0].expand(3, a, b, c).mul(x[1]).sum(new int[] {0, 2}, true),
                        s,
                        new long[] {3, 1, 1, c}),
                new Check(
                        "matmul of transposed batched operands",
                        x -> x[0].transpose(1, 2).matmul(x[1].transpose(1, 2)),
                        s,
                        new long[] {a, 2, b}),
                new Check(
                        "var over two dims of a permute",
                        x -> x[0].permute(1, 0, 2).var(new int[] {0, 2}, 1, false),
                        s),
                new Check("mean over all, keepdim", x -> x[0].transpose(0, 1).mean(new int[] {0, 1, 2}, true), s),
                new Check(
                        "max over a negative dim of a stepped view",
                        x -> x[0].slice(2, 0, c, 2).max(new int[] {-2}, false),
                        s),
                new Check(
                        "gelu of a reshape that copies",
                        x -> x[0].transpose(0, 1).reshape(-1).gelu(),
                        s));
    }

    @Property(tries = 25)
    void opsOnNonContiguousViewsOfLeaves(@ForAll("nonContiguous") GradChecks checks) {
        checks.run();
    }

    /**
     * Sizes n in [2, 4] and d in [1, 4], 1 to 5 ids in [0, n) (repeats must accumulate) and the 3·d entries of a
     * gather index in [0, n).
     */
    record IndexParams(long n, long d, long[] ids, long[] gather) {
        @Override
        public String toString() {
            return "n " + n + ", d " + d + ", ids " + Arrays.toString(ids) + ", gather " + Arrays.toString(gather);
        }
    }

    @Provide
    Arbitrary<GradChecks> indexVariants() {
        Arbitrary<IndexParams> params = Combinators.combine(size(2, 4), size(1, 4))
                .flatAs((n, d) -> {
                    Arbitrary<long[]> ids = Arbitraries.longs()
                            .between(0, n - 1)
                            .array(long[].class)
                            .ofMinSize(1)
                            .ofMaxSize(5);
                    return Combinators.combine(ids, Cases.indices((int) (3 * d), n))
                            .as((i, g) -> new IndexParams(n, d, i, g));
                });
        return GradChecks.of(params, GradCheckLayoutsTest::indexChecks);
    }

    private static List<Check> indexChecks(IndexParams p) {
        long n = p.n(), d = p.d();
        long[] ids = p.ids();
        int[] ids32 = Arrays.stream(ids).mapToInt(Math::toIntExact).toArray();
        Tensor i32 = Tensor.of(ids32, ids32.length);
        Tensor ids2 = Tensor.of(new long[] {ids[0], 0, n - 1, ids[ids.length - 1]}, 2, 2);
        // gather along dim 0 with a transposed (non-contiguous) index
        Tensor gIndex = Tensor.of(p.gather(), d, 3).t(); // [3, d], strides (1, 3)
        return List.of(
                new Check(
                        "indexSelect dim 0, I32 index with repeats", x -> x[0].indexSelect(0, i32), new long[] {n, d}),
                new Check(
                        "indexSelect dim -1",
                        x -> x[0].indexSelect(-1, Tensor.of(new long[] {d - 1, 0}, 2)),
                        new long[] {2, d}),
                new Check("embedding with 2-D ids", x -> Tensor.embedding(x[0], ids2), new long[] {n, d}),
                new Check("gather dim 0, transposed index", x -> x[0].gather(0, gIndex), new long[] {n, d}),
                new Check(
                        "gather dim -1",
                        x -> x[0].gather(-1, Tensor.of(new long[] {0, 0, d - 1, 0}, 2, 2)),
                        new long[] {2, d}),
                new Check(
                        "where with a broadcast condition",
                        x -> Tensor.where(x[0].gt(0), x[0], x[1]),
                        new long[] {3, 1},
                        new long[] {1, 4}),
                new Check(
                        "maskedFill with a broadcast mask",
                        x -> x[0].maskedFill(Tensor.of(new boolean[] {true, false, true}, 3, 1), -1.5),
                        new long[] {3, d}),
                new Check(
                        "select negative index",
                        x -> x[0].select(0, -1).mul(x[0].select(1, 0).sum()),
                        new long[] {n, d}),
                new Check("narrow dim 0", x -> x[0].narrow(0, 1, n - 1), new long[] {n, d}),
                new Check("slice start 1 step 3", x -> x[0].slice(0, 1, 3 * n, 3), new long[] {3 * n, d}),
                new Check(
                        "stack on the last dim",
                        x -> Tensor.stack(List.of(x[0], x[1].exp()), -1),
                        new long[] {n, d},
                        new long[] {n, d}),
                new Check(
                        "cat of three along -1",
                        x -> Tensor.cat(List.of(x[0], x[1], x[0].mul(2)), -1),
                        new long[] {n, d},
                        new long[] {n, 1}),
                new Check(
                        "chunk then recombine",
                        x -> {
                            List<Tensor> ch = x[0].chunk(2, 0);
                            return ch.get(0)
                                    .sum(new int[] {0}, false)
                                    .mul(ch.get(ch.size() - 1).sum(new int[] {0}, false));
                        },
                        new long[] {n, d}),
                new Check("permute 4-D", x -> x[0].permute(3, 1, 0, 2).tanh(), new long[] {2, 1, n, d}),
                new Check(
                        "unsqueeze in the middle then expand",
                        x -> x[0].unsqueeze(1).expand(n, 3, d),
                        new long[] {n, d}));
    }

    @Property(tries = 25)
    void indexAndAxisVariants(@ForAll("indexVariants") GradChecks checks) {
        checks.run();
    }

    @Provide
    Arbitrary<GradChecks> matmuls() {
        return GradChecks.of(
                Combinators.combine(size(1, 4), size(1, 4), size(1, 4), size(1, 4))
                        .as(List::of),
                p -> matmulChecks(p.get(0), p.get(1), p.get(2), p.get(3)));
    }

    /** 1-D and batched matmul forms for batch b and an [m, k] · [k, n] product. */
    private static List<Check> matmulChecks(long b, long m, long k, long n) {
        return List.of(
                new Check("batched · vector", x -> x[0].matmul(x[1]), new long[] {b, m, k}, new long[] {k}),
                new Check("vector · batched", x -> x[0].matmul(x[1]), new long[] {k}, new long[] {b, k, n}),
                new Check("same batch 3-D", x -> x[0].matmul(x[1]), new long[] {b, m, k}, new long[] {b, k, n}),
                new Check("3-D · 2-D (shared weight)", x -> x[0].matmul(x[1]), new long[] {b, m, k}, new long[] {k, n}),
                new Check("broadcast batch both ways", x -> x[0].matmul(x[1]), new long[] {b, 1, m, k}, new long[] {
                    1, 2, k, n
                }),
                new Check("x·xᵀ (one leaf on both sides)", x -> x[0].matmul(x[0].t()), new long[] {m, k}));
    }

    @Property(tries = 25)
    void matmulForms(@ForAll("matmuls") GradChecks checks) {
        checks.run();
    }

    /** Batch in [1, 4], din and hidden in [2, 4], classes in [2, 3], and one target class per row. */
    record NetParams(long batch, long din, long hidden, long classes, long[] targets) {
        @Override
        public String toString() {
            return "batch " + batch + ", din " + din + ", hidden " + hidden + ", classes " + classes + ", targets "
                    + Arrays.toString(targets);
        }
    }

    @Provide
    Arbitrary<GradChecks> networks() {
        Arbitrary<NetParams> params = Combinators.combine(size(1, 4), size(2, 4), size(2, 4), size(2, 3))
                .flatAs((batch, din, hidden, classes) -> Cases.indices((int) (long) batch, classes)
                        .map(t -> new NetParams(batch, din, hidden, classes, t)));
        return GradChecks.of(params, p -> {
            Tensor t = Tensor.of(p.targets(), p.batch(), 1);
            // cross-entropy of an MLP with layer norm, GELU and a residual-free head: every op in one graph
            return List.of(new Check(
                    "mlp",
                    x -> {
                        Tensor h = x[0].layerNorm(x[3], null, 1e-5).matmul(x[1]).gelu();
                        Tensor logits = h.matmul(x[2]);
                        return logits.logSoftmax(-1).gather(1, t).neg().mean();
                    },
                    new long[] {p.batch(), p.din()},
                    new long[] {p.din(), p.hidden()},
                    new long[] {p.hidden(), p.classes()},
                    new long[] {p.din()}));
        });
    }

    @Property(tries = 20)
    void aSmallNetwork(@ForAll("networks") GradChecks checks) {
        checks.run();
    }

    @Test
    void dtypeConversionChainsCarryGradientsBack() {
        // F64 leaf → F32 → BF16 → F32 → F64: the gradient of sum(3·y) is 3 in every element, converted back to F64
        Tensor x = Tensor.of(new double[] {0.1, -2, 7}, 3).requiresGrad(true);
        x.to(DType.F32).to(DType.BF16).to(DType.F32).to(DType.F64).mul(3).sum().backward();
        assertEquals(DType.F64, x.grad().dtype());
        assertArrayEquals(new double[] {3, 3, 3}, x.grad().toDoubleArray());
        // an F32 leaf used in F64 arithmetic gets an F32 gradient
        Tensor f = Tensor.of(1f, 2f).requiresGrad(true);
        f.mul(Tensor.of(new double[] {0.5, 0.25}, 2)).sum().backward();
        assertEquals(DType.F32, f.grad().dtype());
        assertArrayEquals(new float[] {0.5f, 0.25f}, f.grad().toFloatArray());
    }

    @Test
    void leafHooksSeeTheCompleteGradientOnceEvenWithSharedSubexpressions() {
        Tensor a = Tensor.of(new double[] {0.5, -1}, 2).requiresGrad(true);
        Tensor b = Tensor.of(new double[] {2, 3}, 2).requiresGrad(true);
        Tensor c = Tensor.of(new double[] {1.5}, 1).requiresGrad(true);
        Tensor shared = a.mul(b).tanh(); // used by two branches
        Tensor left = shared.mul(c).exp(), right = shared.mul(a);
        Tensor y = left.add(right).sum();
        Map<Tensor, Integer> calls = new IdentityHashMap<>();
        Map<Tensor, double[]> seen = new IdentityHashMap<>();
        List<Tensor> order = new ArrayList<>();
        Autograd.backward(y, Tensor.full(DType.F64, 1.0), (leaf, g) -> {
            calls.merge(leaf, 1, Integer::sum);
            seen.put(leaf, g.toDoubleArray());
            order.add(leaf);
        });
        assertEquals(3, order.size(), "one call per leaf");
        for (Tensor leaf : List.of(a, b, c)) assertEquals(1, calls.get(leaf));
        // the same gradients through the default accumulation path
        y.backward();
        for (Tensor leaf : List.of(a, b, c)) assertArrayEquals(leaf.grad().toDoubleArray(), seen.get(leaf), 0.0);
        // and against the chain rule written out: s = tanh(a·b), y = Σ exp(s·c) + s·a
        double[] av = {0.5, -1}, bv = {2, 3};
        double gc = 0;
        for (int i = 0; i < 2; i++) {
            double s = Math.tanh(av[i] * bv[i]), ds = 1 - s * s, e = Math.exp(s * 1.5);
            double dyds = e * 1.5 + av[i];
            assertEquals(dyds * ds * bv[i] + s, seen.get(a)[i], 1e-12, "dy/da");
            assertEquals(dyds * ds * av[i], seen.get(b)[i], 1e-12, "dy/db");
            gc += e * s;
        }
        assertEquals(gc, seen.get(c)[0], 1e-12, "dy/dc");
    }

    @Test
    void detachedViewsShareStorageButNotTheGraph() {
        Tensor x = Tensor.of(new double[] {1, 2, 3, 4}, 2, 2).requiresGrad(true);
        Tensor d = x.t().detach();
        assertSame(x.storage(), d.storage());
        Tensor y = x.mul(d).sum(); // d is a constant: dy/dx = xᵀ
        y.backward();
        assertArrayEquals(new double[] {1, 3, 2, 4}, x.grad().toDoubleArray());
    }
}
