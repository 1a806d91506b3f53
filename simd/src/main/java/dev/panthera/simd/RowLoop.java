package dev.panthera.simd;

import dev.panthera.tensor.Layout;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.MemorySegment;

/**
 * The row loop of the row-wise kernels (unary ops, the norms): each row of a [rows, n] walk handed its row starts in
 * two layouts, the rows split over GEMM's threads ({@link Sgemm#forEach}) when the whole loop holds enough work to pay
 * for the hand-off and every segment may be read from another thread, else on the calling thread. Rows are
 * independent and each is computed by the same code whichever thread runs it; only the Vector API's transcendental
 * functions (EXP, TANH) may round an ulp differently on a thread whose copy of the kernel is not yet JIT-compiled.
 */
final class RowLoop {
    private RowLoop() {}

    interface Row {
        void run(long srcOffset, long dstOffset);
    }

    /** An unstarted thread: a segment accessible by it is accessible by any pool thread (shared, auto, global). */
    private static final Thread PROBE = new Thread(() -> {});

    /**
     * Runs {@code row} for each of {@code rows} rows, row r at the r-th start of {@code src} and of {@code dst} (the
     * layouts of the row starts, walked in row-major order); {@code flopsPerRow} estimates one row's work.
     */
    static void run(long rows, long flopsPerRow, Layout src, Layout dst, MemorySegment[] segments, Row row) {
        StridedCursor cs = new StridedCursor(src), cd = new StridedCursor(dst);
        boolean parallel = rows > 1 && rows <= Integer.MAX_VALUE && rows * flopsPerRow >= Sgemm.PARALLEL_FLOPS;
        for (MemorySegment s : segments) parallel &= s == null || s.isAccessibleBy(PROBE);
        if (!parallel) {
            for (long r = 0; r < rows; r++) row.run(cs.next(), cd.next());
            return;
        }
        long[] so = new long[(int) rows], dO = new long[(int) rows];
        for (int r = 0; r < rows; r++) {
            so[r] = cs.next();
            dO[r] = cd.next();
        }
        Sgemm.forEach((int) rows, rows * flopsPerRow, r -> row.run(so[r], dO[r]));
    }
}
