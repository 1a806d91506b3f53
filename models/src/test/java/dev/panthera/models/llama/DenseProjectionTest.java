package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.PackedStorage;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A dense Llama projection packs its weight at the first product of at least 8 rows (a prefill), not at decode. Its
 * prefill outputs before and after packing equal the plain {@code x·Wᵀ + b} bit for bit (the packed GEMM sums in the
 * unpacked one's order, with lane-wise FMAs only). Decode reads the unpacked weight through the GEMV path, whose lane
 * reduction order may change when the JIT compiles it, so decode is checked against a float64 loop instead: each of
 * the two F32 sums of K products lies within K·2⁻²⁴·Σ|x·w| of the exact value, hence the 2·K·2⁻²⁴·Σ|x·w| bound (plus
 * half an ulp for the bias add).
 */
class DenseProjectionTest {
    private static Tensor normal(Random r, long... shape) {
        int n = 1;
        for (long d : shape) n *= (int) d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    @Test
    void packsAtTheFirstPrefillAndKeepsEveryProductUnchanged() {
        Random r = new Random(5);
        Tensor w = normal(r, 70, 37), b = normal(r, 70);
        Tensor prefill = normal(r, 1, 11, 37), decode = normal(r, 1, 1, 37);
        float[] plainPrefill = prefill.matmul(w.t()).add(b).toFloatArray();
        DenseProjection p = new DenseProjection(w, b);
        assertDecode(decode, w, b, p.apply(decode));
        assertFalse(p.weight().isReadOnly(), "a decode alone does not pack");
        assertArrayEquals(plainPrefill, p.apply(prefill).toFloatArray());
        assertTrue(p.weight().storage() instanceof PackedStorage, "the prefill packed the weight");
        assertNotNull(((PackedStorage) p.weight().storage()).packed(), "the SIMD backend made GEMM panels");
        assertDecode(decode, w, b, p.apply(decode));
        assertArrayEquals(plainPrefill, p.apply(prefill).toFloatArray());
    }

    private static void assertDecode(Tensor x, Tensor w, Tensor b, Tensor y) {
        float[] xv = x.toFloatArray(), wv = w.toFloatArray(), bv = b.toFloatArray(), got = y.toFloatArray();
        int k = xv.length, n = bv.length;
        for (int j = 0; j < n; j++) {
            double s = 0, abs = 0;
            for (int p = 0; p < k; p++) {
                s += (double) xv[p] * wv[j * k + p];
                abs += Math.abs((double) xv[p] * wv[j * k + p]);
            }
            double tol = 2.0 * k * 0x1p-24 * abs + Math.ulp((float) (s + bv[j]));
            assertEquals(s + bv[j], got[j], tol, "decode output " + j);
        }
    }
}
