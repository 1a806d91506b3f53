package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * {@link PackBudget}: a weight whose panels would pass the budget stays unpacked, and its products are the same bits
 * as with the plain weight (they pack per call); within the budget the panels are made and their bytes counted.
 */
class PackBudgetTest {

    private static Tensor ramp(int rows, int cols, float scale) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = ((i * 37) % 101 - 50) * scale;
        return Tensor.of(v, rows, cols);
    }

    @Test
    void aWeightPastTheBudgetStaysUnpackedWithTheSameProducts() {
        // A limit of 0 refuses every panel; a limit of used() would not, once the collector frees earlier panels.
        long old = PackBudget.limit(0);
        try (var use = Backends.use(new SimdBackend())) {
            Tensor w = ramp(67, 45, 0.01f), x = ramp(20, 67, 0.02f);
            assertNull(Matmuls.pack(w.storage(), w.layout()), "panels made past the budget");
            Tensor p = w.packedForMatmul();
            long before = PackedSgemm.CALLS.sum();
            float[] got = x.matmul(p).toFloatArray(), want = x.matmul(w).toFloatArray();
            assertEquals(before, PackedSgemm.CALLS.sum(), "the packed path ran without panels");
            assertArrayEquals(want, got, 0f, "products through the unpacked read-only weight");
        } finally {
            PackBudget.limit(old);
        }
    }

    @Test
    void panelsWithinTheBudgetAreCounted() {
        long old = PackBudget.limit(Long.MAX_VALUE);
        try (var use = Backends.use(new SimdBackend())) {
            Tensor w = ramp(67, 45, 0.01f);
            long before = PackBudget.reservedTotal();
            PackedPanels p = Matmuls.pack(w.storage(), w.layout());
            assertNotNull(p);
            assertEquals(p.byteSize(), PackBudget.reservedTotal() - before, "bytes reserved for the panels");
            assertTrue(p.byteSize() >= 4L * 67 * 45, "at least 4 bytes per weight: " + p.byteSize());
        } finally {
            PackBudget.limit(old);
        }
    }
}
