package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * SiLU's gradient (the fused SILU_BACKWARD kernel) on the SIMD backend and on the reference backend, both against a
 * float64 loop written here: rows 0 to 5, row lengths 0, 1, primes and lengths around the vector widths, x as a
 * contiguous, transposed, stepped or offset view (the SIMD kernel takes rows with unit inner stride and hands the rest
 * to the reference), scaled by 1 or 12 so that σ saturates at both ends.
 *
 * <p>Bound per element for the SIMD kernel, from its float sequence g·(σ·(1 + x·(1 − σ))): σ comes within a = 2⁻²³ +
 * 2u relative of the exact one (expFloat within 2⁻²³, the add and the divide one rounding each; the exp's error
 * reaches σ scaled by e^−x/(1 + e^−x) ≤ 1), plus 2⁻¹²⁶ where e^−x overflows the float range and σ flushes to 0; then
 * each of the five operations adds one rounding (u) of its own result to the propagated error, as {@link #bound}
 * writes out, times 1.01. The reference backend computes in float64 and rounds once: u·|exact| plus half the
 * smallest subnormal.
 */
class SiluBackwardSimdTest {
    private static final double U = 0x1p-24;

    record Case(TensorSpec x, TensorSpec g, boolean wide) {}

    @Provide
    Arbitrary<Case> cases() {
        return SizesFirst.flatMap(
                Combinators.combine(Draws.between(0, 5), Draws.oneOf(0, 1, 2, 7, 13, 15, 16, 17, 31, 33, 64, 100))
                        .as(List::of),
                s -> Combinators.combine(
                                Draws.views(DType.F32, s.get(0), s.get(1)),
                                Draws.contiguous(DType.F32, s.get(0), s.get(1)),
                                Arbitraries.of(false, true))
                        .as(Case::new));
    }

    @Property(tries = 60)
    void siluGradientIsWithinItsBound(@ForAll("cases") Case c) {
        Tensor x0 = c.x().tensor(), g = c.g().tensor();
        if (c.wide()) x0 = x0.mul(12); // contiguous then, values up to ~±50
        double[] x = x0.toDoubleArray(), gv = g.toDoubleArray();
        double[] simd = gradient(new SimdBackend(), x0, g), ref = gradient(ReferenceBackend.INSTANCE, x0, g);
        for (int i = 0; i < x.length; i++) {
            double s = 1 / (1 + Math.exp(-x[i])), want = gv[i] * s * (1 + x[i] * (1 - s));
            String where = c + " element " + i + " x=" + x[i] + " g=" + gv[i];
            double b = bound(x[i], gv[i], s);
            assertTrue(Math.abs(simd[i] - want) <= b, where + ": SIMD " + simd[i] + ", want " + want + " ± " + b);
            double r = U * Math.abs(want) + 0x1p-150;
            assertTrue(Math.abs(ref[i] - want) <= r, where + ": reference " + ref[i] + ", want " + want + " ± " + r);
        }
        // Σ silu(x): the incoming gradient is a broadcast 1 (stride 0), made contiguous before the kernel
        double[] ones = gradient(new SimdBackend(), x0, null);
        for (int i = 0; i < x.length; i++) {
            double s = 1 / (1 + Math.exp(-x[i])), want = s * (1 + x[i] * (1 - s)), b = bound(x[i], 1, s);
            assertTrue(
                    Math.abs(ones[i] - want) <= b, c + " element " + i + " of Σ silu: " + ones[i] + ", want " + want);
        }
    }

    /** The running error bound of g·(σ̃·(1 + x·(1 − σ̃))) in float against the exact value. */
    private static double bound(double x, double g, double s) {
        double a = 0x1p-23 + 2 * U;
        double ds = s * a + 0x1p-126; // |σ̃ − σ|
        double one = 1 - s, dOne = ds + U * (Math.abs(one) + ds);
        double z = x * one, dz = Math.abs(x) * dOne + U * Math.abs(x) * (Math.abs(one) + dOne);
        double w = 1 + z, dw = dz + U * (Math.abs(w) + dz);
        double v = s * w, dv = ds * (Math.abs(w) + dw) + s * dw + U * (s + ds) * (Math.abs(w) + dw);
        double dd = Math.abs(g) * dv + U * Math.abs(g) * (Math.abs(v) + dv);
        return dd * 1.01 + 0x1p-149;
    }

    /** x's gradient of Σ g·silu(x) on {@code be} (of Σ silu(x) when g is null). */
    private static double[] gradient(Backend be, Tensor x0, Tensor g) {
        try (var use = Backends.use(be)) {
            Tensor x = x0.detach().requiresGrad(true);
            (g == null ? x.silu() : x.silu().mul(g)).sum().backward();
            return x.numel() == 0 ? new double[0] : x.grad().toDoubleArray();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
