package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.FloatConversions;
import dev.panthera.tensor.Tensor;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * F32 activations × BF16/F16 weights through the SIMD backend's matmul at decode and prefill sizes (M = 1, a few
 * rows, more than the skinny limit), weights stored [K, N] or as a Linear keeps them ([N, K], used transposed).
 * Expected: a float64 loop over the exactly widened weights. Tolerance: F32 accumulation of K products carries at most
 * about K·2⁻²⁴·Σ|a·w| (each product and each partial sum rounded once; FMA only removes roundings), so each element
 * must lie within 2·K·2⁻²⁴·Σ|a·w| of the float64 value, plus half an F32 ulp for the final rounding.
 */
class MixedMatmulSimdTest {
    private static final int[] M = {1, 2, 3, 7, 9, 16};

    @Property(tries = 40)
    void matchesAFloat64Loop(@ForAll long seed) {
        Random r = new Random(seed);
        DType wt = r.nextBoolean() ? DType.BF16 : DType.F16;
        int m = M[r.nextInt(M.length)], k = 1 + r.nextInt(300), n = 1 + r.nextInt(70);
        boolean linear = r.nextBoolean();
        float[] a = new float[m * k], w = new float[k * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
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
