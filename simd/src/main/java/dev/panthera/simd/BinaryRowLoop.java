package dev.panthera.simd;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.MemorySegment;

/**
 * The row loop of the F32 arithmetic binary ops: row r of a [rows, n] walk reads row r of each operand (or its one
 * broadcast value, inner stride 0) and writes row r of the destination. When the loop holds enough work to pay for the
 * hand-off (a training step's [1024, 32000] cross-entropy terms, its [1024, 768] residual adds) and every segment may
 * be read from another thread, the rows are split over GEMM's threads ({@link Sgemm#forEach}); else they run on the
 * calling thread. Each element is one IEEE operation on the same two inputs whichever thread runs it, so the result
 * does not depend on the split.
 */
final class BinaryRowLoop {
    private BinaryRowLoop() {}

    /**
     * About what an element costs beside the split's hand-off, in flops: one operation, but two loads and a store of
     * a memory-bound loop, so 786,432 elements (a [4, 256, 768] add) are worth a second thread and a bias row is not.
     */
    static final long FLOPS_PER_ELEMENT = 4;

    /** An unstarted thread: a segment accessible by it is accessible by any pool thread (shared, auto, global). */
    private static final Thread PROBE = new Thread(() -> {});

    /**
     * {@code op} over the rows of the row-start layouts {@code al}, {@code bl}, {@code dl} (walked in row-major order),
     * rows of {@code n} elements with inner strides {@code sa}, {@code sb} (0 or 1) and 1 for the destination.
     */
    static void run(
            BinaryOp op,
            MemorySegment a,
            Layout al,
            int sa,
            MemorySegment b,
            Layout bl,
            int sb,
            MemorySegment dst,
            Layout dl,
            int n) {
        run(
                a,
                al,
                b,
                bl,
                dst,
                dl,
                n,
                FLOPS_PER_ELEMENT,
                (x, xo, y, yo, d, dO, len) -> FloatKernels.binaryRow(op, x, xo, sa, y, yo, sb, d, dO, len));
    }

    /** One row of n elements: dst from {@code dO} = f(a from {@code ao}, b from {@code bo}). */
    interface Row {
        void apply(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment dst, long dO, int n);
    }

    /**
     * {@code row} over the rows of the row-start layouts {@code al}, {@code bl}, {@code dl}, split over GEMM's threads
     * as the binary ops are when the rows hold {@code flopsPerElement}·elements worth a hand-off.
     */
    static void run(
            MemorySegment a,
            Layout al,
            MemorySegment b,
            Layout bl,
            MemorySegment dst,
            Layout dl,
            int n,
            long flopsPerElement,
            Row row) {
        long rows = n == 0 ? 0 : dl.numel();
        StridedCursor ca = new StridedCursor(al), cb = new StridedCursor(bl), cd = new StridedCursor(dl);
        long flops = rows * n * flopsPerElement;
        boolean parallel = rows > 1
                && rows <= Integer.MAX_VALUE
                && flops >= Sgemm.PARALLEL_FLOPS
                && a.isAccessibleBy(PROBE)
                && b.isAccessibleBy(PROBE)
                && dst.isAccessibleBy(PROBE);
        if (!parallel) {
            for (long r = 0; r < rows; r++) row.apply(a, ca.next(), b, cb.next(), dst, cd.next(), n);
            return;
        }
        long[] ao = new long[(int) rows], bo = new long[(int) rows], dO = new long[(int) rows];
        for (int r = 0; r < rows; r++) {
            ao[r] = ca.next();
            bo[r] = cb.next();
            dO[r] = cd.next();
        }
        Sgemm.forEach((int) rows, flops, r -> row.apply(a, ao[r], b, bo[r], dst, dO[r], n));
    }
}
