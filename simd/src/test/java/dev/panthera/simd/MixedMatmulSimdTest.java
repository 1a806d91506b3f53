package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.FloatConversions;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * F32 activations × BF16/F16 weights through the SIMD backend's matmul at decode and prefill sizes (M = 1, a few
 * rows, more than the skinny limit), weights stored [K, N] or as a Linear keeps them ([N, K], used transposed).
 * Expected: a float64 loop over the exactly widened weights. Tolerance: F32 accumulation of K products carries at most
 * about K·2⁻²⁴·Σ|a·w| (each product and each partial sum rounded once; FMA only removes roundings), so each element
 * must lie within 2·K·2⁻²⁴·Σ|a·w| of the float64 value, plus half an F32 ulp for the final rounding. The weight type,
 * sizes and layout are drawn before the values, so a failure shrinks to a small product first.
 */
class MixedMatmulSimdTest {
    private static final long[] M = {1, 2, 3, 7, 9, 16};

    /** The weights' type, M, K, N, whether the weight is a Linear's [N, K] used transposed, and the values. */
    record Case(DType wt, int m, int k, int n, boolean linear, float[] a, float[] w) {
        @Override
        public String toString() {
            return wt + " m=" + m + " k=" + k + " n=" + n + " linear=" + linear + " a=" + Draws.show(a) + " w="
                    + Draws.show(w);
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Case> sizes = Combinators.combine(
                        Arbitraries.of(DType.BF16, DType.F16),
                        Draws.oneOf(M),
                        Arbitraries.integers().between(1, 300),
                        Arbitraries.integers().between(1, 70),
                        Arbitraries.of(false, true))
                .as((wt, m, k, n, linear) -> new Case(wt, m.intValue(), k, n, linear, null, null));
        return SizesFirst.flatMap(
                sizes,
                c -> Combinators.combine(Draws.normals((long) c.m() * c.k()), Draws.normals((long) c.k() * c.n()))
                        .as((a, w) -> new Case(c.wt(), c.m(), c.k(), c.n(), c.linear(), a, w)));
    }

    @Property(tries = 40)
    void matchesAFloat64Loop(@ForAll("cases") Case c) {
        DType wt = c.wt();
        int m = c.m(), k = c.k(), n = c.n();
        boolean linear = c.linear();
        float[] a = c.a(), w = c.w();
        Tensor x = Tensor.of(a, m, k);
        Tensor weight = linear
                ? Tensor.of(w, n, k).to(wt).transpose(0, 1) // w read as [N, K]: element (p, j) is w[j·K + p]
                : Tensor.of(w, k, n).to(wt);
        float[] got;
        try (var use = Backends.use(new SimdBackend())) {
            Tensor y = x.matmul(weight);
            assertEquals(DType.F32, y.dtype());
            got = y.toFloatArray();
        }
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0, abs = 0;
                for (int p = 0; p < k; p++) {
                    float wf = linear ? w[j * k + p] : w[p * n + j];
                    double wv = wt == DType.BF16
                            ? FloatConversions.bf16ToFloat(FloatConversions.floatToBf16(wf))
                            : FloatConversions.f16ToFloat(FloatConversions.floatToF16(wf));
                    s += a[i * k + p] * wv;
                    abs += Math.abs(a[i * k + p] * wv);
                }
                double tol = 2.0 * k * 0x1p-24 * abs + Math.ulp((float) s) / 2;
                double e = got[i * n + j];
                if (Math.abs(e - s) > tol)
                    throw new AssertionError(wt + " m=" + m + " k=" + k + " n=" + n + " linear=" + linear + " [" + i
                            + ", " + j + "]: expected " + s + " ± " + tol + " but was " + e);
            }
        }
    }
}
