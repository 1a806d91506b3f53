package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.panthera.testing.Shapes;
import dev.panthera.testing.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
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

    /** The prime factors of n, ascending. */
    static List<Long> primeFactors(long n) {
        List<Long> f = new ArrayList<>();
        long m = n;
        for (long p = 2; p <= m; p++)
            while (m % p == 0) {
                f.add(p);
                m /= p;
            }
        return f;
    }

    /**
     * A view and a target shape for it. The view: an F32 tensor in any layout the kit draws, then, when drawn (index ≥
     * 0), a transpose of dims a, b (mod its rank, for rank ≥ 2) and an unsqueeze (mod rank + 1): layouts of every kind
     * views produce, and compositions. The target: the view's element count factorised, each prime factor multiplied
     * into the target dimension {@code slots} names.
     */
    record ViewCase(
            TensorSpec spec, int transposeA, int transposeB, int unsqueezeAt, int targetRank, List<Integer> slots) {
        Tensor view() {
            Tensor t = spec.tensor();
            int rank = t.rank();
            if (transposeA >= 0 && rank >= 2) t = t.transpose(transposeA % rank, transposeB % rank);
            if (unsqueezeAt >= 0) t = t.unsqueeze(unsqueezeAt % (t.rank() + 1));
            return t;
        }

        long[] target(long n) {
            List<Long> f = primeFactors(n);
            long[] target = new long[targetRank];
            Arrays.fill(target, 1);
            for (int i = 0; i < f.size(); i++) target[slots.get(i)] *= f.get(i);
            return target;
        }
    }

    /** Shapes of rank 1 to 4 with sizes 1 to 6; a second transpose one time in three, an unsqueeze one in four. */
    @Provide
    Arbitrary<ViewCase> viewCases() {
        return Shapes.shapes(1, 4, 1, 6, 6 * 6 * 6 * 6).flatMap(shape -> {
            int factors = primeFactors(shape.numel()).size();
            Arbitrary<Integer> transposeA = Arbitraries.frequencyOf(
                    Tuple.of(2, Arbitraries.just(-1)),
                    Tuple.of(1, Arbitraries.integers().between(0, 3)));
            Arbitrary<Integer> unsqueezeAt = Arbitraries.frequencyOf(
                    Tuple.of(3, Arbitraries.just(-1)),
                    Tuple.of(1, Arbitraries.integers().between(0, 4)));
            Arbitrary<List<Integer>> target = Arbitraries.integers()
                    .between(1, 4)
                    .flatMap(rank -> Arbitraries.integers()
                            .between(0, rank - 1)
                            .list()
                            .ofSize(factors)
                            .map(slots -> {
                                List<Integer> out = new ArrayList<>();
                                out.add(rank);
                                out.addAll(slots);
                                return out;
                            }));
            return Combinators.combine(
                            Cases.anyLayout(DType.F32, shape.toArray()),
                            transposeA,
                            Arbitraries.integers().between(0, 3),
                            unsqueezeAt,
                            target)
                    .as((spec, a, b, u, t) -> new ViewCase(spec, a, b, u, t.getFirst(), t.subList(1, t.size())));
        });
    }

    @Property(tries = 400)
    @StatisticsReport(StatisticsReport.StatisticsReportMode.OFF) // coverage is still checked; the table is noise
    void reshapeIsAViewExactlyWhenAffineStridesExist(@ForAll("viewCases") ViewCase vc) {
        Tensor v = vc.view();
        long[] target = vc.target(v.numel());
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
