package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Shape;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;

/**
 * Whatever the view (transposes, narrows, step slices, permuted or broadcast batch dims, sizes 1 and primes),
 * when {@link Gemm#operand} accepts an operand of a storage at a non-zero device address, the byte address cuBLAS will
 * read for element (b, i, j) — pointer + size·(b·batchStride + (N: i·ld + j, T: i + j·ld)) — is exactly the storage's
 * base plus size times the layout's own index of that element. Checked for every element and several element sizes.
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

    static Layout randomView(Random r) {
        int batchRank = r.nextInt(3);
        long[] shape = new long[batchRank + 2];
        for (int d = 0; d < shape.length; d++) shape[d] = SIZES[r.nextInt(SIZES.length)];
        // build a parent at least as big, then take views of it
        long[] parent = shape.clone();
        for (int d = 0; d < parent.length; d++) parent[d] += r.nextInt(3);
        Layout l = Layout.contiguous(Shape.of(parent));
        for (int d = 0; d < parent.length; d++) {
            long start = r.nextInt((int) (parent[d] - shape[d] + 1));
            l = l.narrow(d, start, shape[d]);
        }
        if (r.nextInt(4) == 0) {
            int d = r.nextInt(shape.length);
            if (shape[d] > 2) l = l.slice(d, 0, shape[d], 2);
        }
        if (r.nextBoolean()) l = l.transpose(l.rank() - 2, l.rank() - 1);
        if (l.rank() >= 4 && r.nextBoolean()) l = l.transpose(0, 1);
        if (l.rank() >= 3 && r.nextInt(4) == 0) {
            long[] st = l.strides();
            st[0] = 0; // broadcast the leading batch dim
            l = new Layout(l.shape(), st, l.offset());
        }
        return l;
    }

    @Property(tries = 400)
    void acceptedPlansAddressEveryElementExactly(@ForAll @IntRange(min = 0, max = 1_000_000) int seed) {
        Random random = new Random(seed);
        Layout l = randomView(random);
        DType t = TYPES[random.nextInt(TYPES.length)];
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
    void contiguousCopiesAreAlwaysPlannable(@ForAll @IntRange(min = 0, max = 1_000_000) int seed) {
        Layout l = Layout.contiguous(randomView(new Random(seed)).shape());
        Gemm.Operand o = Gemm.plan(MemorySegment.ofAddress(BASE), l);
        assertNotNull(o, l.toString());
        assertFalse(
                o.transposed() && l.shape().dim(l.rank() - 2) > 1 && l.shape().dim(l.rank() - 1) > 1);
    }
}
