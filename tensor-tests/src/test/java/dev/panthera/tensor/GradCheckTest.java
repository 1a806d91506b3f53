package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.GradChecks.Check;
import dev.panthera.testing.GradCheck;
import dev.panthera.testing.LayoutKind;
import dev.panthera.testing.Shapes;
import dev.panthera.testing.TensorSpec;
import dev.panthera.testing.Tensors;
import dev.panthera.testing.Values;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Every differentiable op's gradient against central differences in F64 ({@link GradCheck}: per-element differences
 * at h and 2h, a tolerance derived from truncation and rounding), on random shapes including size-1 and broadcast
 * dimensions.
 */
class GradCheckTest {

    /** F64 tensors of rank 0 to 3 with sizes 1 to 4 and N(0, 1) values, contiguous (the leaves of a check). */
    @Provide
    Arbitrary<TensorSpec> smallLeaves() {
        return Tensors.of(DType.F64)
                .withShapes(Shapes.shapes(0, 3, 1, 4, 64))
                .withLayouts(LayoutKind.CONTIGUOUS)
                .withValues(Values.normal())
                .specs();
    }

    @Property(tries = 40)
    void unaryOps(@ForAll("smallLeaves") TensorSpec leaf) {
        Tensor x0 = leaf.tensor();
        for (UnaryOp op : UnaryOp.values()) {
            Function<Tensor[], Tensor> f = switch (op) {
                case NEG -> x -> x[0].neg();
                case EXP -> x -> x[0].exp();
                case LOG -> x -> x[0].mul(x[0]).add(0.5).log();
                case SQRT -> x -> x[0].mul(x[0]).add(0.5).sqrt();
                case RSQRT -> x -> x[0].mul(x[0]).add(0.5).rsqrt();
                case ABS -> x -> x[0].abs();
                case TANH -> x -> x[0].tanh();
                case SIGMOID -> x -> x[0].sigmoid();
                case RELU -> x -> x[0].relu();
                case GELU_ERF -> x -> x[0].gelu();
                case GELU_TANH -> x -> x[0].geluTanh();
                case SILU -> x -> x[0].silu();
                case SIGN -> x -> x[0].sign().add(x[0]);
            };
            GradCheck.check(op.name(), f, x0);
        }
        GradCheck.check("reciprocal", x -> x[0].mul(x[0]).add(0.5).reciprocal(), x0);
    }

    /** Two shapes of rank 0 to 4 with sizes 1 to 4 that broadcast together. */
    @Provide
    Arbitrary<GradChecks> binaryPairs() {
        return GradChecks.of(Shapes.broadcastable(2, Shapes.shapes(0, 4, 1, 4, 256)), p -> {
            long[] a = p.inputs().get(0).toArray(), b = p.inputs().get(1).toArray();
            return List.of(
                    new Check("add", x -> x[0].add(x[1]), a, b),
                    new Check("sub", x -> x[0].sub(x[1]), a, b),
                    new Check("mul", x -> x[0].mul(x[1]), a, b),
                    new Check("div", x -> x[0].div(x[1].mul(x[1]).add(0.5)), a, b),
                    new Check("pow", x -> x[0].mul(x[0]).add(0.5).pow(x[1]), a, b),
                    new Check("pow scalar", x -> x[0].pow(3), a),
                    new Check("maximum", x -> x[0].maximum(x[1]), a, b),
                    new Check("minimum", x -> x[0].minimum(x[1]), a, b),
                    new Check("scalar ops", x -> x[0].add(2).sub(1).mul(3).div(4), a));
        });
    }

    @Property(tries = 40)
    void binaryOpsWithBroadcasting(@ForAll("binaryPairs") GradChecks checks) {
        checks.run();
    }

    /**
     * The leaves on which the old fixed tolerance 1e-6·max(1, |g|) failed (drawn once, kept here as data): pow's
     * d/dx0[0] ≈ −1.17758 with |Σ w·f| ≈ 3e4, whose rounding the old whole-sum difference carried at ε·3e4/h ≈ 8e-6.
     */
    @Example
    void binaryOpsPowOnLargeOutputs() {
        double[] a = {
            0.402401, 2.199172, -0.659593, -1.313052, 1.565699, 0.99081, -0.690076, -1.740408, -0.069155, -0.978616,
            -1.348423, -2.195135, 0.427163, 0.618179, -0.738179, 0.777415
        };
        double[] b = {
            -0.54783, 1.169733, -0.308718, -1.014482, 1.033054, -0.776295, 1.154123, -0.999484, 0.123951, 0.188037,
            -0.122412, 0.330904, 0.578258, -0.503595, -1.113451, 0.108397, 0.409186, 1.498132, 1.102835, -0.28235,
            0.394021, 1.024924, -0.748527, 0.18928, 1.008461, -0.064342, 3.268398, 0.24153, 1.513807, 0.482552,
            -0.971419, -0.044345, -1.173481, -0.404567, 0.907401, 0.890598, 0.803056, -2.173532, -0.911131, 0.545361,
            0.086376, -0.022718, 2.560345, -0.247122, -0.316605, -0.135614, 1.151087, 1.774704, -1.070055, -0.701799,
            -0.610916, -1.802486, 0.114474, -0.45529, 0.64323, 0.36655, -0.479668, -2.925982, -1.619344, -0.07615,
            0.356576, 1.991012, -0.87052, -0.067701
        };
        GradCheck.check("pow", x -> x[0].mul(x[0]).add(0.5).pow(x[1]), Tensor.of(a, 4, 4), Tensor.of(b, 4, 4, 1, 4));
    }

    /** The checker can fail: x·detach(x) has analytic gradient x where the true derivative of x² is 2x. */
    @Example
    void aWrongGradientIsRejected() {
        Tensor x0 = Tensor.of(new double[] {0.7, -1.3, 2.1}, 3);
        AssertionError e = assertThrows(
                AssertionError.class, () -> GradCheck.check("x·detach(x)", x -> x[0].mul(x[0].detach()), x0));
        assertTrue(e.getMessage().contains("x·detach(x): d/dx0(0)"), e.getMessage());
    }

    /** F64 leaves of rank 1 to 3 with sizes 1 to 4, contiguous, N(0, 1) values. */
    @Provide
    Arbitrary<TensorSpec> rank1to3Leaves() {
        return Tensors.of(DType.F64)
                .withShapes(Shapes.shapes(1, 3, 1, 4, 64))
                .withLayouts(LayoutKind.CONTIGUOUS)
                .withValues(Values.normal())
                .specs();
    }

    @Property(tries = 40)
    void reductions(
            @ForAll("rank1to3Leaves") TensorSpec leaf,
            @ForAll @IntRange(min = 0, max = 2) int pick,
            @ForAll boolean firstAndLast,
            @ForAll boolean keep) {
        Tensor x0 = leaf.tensor();
        int rank = leaf.shape().rank();
        int[] dd = rank > 1 && firstAndLast ? new int[] {0, -1} : new int[] {pick % rank};
        GradCheck.check("sum", x -> x[0].sum(dd, keep), x0);
        GradCheck.check("sum all", x -> x[0].sum(), x0);
        GradCheck.check("mean", x -> x[0].mean(dd, keep), x0);
        GradCheck.check("max", x -> x[0].max(dd, keep), x0);
        GradCheck.check("min", x -> x[0].min(dd, keep), x0);
        GradCheck.check("var", x -> x[0].var(dd, 1, keep), x0);
        GradCheck.check("var population", x -> x[0].var(dd, 0, keep), x0);
    }

    @Provide
    Arbitrary<GradChecks> matmuls() {
        return GradChecks.of(
                Combinators.combine(Cases.between(1, 3), Cases.between(1, 4), Cases.between(1, 3))
                        .as(List::of),
                p -> {
                    long m = p.get(0), k = p.get(1), n = p.get(2);
                    return List.of(
                            new Check("matmul 2d", x -> x[0].matmul(x[1]), new long[] {m, k}, new long[] {k, n}),
                            new Check(
                                    "matmul transposed operand",
                                    x -> x[0].matmul(x[1].t()),
                                    new long[] {m, k},
                                    new long[] {n, k}),
                            new Check("matmul 1d·2d", x -> x[0].matmul(x[1]), new long[] {k}, new long[] {k, n}),
                            new Check("matmul 2d·1d", x -> x[0].matmul(x[1]), new long[] {m, k}, new long[] {k}),
                            new Check("dot", x -> x[0].matmul(x[1]), new long[] {k}, new long[] {k}),
                            new Check("batched broadcast", x -> x[0].matmul(x[1]), new long[] {2, 1, m, k}, new long[] {
                                3, k, n
                            }));
                });
    }

    @Property(tries = 30)
    void matmul(@ForAll("matmuls") GradChecks checks) {
        checks.run();
    }

    /** Leaves x (rank 1 to 3, sizes 1 to 4) and two vectors w, b of x's last size, as the norms take them. */
    record NormLeaves(TensorSpec x, TensorSpec w, TensorSpec b) {}

    @Provide
    Arbitrary<NormLeaves> normLeaves() {
        return rank1to3Leaves().flatMap(x -> {
            Arbitrary<TensorSpec> v = Tensors.of(DType.F64)
                    .withLayouts(LayoutKind.CONTIGUOUS)
                    .withValues(Values.normal())
                    .specs(Shape.of(x.shape().dim(x.shape().rank() - 1)), DType.F64);
            return Combinators.combine(v, v).as((w, b) -> new NormLeaves(x, w, b));
        });
    }

    @Property(tries = 30)
    void softmaxAndNorms(@ForAll("normLeaves") NormLeaves in, @ForAll @IntRange(min = 0, max = 2) int pick) {
        Tensor x0 = in.x().tensor(), w = in.w().tensor(), b = in.b().tensor();
        int d = pick % in.x().shape().rank();
        GradCheck.check("softmax", x -> x[0].softmax(d), x0);
        GradCheck.check("logSoftmax", x -> x[0].logSoftmax(d), x0);
        if (w.numel() > 1) { // a row of one element normalises to 0 with a zero gradient: not informative
            GradCheck.check("layerNorm w b", x -> x[0].layerNorm(x[1], x[2], 1e-5), x0, w, b);
            GradCheck.check("layerNorm plain", x -> x[0].layerNorm(null, null, 1e-5), x0);
            GradCheck.check("layerNorm bias only", x -> x[0].layerNorm(null, x[1], 1e-5), x0, b);
        }
        GradCheck.check("rmsNorm w", x -> x[0].rmsNorm(x[1], 1e-5), x0, w);
        GradCheck.check("rmsNorm plain", x -> x[0].rmsNorm(null, 1e-5), x0);
    }

    /**
     * vocab in [1, 5] and dim in [1, 4]; 1 to 6 ids in [0, vocab) (repeats accumulate), 1 to 5 columns in [0, dim), a
     * gather source of 2 or 3 rows and its 2×3 index in [0, 3).
     */
    record IndexParams(long vocab, long dim, long[] ids, long[] cols, long rows, long[] gather) {
        @Override
        public String toString() {
            return "vocab " + vocab + ", dim " + dim + ", ids " + Arrays.toString(ids) + ", cols "
                    + Arrays.toString(cols) + ", rows " + rows + ", gather " + Arrays.toString(gather);
        }
    }

    private static Arbitrary<long[]> ids(int min, int max, long bound) {
        return Arbitraries.longs()
                .between(0, bound - 1)
                .array(long[].class)
                .ofMinSize(min)
                .ofMaxSize(max);
    }

    @Provide
    Arbitrary<GradChecks> indexing() {
        Arbitrary<IndexParams> params = Combinators.combine(Cases.between(1, 5), Cases.between(1, 4))
                .flatAs((vocab, dim) -> Combinators.combine(
                                ids(1, 6, vocab), ids(1, 5, dim), Cases.between(2, 3), Cases.indices(6, 3))
                        .as((ids, cols, rows, g) -> new IndexParams(vocab, dim, ids, cols, rows, g)));
        return GradChecks.of(params, p -> {
            Tensor idT = Tensor.of(p.ids(), p.ids().length);
            Tensor colT = Tensor.of(p.cols(), p.cols().length);
            Tensor g = Tensor.of(p.gather(), 2, 3);
            return List.of(
                    new Check("embedding", x -> Tensor.embedding(x[0], idT.reshape(1, p.ids().length)), new long[] {
                        p.vocab(), p.dim()
                    }),
                    new Check("indexSelect dim 1", x -> x[0].indexSelect(1, colT), new long[] {2, p.dim()}),
                    new Check("gather", x -> x[0].gather(1, g), new long[] {p.rows(), 3}),
                    new Check(
                            "where", x -> Tensor.where(x[0].gt(0), x[0].mul(2), x[1]), new long[] {3, 2}, new long[] {2
                            }),
                    new Check("maskedFill", x -> x[0].maskedFill(x[0].lt(0), 0.25), new long[] {4}));
        });
    }

    @Property(tries = 30)
    void indexingOps(@ForAll("indexing") GradChecks checks) {
        checks.run();
    }

    @Provide
    Arbitrary<GradChecks> viewCases() {
        return GradChecks.of(
                Combinators.combine(Cases.between(1, 3), Cases.between(2, 4), Cases.between(1, 3))
                        .as(List::of),
                p -> viewChecks(p.get(0), p.get(1), p.get(2)));
    }

    /** Every view op's gradient on leaves of [a, b, c] (b ≥ 2) and a few fixed shapes. */
    private static List<Check> viewChecks(long a, long b, long c) {
        long[] s = {a, b, c};
        return List.of(
                new Check("reshape", x -> x[0].reshape(c, -1), s),
                new Check(
                        "reshape of a permuted view (copies)",
                        x -> x[0].permute(2, 0, 1).reshape(-1),
                        s),
                new Check("permute", x -> x[0].permute(1, 2, 0), s),
                new Check("transpose", x -> x[0].transpose(0, 2), s),
                new Check("narrow", x -> x[0].narrow(1, 1, b - 1), s),
                new Check("slice with step", x -> x[0].slice(1, 0, b, 2), s),
                new Check("select", x -> x[0].select(1, b - 1), s),
                new Check("expand", x -> x[0].expand(2, a, b, c), s),
                new Check("expand size-1 dim", x -> x[0].expand(3, 4), new long[] {3, 1}),
                new Check("squeeze/unsqueeze", x -> x[0].unsqueeze(1).squeeze(1).unsqueeze(-1), s),
                new Check("squeeze all", x -> x[0].squeeze(), new long[] {1, b, 1}),
                new Check("contiguous of a transpose", x -> x[0].transpose(0, 1).contiguous(), s),
                new Check("flatten", x -> x[0].flatten(), s),
                new Check("cat", x -> Tensor.cat(List.of(x[0], x[1].mul(2)), 1), s, new long[] {a, 2, c}),
                new Check("stack", x -> Tensor.stack(List.of(x[0], x[1]), 0), s, s),
                new Check("split + cat", x -> Tensor.cat(x[0].split(1, 1), 2), s));
    }

    @Property(tries = 30)
    void views(@ForAll("viewCases") GradChecks checks) {
        checks.run();
    }

    @Test
    void dtypeConversionPassesTheGradientBackInTheInputType() {
        Tensor x = Tensor.of(new double[] {1, 2, 3}, 3).requiresGrad(true);
        x.to(DType.F32).mul(2).sum().backward();
        assertEquals(DType.F64, x.grad().dtype());
        assertArrayEquals(new double[] {2, 2, 2}, x.grad().toDoubleArray());
    }

    @Test
    void gradientsAccumulateOverBackwardCalls() {
        Tensor x = Tensor.of(new double[] {1, -2}, 2).requiresGrad(true);
        x.mul(x).sum().backward();
        x.mul(3).sum().backward();
        assertArrayEquals(new double[] {2 + 3, -4 + 3}, x.grad().toDoubleArray());
        x.zeroGrad();
        assertNull(x.grad());
        x.sum().backward();
        assertArrayEquals(new double[] {1, 1}, x.grad().toDoubleArray());
    }

    @Test
    void aTensorUsedTwiceSumsBothPaths() {
        Tensor x = Tensor.of(new double[] {3}, 1).requiresGrad(true);
        Tensor y = x.mul(x).add(x.exp()).add(x);
        y.sum().backward();
        assertEquals(2 * 3 + Math.exp(3) + 1, x.grad().item(), 1e-12);
    }

    @Test
    void detachAndNoGradStopRecording() throws Exception {
        Tensor x = Tensor.of(new double[] {1, 2}, 2).requiresGrad(true);
        Tensor d = x.detach();
        assertFalse(d.requiresGrad());
        assertEquals(x.storage(), d.storage());
        try (var ng = Autograd.noGrad()) {
            Tensor y = x.mul(2);
            assertFalse(y.requiresGrad());
            assertNull(y.gradFn());
        }
        assertTrue(x.mul(2).requiresGrad());
        Tensor z = x.mul(d).sum(); // d is a constant
        z.backward();
        assertArrayEquals(new double[] {1, 2}, x.grad().toDoubleArray());
        assertThrows(
                IllegalStateException.class,
                () -> Tensor.of(new double[] {1}, 1).sum().backward());
        assertThrows(IllegalStateException.class, () -> x.mul(2).backward(), "non-scalar without an explicit gradient");
    }

    @Test
    void leafHookRunsOncePerLeafAfterItsGradientIsComplete() {
        Tensor a = Tensor.of(new double[] {1, 2}, 2).requiresGrad(true);
        Tensor b = Tensor.of(new double[] {3, 4}, 2).requiresGrad(true);
        // a feeds three paths; its hook must see the sum of all three, once
        Tensor y = a.mul(b).add(a.mul(a)).add(a).sum();
        Map<Tensor, Integer> calls = new IdentityHashMap<>();
        Map<Tensor, double[]> seen = new IdentityHashMap<>();
        Autograd.backward(y, Tensor.full(DType.F64, 1.0), (leaf, g) -> {
            calls.merge(leaf, 1, Integer::sum);
            seen.put(leaf, g.toDoubleArray());
        });
        assertEquals(1, calls.get(a));
        assertEquals(1, calls.get(b));
        assertArrayEquals(new double[] {3 + 2 + 1, 4 + 4 + 1}, seen.get(a));
        assertArrayEquals(new double[] {1, 2}, seen.get(b));
        assertNull(a.grad(), "a hook replaces accumulation");
    }
}
