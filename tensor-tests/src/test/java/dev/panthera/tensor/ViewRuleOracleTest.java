package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.statistics.StatisticsReport;
import org.junit.jupiter.api.Test;

/**
 * The view rule against a brute-force oracle. A reshape can be a view exactly when the storage index of the
 * row-major k-th element is an affine function of the target multi-index: offset + Σ idx_j·stride_j. The oracle reads
 * the storage index of every element, derives candidate strides from the unit steps, and checks them on all elements.
 * It knows nothing about PyTorch's computeStride walk that {@link Layout#reshapeView} implements.
 */
class ViewRuleOracleTest {

    /** Storage index of every element of l, in row-major order (independent of StridedCursor). */
    private static long[] storageIndices(Layout l) {
        long[][] ix = Oracle.indices(l.shape().toArray());
        long[] out = new long[ix.length];
        for (int i = 0; i < ix.length; i++) out[i] = l.indexOf(ix[i]);
        return out;
    }

    /** The affine strides for target over the given storage indices, or null when none exist. */
    static long[] oracleStrides(long[] pos, long[] target) {
        if (pos.length == 0) return Layout.contiguous(Shape.of(target)).strides();
        long[][] ix = Oracle.indices(target);
        long[] strides = new long[target.length];
        for (int j = 0; j < target.length; j++) {
            if (target[j] == 1) {
                strides[j] = 0;
                continue;
            }
            long[] unit = new long[target.length];
            unit[j] = 1;
            strides[j] = pos[Oracle.flat(target, unit)] - pos[0];
        }
        for (int k = 0; k < ix.length; k++) {
            long p = pos[0];
            for (int j = 0; j < target.length; j++) p += ix[k][j] * strides[j];
            if (p != pos[k]) return null;
        }
        return strides;
    }

    private static long[] randomFactorisation(Random r, long n) {
        List<Long> f = new ArrayList<>();
        long m = n;
        for (long p = 2; p <= m; p++)
            while (m % p == 0) {
                f.add(p);
                m /= p;
            }
        Collections.shuffle(f, r);
        long[] target = new long[1 + r.nextInt(4)];
        Arrays.fill(target, 1);
        for (long p : f) target[r.nextInt(target.length)] *= p;
        return target;
    }

    /** Layouts of every kind views produce: permuted, stepped, narrowed, expanded, unsqueezed, and compositions. */
    private static Tensor randomView(Random r, long[] shape) {
        Tensor t = Seeded.random(r, shape, DType.F32);
        if (r.nextInt(3) == 0 && shape.length >= 2) { // a second view on top of the first
            int a = r.nextInt(shape.length), b = r.nextInt(shape.length);
            t = t.transpose(a, b);
        }
        if (r.nextInt(4) == 0) t = t.unsqueeze(r.nextInt(t.rank() + 1));
        return t;
    }

    @Property(tries = 400)
    @StatisticsReport(StatisticsReport.StatisticsReportMode.OFF) // coverage is still checked; the table is noise
    void reshapeIsAViewExactlyWhenAffineStridesExist(@ForAll long seed) {
        Random r = new Random(seed);
        long[] shape = Seeded.shape(r, 1, 4);
        for (int i = 0; i < shape.length; i++) shape[i] = Math.min(shape[i], 6);
        Tensor v = randomView(r, shape);
        long[] target = randomFactorisation(r, v.numel());
        long[] pos = storageIndices(v.layout());
        long[] want = oracleStrides(pos, target);
        Layout got = v.layout().reshapeView(Shape.of(target));
        String what = v.layout() + " → " + Arrays.toString(target);
        Statistics.collect(want == null ? "needs a copy" : v.isContiguous() ? "contiguous view" : "strided view");
        Statistics.coverage(
                c -> { // all three outcomes are exercised, so the property is not vacuous
                    c.check("needs a copy").percentage(p -> p > 10);
                    c.check("strided view").percentage(p -> p > 10);
                });
        if (want == null) {
            assertNull(got, "no affine strides exist, yet a view was made: " + what);
            return;
        }
        assertNotNull(got, "affine strides " + Arrays.toString(want) + " exist but no view was made: " + what);
        // the view must address exactly the same storage elements in the same order
        assertArrayEquals(pos, storageIndices(got), "view addresses: " + what);
        Tensor viewed = v.view(target);
        assertSame(v.storage(), viewed.storage());
    }

    @Test
    void expandedDimsCanBeSplitButNotMergedWithRealOnes() {
        Tensor row = Tensor.of(1f, 2f, 3f).reshape(1, 3).expand(4, 3); // strides [0, 1]
        assertArrayEquals(new long[] {0, 0, 1}, row.view(2, 2, 3).layout().strides(), "splitting a stride-0 dim");
        assertNull(row.layout().reshapeView(Shape.of(12)), "merging a stride-0 dim with a real one needs a copy");
        assertEquals(12, row.reshape(12).numel());
        assertArrayEquals(
                new float[] {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3},
                row.reshape(12).toFloatArray());
    }
}
