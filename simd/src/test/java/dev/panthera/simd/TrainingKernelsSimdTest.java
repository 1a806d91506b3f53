package dev.panthera.simd;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.TensorSpec;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The SIMD training kernels ({@link FusedGradKernels}: attention with mask and log-sum-exp, its backward, the norm
 * backward) against the reference backend's float64 kernels through the public ops, on random shapes: GQA groups 1,
 * 2 and 4, Lq ≠ Lk, head dims around the vector width, boolean padding and additive masks, q/k/v as transposed
 * [B, T, H, D] projections or other views. Tolerance: every value is a sum of at most ~70 float products
 * (ε = 6e-8) of terms of magnitude up to ~10 for these normal inputs, so it stays within 70·6e-8·10 ≈ 4e-5 of the
 * float64 result; gradients go through two such stages (dP, then dS·K): 2e-4·max(1, |expected|).
 */
class TrainingKernelsSimdTest {
    private static final double TOL = 2e-4;

    /**
     * A [b, h, t, d] input as the attention layer makes it: a contiguous [b, t, h, d] projection transposed to
     * [b, h, t, d] ({@code projected}), or a [b, h, t, d] view the kit draws.
     */
    record Heads(boolean projected, TensorSpec spec) {
        static Arbitrary<Heads> draw(long b, long h, long t, long d) {
            return Arbitraries.of(true, false)
                    .flatMap(p -> (p ? Draws.contiguous(DType.F32, b, t, h, d) : Draws.views(DType.F32, b, h, t, d))
                            .map(s -> new Heads(p, s)));
        }

        Tensor tensor() {
            return projected ? spec.tensor().transpose(1, 2) : spec.tensor();
        }
    }

    private static double[][] run(Backend be, Tensor[] in, Tensor mask, boolean causal, double scale, Tensor w) {
        try (var use = Backends.use(be)) {
            Tensor[] x = new Tensor[3];
            for (int i = 0; i < 3; i++) x[i] = in[i].detach().requiresGrad(true);
            Tensor o = Tensor.scaledDotProductAttention(x[0], x[1], x[2], mask, causal, scale);
            o.mul(w).sum().backward();
            return new double[][] {
                o.toDoubleArray(),
                x[0].grad().toDoubleArray(),
                x[1].grad().toDoubleArray(),
                x[2].grad().toDoubleArray()
            };
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void close(double[] want, double[] got, String what) {
        for (int i = 0; i < want.length; i++) {
            if (!(Math.abs(want[i] - got[i]) <= TOL * Math.max(1, Math.abs(want[i])))) {
                throw new AssertionError(what + ": element " + i + " expected " + want[i] + " but was " + got[i]);
            }
        }
    }

    /** b, hkv in [1, 2], groups 1, 2 or 4, lk in [1, 20], lq = lk or in [1, lk], d and dv around the vector width. */
    record Sizes(long b, long hkv, long g, long lq, long lk, long d, long dv, boolean causal) {}

    /**
     * The sizes, q, k, v, the mask (0 none, 1 BOOL padding from one pad count per batch row, 2 additive), and the
     * upstream gradient w.
     */
    record AttentionCase(
            Sizes s, Heads q, Heads k, Heads v, int maskKind, long[] pads, TensorSpec additive, TensorSpec w) {
        @Override
        public String toString() {
            String mask = switch (maskKind) {
                case 0 -> "no mask";
                case 1 -> "padding " + java.util.Arrays.toString(pads);
                default -> "additive " + additive;
            };
            return s + "\n  q " + q + "\n  k " + k + "\n  v " + v + "\n  " + mask + "\n  w " + w;
        }
    }

    @Provide
    Arbitrary<AttentionCase> attentionCases() {
        long[] dims = {1, 3, 8, 9, 16, 17, 33};
        Arbitrary<Sizes> sizes = Combinators.combine(
                        Draws.between(1, 2),
                        Draws.between(1, 2),
                        Draws.oneOf(1, 2, 4),
                        Draws.between(1, 20),
                        Draws.oneOf(dims),
                        Draws.oneOf(dims),
                        Arbitraries.of(false, true))
                .flatAs((b, hkv, g, lk, d, dv, causal) -> Combinators.combine(
                                Arbitraries.of(true, false), Draws.between(1, lk))
                        .as((prefill, lq) -> new Sizes(b, hkv, g, prefill ? lk : lq, lk, d, dv, causal)));
        return SizesFirst.flatMap(sizes, s -> {
            long hq = s.hkv() * s.g();
            Arbitrary<List<Heads>> qkv = Draws.all(List.of(
                    Heads.draw(s.b(), hq, s.lq(), s.d()),
                    Heads.draw(s.b(), s.hkv(), s.lk(), s.d()),
                    Heads.draw(s.b(), s.hkv(), s.lk(), s.dv())));
            return Combinators.combine(
                            qkv,
                            Arbitraries.integers().between(0, 2),
                            Draws.indices((int) s.b(), s.lk()),
                            Draws.contiguous(DType.F32, s.b(), 1, s.lq(), s.lk()),
                            Draws.contiguous(DType.F32, s.b(), hq, s.lq(), s.dv()))
                    .as((h, kind, pads, add, w) ->
                            new AttentionCase(s, h.get(0), h.get(1), h.get(2), kind, pads, add, w));
        });
    }

    @Property(tries = 40)
    void attentionForwardAndBackwardAgreeWithTheReference(@ForAll("attentionCases") AttentionCase c) {
        Sizes s = c.s();
        long b = s.b(), hkv = s.hkv(), g = s.g(), lq = s.lq(), lk = s.lk(), d = s.d(), dv = s.dv();
        boolean causal = s.causal();
        Tensor[] in = {c.q().tensor(), c.k().tensor(), c.v().tensor()};
        Tensor mask = switch (c.maskKind()) {
            case 0 -> null;
            case 1 -> padding(c.pads(), b, lq, lk);
            default -> c.additive().tensor();
        };
        Tensor w = c.w().tensor();
        double scale = 1 / Math.sqrt(d);
        double[][] want = run(ReferenceBackend.INSTANCE, in, mask, causal, scale, w);
        double[][] got = run(new SimdBackend(), in, mask, causal, scale, w);
        String[] names = {"output", "dq", "dk", "dv"};
        for (int i = 0; i < 4; i++) {
            close(
                    want[i],
                    got[i],
                    names[i] + " b=" + b + " hkv=" + hkv + " g=" + g + " lq=" + lq + " lk=" + lk + " d=" + d + " dv="
                            + dv + " causal=" + causal + " mask=" + (mask == null ? "none" : mask.dtype()));
        }
    }

    /** BOOL [b, 1, lq, lk]: batch row bi hides its first pads[bi] keys (< lk), never a query's own position. */
    private static Tensor padding(long[] pads, long b, long lq, long lk) {
        boolean[] m = new boolean[(int) (b * lq * lk)];
        for (int bi = 0; bi < b; bi++) {
            long pad = pads[bi];
            for (int i = 0; i < lq; i++)
                for (int j = 0; j < lk; j++) m[(int) ((bi * lq + i) * lk + j)] = j >= pad || j == i + lk - lq;
        }
        return Tensor.of(m, b, 1, lq, lk);
    }

    /** x [rows, n] as a view (rows in [1, 6], n around the vector width), weight, bias, upstream gradient, the norm. */
    record NormCase(TensorSpec x, TensorSpec wt, TensorSpec bias, TensorSpec up, boolean rms, boolean affine) {}

    @Provide
    Arbitrary<NormCase> normCases() {
        return SizesFirst.flatMap(
                Combinators.combine(Draws.between(1, 6), Draws.oneOf(1, 2, 7, 8, 9, 17, 64, 100))
                        .as(List::of),
                sizes -> Combinators.combine(
                                Draws.views(DType.F32, sizes.get(0), sizes.get(1)),
                                Draws.contiguous(DType.F32, sizes.get(1)),
                                Draws.contiguous(DType.F32, sizes.get(1)),
                                Draws.contiguous(DType.F32, sizes.get(0), sizes.get(1)),
                                Arbitraries.of(false, true),
                                Arbitraries.of(false, true))
                        .as(NormCase::new));
    }

    @Property(tries = 40)
    void normBackwardAgreesWithTheReference(@ForAll("normCases") NormCase c) {
        long rows = c.x().shape().dim(0), n = c.x().shape().dim(1);
        Tensor x = c.x().tensor();
        Tensor wt = c.wt().tensor(), bias = c.bias().tensor();
        Tensor up = c.up().tensor();
        boolean rms = c.rms(), affine = c.affine();
        double[][] want = norm(ReferenceBackend.INSTANCE, x, wt, bias, up, rms, affine);
        double[][] got = norm(new SimdBackend(), x, wt, bias, up, rms, affine);
        for (int i = 0; i < want.length; i++)
            close(
                    want[i],
                    got[i],
                    (rms ? "rmsNorm" : "layerNorm") + " gradient " + i + " of [" + rows + ", " + n + "]");
    }

    /**
     * A row whose spread (±0.0135) is small beside its mean (-1.774), the case a property run shrank to (jqwik seed
     * -1866663998790995690): rounding the mean to float moved every x̂ by rstd·|mean|·2⁻²⁴ (about 8e-6), and with n = 2
     * the gradient cancels to 1 - x̂² ≈ 0.05 of its terms, so the error reached 2e-4 relative. Same tolerance as the
     * property.
     */
    @org.junit.jupiter.api.Test
    void layerNormBackwardOfANarrowRowFarFromZero() {
        Tensor x = Tensor.of(new float[] {-1.760653f, -1.787717f}, 1, 2);
        Tensor up = Tensor.of(new float[] {0.206042f, 0.985336f}, 1, 2);
        Tensor ones = Tensor.of(new float[] {1, 1}, 2), zeros = Tensor.of(new float[] {0, 0}, 2);
        double[][] want = norm(ReferenceBackend.INSTANCE, x, ones, zeros, up, false, false);
        double[][] got = norm(new SimdBackend(), x, ones, zeros, up, false, false);
        close(want[0], got[0], "layerNorm gradient of a narrow row");
    }

    private static double[][] norm(
            Backend be, Tensor x0, Tensor w0, Tensor b0, Tensor up, boolean rms, boolean affine) {
        try (var use = Backends.use(be)) {
            Tensor x = x0.detach().requiresGrad(true);
            Tensor w = affine ? w0.detach().requiresGrad(true) : null,
                    b = affine ? b0.detach().requiresGrad(true) : null;
            Tensor y = rms ? x.rmsNorm(w, 1e-6) : x.layerNorm(w, b, 1e-5);
            y.mul(up).sum().backward();
            if (!affine) return new double[][] {x.grad().toDoubleArray()};
            return rms
                    ? new double[][] {x.grad().toDoubleArray(), w.grad().toDoubleArray()}
                    : new double[][] {
                        x.grad().toDoubleArray(),
                        w.grad().toDoubleArray(),
                        b.grad().toDoubleArray()
                    };
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
