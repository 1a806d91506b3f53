package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Shape;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * Whatever the view (transposes, narrows, step slices, permuted or broadcast batch dims, sizes 1 and primes),
 * when {@link Gemm#operand} accepts an operand of a storage at a non-zero device address, the byte address cuBLAS will
 * read for element (b, i, j) — pointer + size·(b·batchStride + (N: i·ld + j, T: i + j·ld)) — is exactly the storage's
 * base plus size times the layout's own index of that element. Checked for every element and several element sizes.
 * The view and the element type are drawn by jqwik ({@link ViewDraw}), so a failure shrinks toward a small, plain view.
 */
class GemmPlanPropertyTest {
    private static final long[] SIZES = {1, 2, 3, 5, 7, 13};
    private static final DType[] TYPES = {DType.F32, DType.BF16, DType.F16};
    private static final long BASE = 0x7f00_0000_0000L;

    /** The largest element index the view reaches (its storage must hold at least this many plus one). */
    static long maxIndex(Layout l) {
        long m = l.offset();
        for (int d = 0; d < l.rank(); d++) m += Math.max(0, l.shape().dim(d) - 1) * Math.abs(l.stride(d));
        return m;
    }

    /**
     * One view's draw: its sizes (rank 2 to 4, each from SIZES), how much larger the parent is in each dim (0 to 2) and
     * where the view starts in it, a dim stepped by 2 (or none), whether the last two dims and the first two batch dims
     * are transposed, and whether the leading batch dim is broadcast (stride 0). Shrinks toward a contiguous [1, 1].
     */
    record ViewDraw(
            List<Long> dims,
            List<Integer> extra,
            List<Integer> start,
            int stepDim,
            boolean transposeLast,
            boolean transposeBatch,
            boolean broadcast) {
        /** The view this draw describes. */
        Layout layout() {
            long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
            // build a parent at least as big, then take views of it
            long[] parent = shape.clone();
            for (int d = 0; d < parent.length; d++) parent[d] += extra.get(d);
            Layout l = Layout.contiguous(Shape.of(parent));
            for (int d = 0; d < parent.length; d++) l = l.narrow(d, start.get(d) % (extra.get(d) + 1), shape[d]);
            if (stepDim >= 0) {
                int d = stepDim % shape.length;
                if (shape[d] > 2) l = l.slice(d, 0, shape[d], 2);
            }
            if (transposeLast) l = l.transpose(l.rank() - 2, l.rank() - 1);
            if (l.rank() >= 4 && transposeBatch) l = l.transpose(0, 1);
            if (l.rank() >= 3 && broadcast) {
                long[] st = l.strides();
                st[0] = 0; // broadcast the leading batch dim
                l = new Layout(l.shape(), st, l.offset());
            }
            return l;
        }

        @Override
        public String toString() {
            return layout().toString();
        }
    }

    /** Views as {@link ViewDraw} describes; stepped and broadcast one time in four, as before. */
    @Provide
    Arbitrary<ViewDraw> views() {
        Arbitrary<List<Long>> dims = Arbitraries.of(Arrays.stream(SIZES).boxed().toList())
                .list()
                .ofMinSize(2)
                .ofMaxSize(4)
                .withSizeDistribution(RandomDistribution.uniform());
        Arbitrary<List<Integer>> upTo2 =
                Arbitraries.integers().between(0, 2).list().ofSize(4);
        Arbitrary<Integer> stepDim = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(-1)),
                Tuple.of(1, Arbitraries.integers().between(0, 3)));
        Arbitrary<Boolean> flag = Arbitraries.of(false, true);
        Arbitrary<Boolean> oneInFour =
                Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.just(false)), Tuple.of(1, Arbitraries.just(true)));
        return Combinators.combine(dims, upTo2, upTo2, stepDim, flag, flag, oneInFour)
                .as(ViewDraw::new);
    }

    @Provide
    Arbitrary<DType> types() {
        return Arbitraries.of(TYPES);
    }

    @Property(tries = 400)
    void acceptedPlansAddressEveryElementExactly(@ForAll("views") ViewDraw view, @ForAll("types") DType t) {
        Layout l = view.layout();
        long base = BASE;
        long size = t.byteSize();
        Gemm.Operand o = Gemm.operand(GemmPlanTest.fakeStorage(base, t, maxIndex(l) + 1), l);
        Statistics.label("plan").collect(o == null ? "copied" : o.transposed() ? "planned T" : "planned N");
        Statistics.label("batch")
                .collect(
                        Gemm.batchCount(l) > 1
                                ? (o != null && o.batchStride() == 0 ? "broadcast" : "batched")
                                : "single");
        Statistics.label("plan").coverage(c -> {
            c.check("planned N").percentage(p -> p > 20);
            c.check("planned T").percentage(p -> p > 10);
            c.check("copied").count(n -> n > 0);
        });
        Statistics.label("batch").coverage(c -> c.check("broadcast").count(n -> n > 0));
        if (o == null)
            return; // the backend copies such operands contiguous first; the contiguous copy is always plannable
        int r = l.rank();
        long rows = l.shape().dim(r - 2), cols = l.shape().dim(r - 1), batch = Gemm.batchCount(l);
        long[] idx = new long[r];
        for (long b = 0; b < batch; b++) {
            long rem = b;
            for (int d = r - 3; d >= 0; d--) {
                idx[d] = rem % l.shape().dim(d);
                rem /= l.shape().dim(d);
            }
            for (long i = 0; i < rows; i++) {
                for (long j = 0; j < cols; j++) {
                    idx[r - 2] = i;
                    idx[r - 1] = j;
                    long expected = base + size * l.indexOf(idx);
                    long cublas = o.pointer().address()
                            + size * (b * o.batchStride() + (o.transposed() ? i + j * o.ld() : i * o.ld() + j));
                    assertEquals(expected, cublas, l + " element b=" + b + " i=" + i + " j=" + j + " plan " + o);
                }
            }
        }
        assertTrue(
                o.ld() >= Math.max(1, o.transposed() ? rows : cols), "ld below cuBLAS's minimum: " + o + " for " + l);
    }

    @Property(tries = 100)
    void contiguousCopiesAreAlwaysPlannable(@ForAll("views") ViewDraw view) {
        Layout l = Layout.contiguous(view.layout().shape());
        Gemm.Operand o = Gemm.plan(MemorySegment.ofAddress(BASE), l);
        assertNotNull(o, l.toString());
        assertFalse(
                o.transposed() && l.shape().dim(l.rank() - 2) > 1 && l.shape().dim(l.rank() - 1) > 1);
    }
}
