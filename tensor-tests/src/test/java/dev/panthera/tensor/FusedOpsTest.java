package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.CountingBackend;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.TensorSpec;
import java.util.Arrays;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/**
 * The fused ops' forwards on the reference backend (its kernels) against their compositions from primitives, on
 * random shapes: Lq ≠ Lk, GQA groups 1, 2 and 4, size-1 and size-0 dims, head dims that are not a multiple of a
 * vector width, masks, and q/k/v as the attention layer makes them (a [B, T, H, D] projection transposed to
 * [B, H, T, D]). Both sides compute in float64 from the same inputs; the kernel sums in another order than the
 * composition (and, for attention, normalises by exp(s − lse) instead of dividing by the sum), so they differ by a
 * few ulps of the largest intermediate: 1e-12 absolute and relative is hundreds of ulps above that and far below
 * any real error.
 */
class FusedOpsTest {
    private static final double TOL = 1e-12;

    /**
     * A [b, h, t, d] tensor laid out as the attention layer makes it: a contiguous [b, t, h, d] transposed to
     * [b, h, t, d] ({@code projected}), or a plain [b, h, t, d] in any layout the kit draws.
     */
    record Heads(boolean projected, TensorSpec spec) {
        static Arbitrary<Heads> draw(long b, long h, long t, long d) {
            return Arbitraries.of(true, false)
                    .flatMap(projected -> (projected
                                    ? Cases.contiguous(DType.F64, b, t, h, d)
                                    : Cases.anyLayout(DType.F64, b, h, t, d))
                            .map(s -> new Heads(projected, s)));
        }

        Tensor tensor() {
            return projected ? spec.tensor().transpose(1, 2) : spec.tensor();
        }

        @Override
        public String toString() {
            return (projected ? "[b, t, h, d] transposed: " : "") + spec;
        }
    }

    /**
     * An attention mask: none, a BOOL padding mask from one pad count per batch row ({@link #paddingMask}), or an
     * additive F64 [b, 1, lq, lk] mask of N(0, 1) values.
     */
    record Mask(int kind, long[] pads, TensorSpec additive) {
        static final int NONE = 0, PADDING = 1, ADDITIVE = 2;

        /** No mask {@code noneWeight} times in noneWeight + 2, else padding or additive equally (shrinks to none). */
        static Arbitrary<Mask> draw(AttentionSizes s, int noneWeight) {
            return Arbitraries.frequencyOf(
                    Tuple.of(noneWeight, Arbitraries.just(new Mask(NONE, null, null))),
                    Tuple.of(1, Cases.indices((int) s.b(), s.lk()).map(p -> new Mask(PADDING, p, null))),
                    Tuple.of(
                            1,
                            Cases.contiguous(DType.F64, s.b(), 1, s.lq(), s.lk())
                                    .map(a -> new Mask(ADDITIVE, null, a))));
        }

        Tensor tensor(AttentionSizes s) {
            return switch (kind) {
                case PADDING -> paddingMask(pads, s.b(), s.lq(), s.lk());
                case ADDITIVE -> additive.tensor();
                default -> null;
            };
        }

        @Override
        public String toString() {
            return switch (kind) {
                case PADDING -> "padding " + Arrays.toString(pads);
                case ADDITIVE -> "additive " + additive;
                default -> "no mask";
            };
        }
    }

    /** A random attention problem: q, k, v, a mask (BOOL padding, additive, or none), causal or not, 1/√d. */
    static final class Problem {
        final AttentionSizes sizes;
        final Heads qs, ks, vs;
        final Mask maskSpec;
        final Tensor q, k, v, mask;
        final boolean causal;
        final double scale;

        Problem(AttentionSizes sizes, Heads q, Heads k, Heads v, Mask mask) {
            this.sizes = sizes;
            this.qs = q;
            this.ks = k;
            this.vs = v;
            this.maskSpec = mask;
            this.q = q.tensor();
            this.k = k.tensor();
            this.v = v.tensor();
            this.mask = mask.tensor(sizes);
            this.causal = sizes.causal();
            this.scale = 1 / Math.sqrt(sizes.d());
        }

        /**
         * b, hkv in [1, 2], groups 1, 2 or 4, lk up to 8, d up to 17, dv in [1, 9]; no mask {@code noneWeight} times
         * in noneWeight + 2.
         */
        static Arbitrary<Problem> draw(int noneWeight) {
            Arbitrary<AttentionSizes> sizes = AttentionSizes.draw(
                    Cases.between(1, 2),
                    Cases.between(1, 2),
                    Cases.oneOf(1, 2, 4),
                    Cases.size(8),
                    Cases.size(17),
                    Cases.between(1, 9));
            return SizesFirst.flatMap(
                    sizes,
                    s -> Combinators.combine(
                                    Heads.draw(s.b(), s.hq(), s.lq(), s.d()),
                                    Heads.draw(s.b(), s.hkv(), s.lk(), s.d()),
                                    Heads.draw(s.b(), s.hkv(), s.lk(), s.dv()),
                                    Mask.draw(s, noneWeight))
                            .as((q, k, v, m) -> new Problem(s, q, k, v, m)));
        }

        Tensor q() {
            return q;
        }

        Tensor k() {
            return k;
        }

        Tensor v() {
            return v;
        }

        Tensor mask() {
            return mask;
        }

        boolean causal() {
            return causal;
        }

        double scale() {
            return scale;
        }

        Tensor fused() {
            return Tensor.scaledDotProductAttention(q, k, v, mask, causal, scale);
        }

        /** The composition with the mask made additive by hand (true keeps a key, as in PyTorch). */
        Tensor composed() {
            Tensor add = null;
            if (mask != null) {
                add = mask.dtype() == DType.BOOL
                        ? Tensor.where(
                                mask,
                                Tensor.zeros(DType.F64, Shape.scalar()),
                                Tensor.full(DType.F64, Double.NEGATIVE_INFINITY))
                        : mask;
                add = add.expand(q.size(0), q.size(1), q.size(2), k.size(2));
            }
            return Composed.attention(q, k, v, add, causal, scale);
        }

        @Override
        public String toString() {
            return sizes + "\n  q " + qs + "\n  k " + ks + "\n  v " + vs + "\n  " + maskSpec;
        }
    }

    /**
     * A BOOL [b, 1, lq, lk] padding mask: batch row bi hides its first pads[bi] keys (left padding, pads[bi] < lk) but
     * every query (the last lq positions) keeps its own position's key, so no query loses every key.
     */
    static Tensor paddingMask(long[] pads, long b, long lq, long lk) {
        boolean[] m = new boolean[(int) (b * lq * lk)];
        for (int bi = 0; bi < b; bi++) {
            long pad = pads[bi];
            for (int i = 0; i < lq; i++)
                for (int j = 0; j < lk; j++) m[(int) ((bi * lq + i) * lk + j)] = j >= pad || j == i + lk - lq;
        }
        return Tensor.of(m, b, 1, lq, lk);
    }

    @Provide
    Arbitrary<Problem> problemsMaskedOneInThree() {
        return Problem.draw(4);
    }

    @Property(tries = 80)
    void attentionKernelMatchesItsComposition(@ForAll("problemsMaskedOneInThree") Problem p) {
        Tensor fused = p.fused();
        assertArrayEquals(new long[] {p.q().size(0), p.q().size(1), p.q().size(2), p.v().size(3)}, fused.dims());
        Oracle.assertClose(
                Oracle.values(p.composed()),
                Oracle.values(fused),
                TOL,
                TOL,
                "attention " + p.q().shape() + " " + p.k().shape());
        if (p.mask() == null) {
            Oracle.assertClose(
                    RopeAttentionTest.attentionLoop(p.q(), p.k(), p.v(), p.causal(), p.scale()),
                    Oracle.values(fused),
                    TOL,
                    TOL,
                    "attention vs the float64 loop");
        }
    }

    /** Inputs of every fused op: an attention problem (masked half the time), x and its norm weight w, a dim, RoPE's xr. */
    record AllOps(Problem p, TensorSpec x, TensorSpec w, int dim, TensorSpec xr, boolean interleaved) {}

    @Provide
    Arbitrary<AllOps> allOps() {
        Arbitrary<AllOps> rest = Cases.shape(1, 3)
                .flatMap(shape -> Combinators.combine(
                                Cases.anyLayout(DType.F64, shape),
                                Cases.contiguous(DType.F64, shape[shape.length - 1]),
                                Cases.choice(shape.length),
                                Cases.anyLayout(DType.F64, 2, 3, 6),
                                Arbitraries.of(false, true))
                        .as((x, w, dim, xr, il) -> new AllOps(null, x, w, dim, xr, il)));
        return Combinators.combine(Problem.draw(2), rest)
                .as((p, o) -> new AllOps(p, o.x(), o.w(), o.dim(), o.xr(), o.interleaved()));
    }

    @Property(tries = 40)
    void everyFusedOpMatchesItsCompositionWithoutFusedKernels(@ForAll("allOps") AllOps in) {
        // the same public ops on a backend that offers no fused kernels take the composition path in Fused
        Problem p = in.p();
        Tensor x = in.x().tensor(), w = in.w().tensor(), xr = in.xr().tensor();
        int dim = in.dim();
        boolean interleaved = in.interleaved();
        Tensor[] cs = RopeAttentionTest.tables(3, 6);
        java.util.function.Supplier<double[][]> all = () -> new double[][] {
            Oracle.values(p.fused()),
            Oracle.values(x.softmax(dim)),
            Oracle.values(x.logSoftmax(dim)),
            Oracle.values(x.layerNorm(w, w.mul(0.5), 1e-5)),
            Oracle.values(x.rmsNorm(w, 1e-6)),
            Oracle.values(xr.rope(cs[0], cs[1], interleaved))
        };
        double[][] kernels = all.get();
        CountingBackend none = CountingBackend.primitivesOf(ReferenceBackend.INSTANCE);
        double[][] composed;
        try (Handle use = Backends.use(none.backend())) {
            composed = all.get();
        }
        for (int i = 0; i < kernels.length; i++) Oracle.assertClose(kernels[i], composed[i], TOL, TOL, "op " + i);
    }

    /** b in [1, 2], h up to 7, t up to 17, an even d up to 34, and x as the layer makes it. */
    @Provide
    Arbitrary<Heads> ropeInputs() {
        return Combinators.combine(Cases.between(1, 2), Cases.size(7), Cases.size(17), Cases.size(17))
                .flatAs((b, h, t, half) -> Heads.draw(b, h, t, 2 * half));
    }

    @Property(tries = 40)
    void ropeKernelMatchesItsCompositionOnViews(@ForAll("ropeInputs") Heads in) {
        Tensor x = in.tensor();
        long t = x.size(2), d = x.size(3);
        Tensor[] cs = RopeAttentionTest.tables(t + 3, d);
        Tensor c = cs[0].narrow(0, 3, t), s = cs[1].narrow(0, 3, t); // table rows for positions 3.. (a cache)
        for (boolean interleaved : new boolean[] {true, false}) {
            Oracle.assertClose(
                    Oracle.values(Composed.rope(x, c, s, interleaved)),
                    Oracle.values(x.rope(c, s, interleaved)),
                    TOL,
                    TOL,
                    "rope " + x.shape() + (interleaved ? " interleaved" : " half"));
        }
    }

    /** x of rank 1 to 4 in any layout, weight and bias of its last size in any layout, a dim of x. */
    record NormInputs(TensorSpec x, TensorSpec w, TensorSpec bias, int dim) {}

    @Provide
    Arbitrary<NormInputs> normInputs() {
        return Cases.shape(1, 4).flatMap(shape -> {
            long n = shape[shape.length - 1];
            return Combinators.combine(
                            Cases.anyLayout(DType.F64, shape),
                            Cases.anyLayout(DType.F64, n),
                            Cases.anyLayout(DType.F64, n),
                            Cases.choice(shape.length))
                    .as(NormInputs::new);
        });
    }

    @Property(tries = 40)
    void normAndSoftmaxKernelsMatchTheirCompositions(@ForAll("normInputs") NormInputs in) {
        Tensor x = in.x().tensor(), w = in.w().tensor(), bias = in.bias().tensor();
        int dim = in.dim();
        Oracle.assertClose(
                Oracle.values(Composed.softmax(x, dim, false)), Oracle.values(x.softmax(dim)), TOL, TOL, "softmax");
        Oracle.assertClose(
                Oracle.values(Composed.softmax(x, dim, true)),
                Oracle.values(x.logSoftmax(dim)),
                TOL,
                TOL,
                "logSoftmax");
        Oracle.assertClose(
                Oracle.values(Composed.layerNorm(x, w, bias, 1e-5)),
                Oracle.values(x.layerNorm(w, bias, 1e-5)),
                TOL,
                TOL,
                "layerNorm");
        Oracle.assertClose(
                Oracle.values(Composed.layerNorm(x, null, null, 1e-5)),
                Oracle.values(x.layerNorm(null, null, 1e-5)),
                TOL,
                TOL,
                "layerNorm");
        Oracle.assertClose(
                Oracle.values(Composed.rmsNorm(x, w, 1e-6)), Oracle.values(x.rmsNorm(w, 1e-6)), TOL, TOL, "rmsNorm");
    }

    @Test
    void sizeZeroDimsGiveEmptyResults() {
        for (var be : new dev.panthera.tensor.spi.Backend[] {
            ReferenceBackend.INSTANCE,
            CountingBackend.primitivesOf(ReferenceBackend.INSTANCE).backend()
        }) {
            try (Handle use = Backends.use(be)) {
                Tensor q = Tensor.zeros(DType.F64, Shape.of(2, 4, 0, 3)).requiresGrad(true),
                        k = Tensor.zeros(DType.F64, Shape.of(2, 2, 5, 3));
                Tensor v = Tensor.zeros(DType.F64, Shape.of(2, 2, 5, 7));
                Tensor o = Tensor.scaledDotProductAttention(q, k, v, true, 1);
                assertArrayEquals(new long[] {2, 4, 0, 7}, o.dims(), be.name());
                o.sum().backward();
                assertArrayEquals(new long[] {2, 4, 0, 3}, q.grad().dims(), be.name());
                Tensor empty = Tensor.zeros(DType.F64, Shape.of(0, 6));
                assertEquals(0, empty.softmax(-1).numel());
                assertEquals(0, empty.layerNorm(null, null, 1e-5).numel());
                assertEquals(0, empty.rmsNorm(null, 1e-6).numel());
                Tensor[] cs = RopeAttentionTest.tables(0, 6);
                Tensor x = Tensor.zeros(DType.F64, Shape.of(2, 0, 6));
                assertEquals(0, x.rope(cs[0], cs[1], true).numel());
                assertEquals(0, x.rope(cs[0], cs[1], false).numel());
            }
        }
    }

    @Test
    void aMaskThatDoesNotBroadcastOrRequiresGradIsRejected() {
        Tensor q = Tensor.zeros(1, 2, 3, 4), k = Tensor.zeros(1, 1, 5, 4);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Tensor.scaledDotProductAttention(q, k, k, Tensor.zeros(1, 1, 3, 4), false, 1));
        assertTrue(
                e.getMessage().contains("scaledDotProductAttention")
                        && e.getMessage().contains("[1, 1, 3, 4]")
                        && e.getMessage().contains("[1, 2, 3, 5]"),
                e.getMessage());
        Tensor m = Tensor.zeros(1, 1, 3, 5).requiresGrad(true),
                qg = Tensor.zeros(1, 2, 3, 4).requiresGrad(true);
        e = assertThrows(IllegalArgumentException.class, () -> Tensor.scaledDotProductAttention(qg, k, k, m, false, 1));
        assertTrue(e.getMessage().contains("mask") && e.getMessage().contains("gradient"), e.getMessage());
    }
}
