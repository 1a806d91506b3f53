package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.CountingBackend;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
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

    /** A [b, h, t, d] tensor laid out as the attention layer makes it: [b, t, h, d] transposed, or a plain view. */
    static Tensor heads(Random r, long b, long h, long t, long d) {
        if (r.nextBoolean())
            return Seeded.normal(r, new long[] {b, t, h, d}, DType.F64).transpose(1, 2);
        return Seeded.random(r, new long[] {b, h, t, d}, DType.F64);
    }

    /** A random attention problem: q, k, v, a mask (BOOL padding, additive, or none), causal or not, 1/√d. */
    record Problem(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        static Problem random(Random r, boolean withMask) {
            long[] groups = {1, 2, 4};
            long b = 1 + r.nextInt(2), hkv = 1 + r.nextInt(2), group = groups[r.nextInt(3)];
            long lk = Seeded.size(r, 8), d = Seeded.size(r, 17), dv = 1 + r.nextInt(9);
            long lq = r.nextBoolean() ? lk : 1 + r.nextInt((int) lk); // prefill, or the last few positions
            boolean causal = r.nextBoolean();
            Tensor q = heads(r, b, hkv * group, lq, d), k = heads(r, b, hkv, lk, d), v = heads(r, b, hkv, lk, dv);
            Tensor mask = null;
            if (withMask)
                mask = r.nextBoolean()
                        ? paddingMask(r, b, lq, lk)
                        : Seeded.normal(r, new long[] {b, 1, lq, lk}, DType.F64);
            return new Problem(q, k, v, mask, causal, 1 / Math.sqrt(d));
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
    }

    /**
     * A BOOL [b, 1, lq, lk] padding mask: each batch row hides a random number of leading keys (left padding) but
     * every query (the last lq positions) keeps its own position's key, so no query loses every key.
     */
    static Tensor paddingMask(Random r, long b, long lq, long lk) {
        boolean[] m = new boolean[(int) (b * lq * lk)];
        for (int bi = 0; bi < b; bi++) {
            int pad = r.nextInt((int) lk);
            for (int i = 0; i < lq; i++)
                for (int j = 0; j < lk; j++) m[(int) ((bi * lq + i) * lk + j)] = j >= pad || j == i + lk - lq;
        }
        return Tensor.of(m, b, 1, lq, lk);
    }

    @Property(tries = 80)
    void attentionKernelMatchesItsComposition(@ForAll long seed) {
        Random r = new Random(seed);
        Problem p = Problem.random(r, r.nextInt(3) == 0);
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

    @Property(tries = 40)
    void everyFusedOpMatchesItsCompositionWithoutFusedKernels(@ForAll long seed) {
        // the same public ops on a backend that offers no fused kernels take the composition path in Fused
        Random r = new Random(seed);
        Problem p = Problem.random(r, r.nextBoolean());
        long[] shape = Seeded.shape(r, 1, 3);
        Tensor x = Seeded.random(r, shape, DType.F64),
                w = Seeded.normal(r, new long[] {shape[shape.length - 1]}, DType.F64);
        int dim = r.nextInt(shape.length);
        Tensor[] cs = RopeAttentionTest.tables(3, 6);
        Tensor xr = Seeded.random(r, new long[] {2, 3, 6}, DType.F64);
        boolean interleaved = r.nextBoolean();
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

    @Property(tries = 40)
    void ropeKernelMatchesItsCompositionOnViews(@ForAll long seed) {
        Random r = new Random(seed);
        long b = 1 + r.nextInt(2), h = Seeded.size(r, 7), t = Seeded.size(r, 17);
        long d = 2 * Seeded.size(r, 17);
        Tensor x = heads(r, b, h, t, d);
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

    @Property(tries = 40)
    void normAndSoftmaxKernelsMatchTheirCompositions(@ForAll long seed) {
        Random r = new Random(seed);
        long[] shape = Seeded.shape(r, 1, 4);
        Tensor x = Seeded.random(r, shape, DType.F64);
        long n = shape[shape.length - 1];
        Tensor w = Seeded.random(r, new long[] {n}, DType.F64), bias = Seeded.random(r, new long[] {n}, DType.F64);
        int dim = r.nextInt(shape.length);
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
