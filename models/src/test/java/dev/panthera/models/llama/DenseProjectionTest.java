package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.PackedStorage;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A dense Llama projection packs its weight at the first product of at least 8 rows (a prefill), not at decode, and
 * its outputs before and after packing equal the plain {@code x·Wᵀ + b} bit for bit at both row counts (the packed
 * GEMM sums in the unpacked one's order; decode reads the same values unpacked).
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
        float[] plainDecode = decode.matmul(w.t()).add(b).toFloatArray();
        DenseProjection p = new DenseProjection(w, b);
        assertArrayEquals(plainDecode, p.apply(decode).toFloatArray());
        assertFalse(p.weight().isReadOnly(), "a decode alone does not pack");
        assertArrayEquals(plainPrefill, p.apply(prefill).toFloatArray());
        assertTrue(p.weight().storage() instanceof PackedStorage, "the prefill packed the weight");
        assertNotNull(((PackedStorage) p.weight().storage()).packed(), "the SIMD backend made GEMM panels");
        assertArrayEquals(plainDecode, p.apply(decode).toFloatArray());
        assertArrayEquals(plainPrefill, p.apply(prefill).toFloatArray());
    }
}
