package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
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
 * The SIMD backend's softmax backward kernel (SOFTMAX_BACKWARD, along the last dim) against a float64 loop written
 * here, on the float outputs of the forward it follows: rows 0 to 5, row lengths 0, 1, primes, lengths around the
 * vector widths and a vocabulary-like 1000, logits scaled by 1 or 10, log-softmax and softmax. The kernel's result is
 * also the same bits as the composed tensor ops on the same backend (which the kernel's documentation promises), and
 * a gradient through autograd reaches it.
 *
 * <p>Bound per element, from the float arithmetic (u = 2⁻²⁴, γ_n = nu/(1 − nu)): the row sum is a float sum of n
 * terms, within γ_n·Σ|g| (log-softmax) or, of the n rounded products g·out, within γ_(n+1)·Σ|g·out| (softmax);
 * e^out is within one float ulp (≤ 2u relative, as VectorMathTest pins exp); then each product and difference rounds
 * once (u of its result), the errors propagated as {@link #logBound} and {@link #softmaxBound} write out, times 1.01.
 */
class SoftmaxBackwardSimdTest {
    private static final double U = 0x1p-24;

    private static double gamma(long n) {
        return n * U / (1 - n * U);
    }

    record Case(TensorSpec x, TensorSpec g, boolean log, boolean wide) {}

    @Provide
    Arbitrary<Case> cases() {
        return SizesFirst.flatMap(
                Combinators.combine(Draws.between(0, 5), Draws.oneOf(0, 1, 2, 7, 13, 15, 16, 17, 31, 33, 64, 100, 1000))
                        .as(List::of),
                s -> Combinators.combine(
                                Draws.contiguous(DType.F32, s.get(0), s.get(1)),
                                Draws.views(DType.F32, s.get(0), s.get(1)),
                                Arbitraries.of(false, true),
                                Arbitraries.of(false, true))
                        .as(Case::new));
    }

    @Property(tries = 60)
    void softmaxGradientIsWithinItsBound(@ForAll("cases") Case c) {
        try (var use = Backends.use(new SimdBackend())) {
            Tensor x = c.x().tensor(), g = c.g().tensor();
            if (c.wide()) x = x.mul(10);
            Tensor out = c.log() ? x.logSoftmax(-1) : x.softmax(-1);
            Tensor gc = g.contiguous();
            Tensor dx = Tensor.zeros(out.shape().toArray());
            if (out.numel() > 0)
                new SimdBackend()
                        .fused()
                        .softmaxBackward(
                                out.storage(),
                                out.layout(),
                                gc.storage(),
                                gc.layout(),
                                out.rank() - 1,
                                c.log(),
                                dx.storage(),
                                dx.layout());
            double[] got = dx.toDoubleArray(), o = out.toDoubleArray(), gv = gc.toDoubleArray();
            int n = (int) out.size(-1);
            for (int r = 0; n > 0 && r < o.length / n; r++) {
                double sum = 0, mag = 0;
                for (int i = r * n; i < (r + 1) * n; i++) {
                    sum += c.log() ? gv[i] : gv[i] * o[i];
                    mag += Math.abs(c.log() ? gv[i] : gv[i] * o[i]);
                }
                for (int i = r * n; i < (r + 1) * n; i++) {
                    double want = c.log() ? gv[i] - Math.exp(o[i]) * sum : o[i] * (gv[i] - sum);
                    double b = c.log()
                            ? logBound(o[i], gv[i], sum, gamma(n) * mag)
                            : softmaxBound(o[i], gv[i], sum, gamma(n + 1) * mag);
                    assertTrue(
                            Math.abs(got[i] - want) <= b,
                            c + " element " + i + ": " + got[i] + ", want " + want + " ± " + b);
                }
            }
            // the composed ops the kernel replaces, on the same backend: the same bits
            int[] last = {-1};
            Tensor composed = c.log()
                    ? gc.sub(out.exp().mul(gc.sum(last, true)))
                    : out.mul(gc.sub(gc.mul(out).sum(last, true)));
            assertArrayEquals(composed.toDoubleArray(), got, c + ": the composed ops' bits");
            // and autograd's gradient of Σ g·out reaches the kernel: the same values again
            Tensor xg = x.detach().requiresGrad(true);
            (c.log() ? xg.logSoftmax(-1) : xg.softmax(-1)).mul(g).sum().backward();
            if (x.numel() > 0) assertArrayEquals(got, xg.grad().toDoubleArray(), c + ": through autograd");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** g − ẽ·s̃ with |s̃ − s| ≤ ds and ẽ within 2u of e^out. */
    private static double logBound(double out, double g, double s, double ds) {
        double e = Math.exp(out), de = 2 * U * e;
        double p = e * s, dp = (e + de) * ds + de * Math.abs(s) + U * (e + de) * (Math.abs(s) + ds);
        double d = g - p, dd = dp + U * (Math.abs(d) + dp);
        return dd * 1.01 + 0x1p-149;
    }

    /** out·(g − s̃) with |s̃ − s| ≤ ds. */
    private static double softmaxBound(double out, double g, double s, double ds) {
        double t = g - s, dt = ds + U * (Math.abs(t) + ds);
        double d = out * t, dd = Math.abs(out) * dt + U * Math.abs(out) * (Math.abs(t) + dt);
        return dd * 1.01 + 0x1p-149;
    }
}
