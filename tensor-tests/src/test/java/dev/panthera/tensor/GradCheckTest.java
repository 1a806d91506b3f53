package dev.panthera.tensor;

import static dev.panthera.tensor.Seeded.gradCheck;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.testing.GradCheck;
import dev.panthera.testing.LayoutKind;
import dev.panthera.testing.Shapes;
import dev.panthera.testing.TensorSpec;
import dev.panthera.testing.Tensors;
import dev.panthera.testing.Values;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
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

    private static long[] small(Random r, int minRank, int maxRank) {
        int rank = minRank + r.nextInt(maxRank - minRank + 1);
        long[] s = new long[rank];
        for (int i = 0; i < rank; i++) s[i] = 1 + r.nextInt(4);
        return s;
    }

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

    @Property(tries = 40)
    void binaryOpsWithBroadcasting(@ForAll long seed) {
        Random r = new Random(seed);
        long[][] sh = OpsAgainstFloat64Test.broadcastPair(r);
        for (int i = 0; i < sh.length; i++) for (int j = 0; j < sh[i].length; j++) sh[i][j] = Math.min(sh[i][j], 4);
        long[] a = sh[0], b = sh[1];
        gradCheck("add", r, x -> x[0].add(x[1]), a, b);
        gradCheck("sub", r, x -> x[0].sub(x[1]), a, b);
        gradCheck("mul", r, x -> x[0].mul(x[1]), a, b);
        gradCheck("div", r, x -> x[0].div(x[1].mul(x[1]).add(0.5)), a, b);
        gradCheck("pow", r, x -> x[0].mul(x[0]).add(0.5).pow(x[1]), a, b);
        gradCheck("pow scalar", r, x -> x[0].pow(3), a);
        gradCheck("maximum", r, x -> x[0].maximum(x[1]), a, b);
        gradCheck("minimum", r, x -> x[0].minimum(x[1]), a, b);
        gradCheck("scalar ops", r, x -> x[0].add(2).sub(1).mul(3).div(4), a);
    }

    /**
     * The seed that failed under the old fixed tolerance 1e-6·max(1, |g|): pow's d/dx0[0] ≈ −1.17758 with
     * |Σ w·f| ≈ 3e4, whose rounding the old whole-sum difference carried at ε·3e4/h ≈ 8e-6.
     */
    @Example
    void binaryOpsSeed42603() {
        binaryOpsWithBroadcasting(42603);
    }

    /** The checker can fail: x·detach(x) has analytic gradient x where the true derivative of x² is 2x. */
    @Example
    void aWrongGradientIsRejected() {
        AssertionError e = assertThrows(
                AssertionError.class,
                () -> gradCheck("x·detach(x)", new Random(7), x -> x[0].mul(x[0].detach()), new long[] {3}));
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

    @Property(tries = 30)
    void matmul(@ForAll long seed) {
        Random r = new Random(seed);
        long m = 1 + r.nextInt(3), k = 1 + r.nextInt(4), n = 1 + r.nextInt(3);
        gradCheck("matmul 2d", r, x -> x[0].matmul(x[1]), new long[] {m, k}, new long[] {k, n});
        gradCheck("matmul transposed operand", r, x -> x[0].matmul(x[1].t()), new long[] {m, k}, new long[] {n, k});
        gradCheck("matmul 1d·2d", r, x -> x[0].matmul(x[1]), new long[] {k}, new long[] {k, n});
        gradCheck("matmul 2d·1d", r, x -> x[0].matmul(x[1]), new long[] {m, k}, new long[] {k});
        gradCheck("dot", r, x -> x[0].matmul(x[1]), new long[] {k}, new long[] {k});
        gradCheck("batched broadcast", r, x -> x[0].matmul(x[1]), new long[] {2, 1, m, k}, new long[] {3, k, n});
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

    @Property(tries = 30)
    void indexingOps(@ForAll long seed) {
        Random r = new Random(seed);
        long vocab = 1 + r.nextInt(5), dim = 1 + r.nextInt(4);
        long[] ids = new long[1 + r.nextInt(6)];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt((int) vocab); // repeats accumulate
        Tensor idT = Tensor.of(ids, ids.length);
        gradCheck("embedding", r, x -> Tensor.embedding(x[0], idT.reshape(1, ids.length)), new long[] {vocab, dim});
        long[] cols = new long[1 + r.nextInt(5)];
        for (int i = 0; i < cols.length; i++) cols[i] = r.nextInt((int) dim);
        Tensor colT = Tensor.of(cols, cols.length);
        gradCheck("indexSelect dim 1", r, x -> x[0].indexSelect(1, colT), new long[] {2, dim});
        long[] s = {2 + r.nextInt(2), 3};
        long[] gi = new long[6];
        for (int i = 0; i < gi.length; i++) gi[i] = r.nextInt(3);
        Tensor g = Tensor.of(gi, 2, 3);
        gradCheck("gather", r, x -> x[0].gather(1, g), s);
        gradCheck("where", r, x -> Tensor.where(x[0].gt(0), x[0].mul(2), x[1]), new long[] {3, 2}, new long[] {2});
        gradCheck("maskedFill", r, x -> x[0].maskedFill(x[0].lt(0), 0.25), new long[] {4});
    }

    @Property(tries = 30)
    void views(@ForAll long seed) {
        Random r = new Random(seed);
        long a = 1 + r.nextInt(3), b = 2 + r.nextInt(3), c = 1 + r.nextInt(3);
        long[] s = {a, b, c};
        gradCheck("reshape", r, x -> x[0].reshape(c, -1), s);
        gradCheck(
                "reshape of a permuted view (copies)",
                r,
                x -> x[0].permute(2, 0, 1).reshape(-1),
                s);
        gradCheck("permute", r, x -> x[0].permute(1, 2, 0), s);
        gradCheck("transpose", r, x -> x[0].transpose(0, 2), s);
        gradCheck("narrow", r, x -> x[0].narrow(1, 1, b - 1), s);
        gradCheck("slice with step", r, x -> x[0].slice(1, 0, b, 2), s);
        gradCheck("select", r, x -> x[0].select(1, b - 1), s);
        gradCheck("expand", r, x -> x[0].expand(2, a, b, c), s);
        gradCheck("expand size-1 dim", r, x -> x[0].expand(3, 4), new long[] {3, 1});
        gradCheck("squeeze/unsqueeze", r, x -> x[0].unsqueeze(1).squeeze(1).unsqueeze(-1), s);
        gradCheck("squeeze all", r, x -> x[0].squeeze(), new long[] {1, b, 1});
        gradCheck("contiguous of a transpose", r, x -> x[0].transpose(0, 1).contiguous(), s);
        gradCheck("flatten", r, x -> x[0].flatten(), s);
        gradCheck("cat", r, x -> Tensor.cat(List.of(x[0], x[1].mul(2)), 1), s, new long[] {a, 2, c});
        gradCheck("stack", r, x -> Tensor.stack(List.of(x[0], x[1]), 0), s, s);
        gradCheck("split + cat", r, x -> Tensor.cat(x[0].split(1, 1), 2), s);
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
