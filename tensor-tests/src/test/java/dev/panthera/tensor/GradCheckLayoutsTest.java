package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * More central-difference gradient checks (F64, via {@link GradCheck#check} and its derived tolerance):
 * ops fed non-contiguous views of the leaves (transposed, stepped, offset, expanded), the index/axis variants the main
 * property does not draw (dim 0, negative dims, I32 indices, broadcast conditions), 1-D and batched matmul forms, and a
 * small composite network. Plus the leaf-hook contract on a graph with shared subexpressions.
 */
class GradCheckLayoutsTest {

    private static long size(Random r) {
        return 1 + r.nextInt(4);
    }

    @Property(tries = 25)
    void opsOnNonContiguousViewsOfLeaves(@ForAll long seed) {
        Random r = new Random(seed);
        long a = size(r), b = 1 + size(r), c = size(r);
        long[] s = {a, b, c};
        // each op reads its leaf through a transposed / stepped / offset / expanded view
        Seeded.gradCheck("exp of a transpose", r, x -> x[0].transpose(0, 2).exp(), s);
        Seeded.gradCheck(
                "mul of stepped views", r, x -> x[0].slice(1, 0, b, 2).mul(x[1].slice(1, 1, b + 1, 2)), s, new long[] {
                    a, b + 1, c
                });
        Seeded.gradCheck(
                "softmax dim 0 of a permute", r, x -> x[0].permute(2, 0, 1).softmax(0), s);
        Seeded.gradCheck(
                "logSoftmax of an offset view", r, x -> x[0].narrow(1, 1, b - 1).logSoftmax(-1), s);
        Seeded.gradCheck(
                "layerNorm of a transpose with weight",
                r,
                x -> x[0].transpose(1, 2).layerNorm(x[1], x[2], 1e-5),
                s,
                new long[] {b},
                new long[] {b});
        Seeded.gradCheck(
                "rmsNorm with a stepped weight", r, x -> x[0].rmsNorm(x[1].slice(0, 0, 2 * c, 2), 1e-6), s, new long[] {
                    2 * c
                });
        Seeded.gradCheck(
                "sum of an expanded leaf",
                r,
                x -> x[0].expand(3, a, b, c).mul(x[1]).sum(new int[] {0, 2}, true),
                s,
                new long[] {3, 1, 1, c});
        Seeded.gradCheck(
                "matmul of transposed batched operands",
                r,
                x -> x[0].transpose(1, 2).matmul(x[1].transpose(1, 2)),
                s,
                new long[] {a, 2, b});
        Seeded.gradCheck(
                "var over two dims of a permute", r, x -> x[0].permute(1, 0, 2).var(new int[] {0, 2}, 1, false), s);
        Seeded.gradCheck("mean over all, keepdim", r, x -> x[0].transpose(0, 1).mean(new int[] {0, 1, 2}, true), s);
        Seeded.gradCheck(
                "max over a negative dim of a stepped view",
                r,
                x -> x[0].slice(2, 0, c, 2).max(new int[] {-2}, false),
                s);
        Seeded.gradCheck(
                "gelu of a reshape that copies",
                r,
                x -> x[0].transpose(0, 1).reshape(-1).gelu(),
                s);
    }

    @Property(tries = 25)
    void indexAndAxisVariants(@ForAll long seed) {
        Random r = new Random(seed);
        long n = 2 + r.nextInt(3), d = size(r);
        int[] ids = new int[1 + r.nextInt(5)];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt((int) n); // repeats must accumulate
        Tensor i32 = Tensor.of(ids, ids.length);
        Seeded.gradCheck(
                "indexSelect dim 0, I32 index with repeats", r, x -> x[0].indexSelect(0, i32), new long[] {n, d});
        Seeded.gradCheck(
                "indexSelect dim -1", r, x -> x[0].indexSelect(-1, Tensor.of(new long[] {d - 1, 0}, 2)), new long[] {
                    2, d
                });
        Tensor ids2 = Tensor.of(new long[] {ids[0], 0, n - 1, ids[ids.length - 1]}, 2, 2);
        Seeded.gradCheck("embedding with 2-D ids", r, x -> Tensor.embedding(x[0], ids2), new long[] {n, d});
        // gather along dim 0 with a transposed (non-contiguous) index
        long[] gi = new long[(int) (d * 3)];
        for (int i = 0; i < gi.length; i++) gi[i] = r.nextInt((int) n);
        Tensor gIndex = Tensor.of(gi, d, 3).t(); // [3, d], strides (1, 3)
        Seeded.gradCheck("gather dim 0, transposed index", r, x -> x[0].gather(0, gIndex), new long[] {n, d});
        Seeded.gradCheck(
                "gather dim -1", r, x -> x[0].gather(-1, Tensor.of(new long[] {0, 0, d - 1, 0}, 2, 2)), new long[] {2, d
                });
        Seeded.gradCheck(
                "where with a broadcast condition",
                r,
                x -> Tensor.where(x[0].gt(0), x[0], x[1]),
                new long[] {3, 1},
                new long[] {1, 4});
        Seeded.gradCheck(
                "maskedFill with a broadcast mask",
                r,
                x -> x[0].maskedFill(Tensor.of(new boolean[] {true, false, true}, 3, 1), -1.5),
                new long[] {3, d});
        Seeded.gradCheck(
                "select negative index",
                r,
                x -> x[0].select(0, -1).mul(x[0].select(1, 0).sum()),
                new long[] {n, d});
        Seeded.gradCheck("narrow dim 0", r, x -> x[0].narrow(0, 1, n - 1), new long[] {n, d});
        Seeded.gradCheck("slice start 1 step 3", r, x -> x[0].slice(0, 1, 3 * n, 3), new long[] {3 * n, d});
        Seeded.gradCheck(
                "stack on the last dim",
                r,
                x -> Tensor.stack(List.of(x[0], x[1].exp()), -1),
                new long[] {n, d},
                new long[] {n, d});
        Seeded.gradCheck(
                "cat of three along -1",
                r,
                x -> Tensor.cat(List.of(x[0], x[1], x[0].mul(2)), -1),
                new long[] {n, d},
                new long[] {n, 1});
        Seeded.gradCheck(
                "chunk then recombine",
                r,
                x -> {
                    List<Tensor> ch = x[0].chunk(2, 0);
                    return ch.get(0)
                            .sum(new int[] {0}, false)
                            .mul(ch.get(ch.size() - 1).sum(new int[] {0}, false));
                },
                new long[] {n, d});
        Seeded.gradCheck("permute 4-D", r, x -> x[0].permute(3, 1, 0, 2).tanh(), new long[] {2, 1, n, d});
        Seeded.gradCheck(
                "unsqueeze in the middle then expand", r, x -> x[0].unsqueeze(1).expand(n, 3, d), new long[] {n, d});
    }

    @Property(tries = 25)
    void matmulForms(@ForAll long seed) {
        Random r = new Random(seed);
        long b = size(r), m = size(r), k = size(r), n = size(r);
        Seeded.gradCheck("batched · vector", r, x -> x[0].matmul(x[1]), new long[] {b, m, k}, new long[] {k});
        Seeded.gradCheck("vector · batched", r, x -> x[0].matmul(x[1]), new long[] {k}, new long[] {b, k, n});
        Seeded.gradCheck("same batch 3-D", r, x -> x[0].matmul(x[1]), new long[] {b, m, k}, new long[] {b, k, n});
        Seeded.gradCheck(
                "3-D · 2-D (shared weight)", r, x -> x[0].matmul(x[1]), new long[] {b, m, k}, new long[] {k, n});
        Seeded.gradCheck(
                "broadcast batch both ways", r, x -> x[0].matmul(x[1]), new long[] {b, 1, m, k}, new long[] {1, 2, k, n
                });
        Seeded.gradCheck("x·xᵀ (one leaf on both sides)", r, x -> x[0].matmul(x[0].t()), new long[] {m, k});
    }

    @Property(tries = 20)
    void aSmallNetwork(@ForAll long seed) {
        Random r = new Random(seed);
        long batch = size(r), din = 2 + r.nextInt(3), hidden = 2 + r.nextInt(3), classes = 2 + r.nextInt(2);
        long[] targets = new long[(int) batch];
        for (int i = 0; i < targets.length; i++) targets[i] = r.nextInt((int) classes);
        Tensor t = Tensor.of(targets, batch, 1);
        // cross-entropy of an MLP with layer norm, GELU and a residual-free head: every op in one graph
        Seeded.gradCheck(
                "mlp",
                r,
                x -> {
                    Tensor h = x[0].layerNorm(x[3], null, 1e-5).matmul(x[1]).gelu();
                    Tensor logits = h.matmul(x[2]);
                    return logits.logSoftmax(-1).gather(1, t).neg().mean();
                },
                new long[] {batch, din},
                new long[] {din, hidden},
                new long[] {hidden, classes},
                new long[] {din});
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
