package dev.panthera.nn.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.simd.GemmConfig;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.FusedKernels;
import dev.panthera.tensor.spi.FusedKernels.AdamWStep;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Scale;
import org.junit.jupiter.api.Test;

/**
 * The one-pass AdamW update against the tensor-op sequence it replaces ({@code p.mul_}, {@code m.lerp_},
 * {@code v.mul_.addcmul_}, {@code v.sqrt().div_().add_()}, {@code p.addcdiv_}), run here on the same inputs: both
 * round every element at the same points, so the results must agree bit for bit. Both forms of the pass are checked:
 * the backend's fused kernel (the Vector API backend's lanes, which these tests run on) and the scalar loop over heap
 * copies that a backend without the kernel gets. The op sequence itself is checked against torch.optim.AdamW by
 * OptimizersTest.
 */
class AdamWKernelTest {

    /** The op sequence AdamW ran before the fused kernel, on copies of the state. */
    private static Tensor[] composed(
            Tensor p, Tensor g, Tensor m, Tensor v, double lr, double b1, double b2, double eps, double wd, long t) {
        try (var _ = Autograd.noGrad()) {
            p = p.copy();
            m = m.copy();
            v = v.copy();
            if (wd != 0) p.mul_(1 - lr * wd);
            m.lerp_(g, 1 - b1);
            v.mul_(b2).addcmul_(g, g, 1 - b2);
            double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
            Tensor denom = v.sqrt().div_(Math.sqrt(bc2)).add_(eps);
            p.addcdiv_(m, denom, -lr / bc1);
            return new Tensor[] {p, m, v};
        }
    }

    /** The one-pass update on copies of the state: the backend's kernel, or the heap loop where {@code heap}. */
    private static Tensor[] fused(
            Tensor p,
            Tensor g,
            Tensor m,
            Tensor v,
            double lr,
            double b1,
            double b2,
            double eps,
            double wd,
            long t,
            boolean heap) {
        p = p.copy();
        m = m.copy();
        v = v.copy();
        assertTrue(AdamWKernel.applies(p, g, m, v));
        double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
        var s = new AdamWStep(wd != 0 ? 1 - lr * wd : 1, 1 - b1, b2, 1 - b2, Math.sqrt(bc2), eps, -lr / bc1);
        if (heap) AdamWKernel.onHeap(p, g, m, v, s);
        else AdamWKernel.step(p, g, m, v, s);
        return new Tensor[] {p, m, v};
    }

    @Test
    void theBackendOffersTheFusedKernel() {
        var fused = Backends.forDevice(Device.CPU).fused();
        assertTrue(
                fused != null && fused.supports(FusedKernels.Kernel.ADAMW, DType.F32),
                "the CPU backend of these tests (" + Backends.forDevice(Device.CPU) + ") has no fused AdamW");
    }

    /**
     * The length n, the parameter's offset into its buffer, and the values: the parameter's buffer (n + offset), the
     * gradient, m and v of n, drawn N(0, 1) and scaled as an optimizer sees them (g·0.1, m·0.01, |v|·0.001).
     */
    record State(int n, int offset, float[] p, float[] g, float[] m, float[] v) {
        @Override
        public String toString() {
            return "n=" + n + " offset=" + offset
                    + (n + offset <= 32
                            ? " p=" + Arrays.toString(p) + " g=" + Arrays.toString(g) + " m=" + Arrays.toString(m)
                                    + " v=" + Arrays.toString(v)
                            : "");
        }
    }

    private static Arbitrary<float[]> normals(int n, double scale, boolean abs) {
        return Values.normal().list().ofSize(n).map(l -> {
            float[] out = new float[l.size()];
            for (int i = 0; i < out.length; i++) {
                double x = l.get(i) * scale;
                out[i] = (float) (abs ? Math.abs(x) : x);
            }
            return out;
        });
    }

    /** The size and offset are drawn before the values, so a failure shrinks to a short vector first. */
    @Provide
    Arbitrary<State> states() {
        Arbitrary<Tuple.Tuple2<Integer, Integer>> sizes = Combinators.combine(
                        sizes(), Arbitraries.integers().between(0, 5))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            int n = t.get1(), offset = t.get2();
            return Combinators.combine(
                            normals(n + offset, 1, false),
                            normals(n, 0.1, false),
                            normals(n, 0.01, false),
                            normals(n, 0.001, true))
                    .as((p, g, m, v) -> new State(n, offset, p, g, m, v));
        });
    }

    /**
     * Sizes 0, 1, primes and lengths around the chunks of 2048 (heap loop) and 4096 (backend) elements and the vector
     * widths; β1 on both sides of 0.5 (lerp's two forms); the parameter as an offset view into a larger buffer; a later
     * step t; either form of the pass.
     */
    @Property(tries = 60)
    void oneSweepEqualsTheOpSequenceBitForBit(
            @ForAll("states") State s,
            @ForAll @Scale(12) @DoubleRange(min = 1e-4, max = 0.1) double lr,
            @ForAll @Scale(12) @DoubleRange(min = 0, max = 0.99) double b1,
            @ForAll @Scale(12) @DoubleRange(min = 0.9, max = 0.9999) double b2,
            @ForAll @Scale(12) @DoubleRange(min = 1e-10, max = 1e-3) double eps,
            @ForAll @Scale(12) @DoubleRange(min = 0, max = 0.2) double wd,
            @ForAll @IntRange(min = 1, max = 500) int t,
            @ForAll boolean heap) {
        int n = s.n();
        Tensor p = Tensor.of(s.p(), n + s.offset()).narrow(0, s.offset(), n);
        Tensor g = Tensor.of(s.g(), n), m = Tensor.of(s.m(), n), v = Tensor.of(s.v(), n);
        Tensor[] want = composed(p, g, m, v, lr, b1, b2, eps, wd, t);
        Tensor[] got = fused(p, g, m, v, lr, b1, b2, eps, wd, t, heap);
        assertSameBits(want, got);
    }

    /** p, m and v of the two paths, bit for bit. */
    private static void assertSameBits(Tensor[] want, Tensor[] got) {
        for (int i = 0; i < 3; i++)
            assertArrayEquals(
                    want[i].toFloatArray(),
                    got[i].toFloatArray(),
                    0f,
                    List.of("p", "m", "v").get(i));
    }

    @Provide
    Arbitrary<Integer> sizes() {
        return Arbitraries.oneOf(
                Arbitraries.of(0, 1, 2, 3, 7, 13, 15, 16, 17, 31, 33, 2047, 2048, 2049, 4095, 4096, 4097, 4099, 8193),
                Arbitraries.integers().between(0, 5000));
    }

    /**
     * A parameter of 42 heap-loop chunks (21 of the backend's; the last one partial) with two threads allowed: the
     * chunks are split into ranges over GEMM's threads, and every element still gets the op sequence's bits.
     */
    @Test
    void chunksSplitAcrossThreadsGiveTheOpSequencesBits() {
        int n = 41 * 2048 + 1013;
        Tensor p = Tensor.randn(Shape.of(n), 21),
                g = Tensor.randn(Shape.of(n), 22).mul(0.1);
        Tensor m = Tensor.randn(Shape.of(n), 23).mul(0.01),
                v = Tensor.randn(Shape.of(n), 24).abs().mul(0.001);
        Tensor[] want = composed(p, g, m, v, 3e-3, 0.9, 0.999, 1e-8, 0.01, 7);
        for (boolean heap : new boolean[] {false, true}) {
            Tensor[] got;
            try (var threads = GemmConfig.of(2).use()) {
                got = fused(p, g, m, v, 3e-3, 0.9, 0.999, 1e-8, 0.01, 7, heap);
            }
            assertSameBits(want, got);
        }
    }

    @Test
    void leavesStridedOtherDtypesAndAliasedGradientsToTheOps() {
        Tensor w = Tensor.randn(Shape.of(3, 5), 1), g = Tensor.randn(Shape.of(3, 5), 2);
        Tensor m = Tensor.zerosLike(w), v = Tensor.zerosLike(w);
        assertTrue(AdamWKernel.applies(w, g, m, v));
        assertFalse(AdamWKernel.applies(w, g.t().contiguous().t(), m, v), "a transposed gradient");
        assertFalse(AdamWKernel.applies(w.to(DType.F64), g.to(DType.F64), m.to(DType.F64), v.to(DType.F64)), "F64");
        assertFalse(AdamWKernel.applies(w, w, m, v), "the gradient in the parameter's storage");
        assertFalse(AdamWKernel.applies(w, g.reshape(5, 3), m, v), "another shape");
    }

    /** AdamW takes both paths and they agree: a transposed-view gradient goes through the ops, a dense one fused. */
    @Test
    void adamWGivesTheSameStepOnEitherPath() {
        Tensor a = Tensor.randn(Shape.of(7, 11), 3).requiresGrad(true);
        Tensor b = Tensor.randn(Shape.of(7, 11), 3).requiresGrad(true);
        AdamW oa = new AdamW(List.of(a), 1e-2), ob = new AdamW(List.of(b), 1e-2);
        for (int s = 0; s < 3; s++) {
            Tensor g = Tensor.randn(Shape.of(11, 7), 10 + s);
            a.setGrad(g.t().contiguous()); // dense: the fused kernel
            b.setGrad(g.t()); // a transposed view: the op sequence
            oa.step();
            ob.step();
            assertArrayEquals(b.toFloatArray(), a.toFloatArray(), 0f, "step " + s);
        }
    }
}
