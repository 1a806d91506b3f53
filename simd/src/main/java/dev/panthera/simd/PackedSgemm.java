package dev.panthera.simd;

import java.lang.foreign.MemorySegment;

/**
 * {@code C = op(A)·B} with B a {@link PackedPanels}: {@link Sgemm}'s packed path without its per-call packing of B.
 * The threads split C as Sgemm does (columns, or rows when C is narrow and tall), column ranges at sliver boundaries
 * so each thread reads only its own slivers. Products equal Sgemm's on the unpacked B bit for bit: the same blocking
 * in K, the same A packing and micro-kernel, so each element sums the same products in the same order. Skinny shapes
 * (M below {@link Sgemm#SKINNY_M}, decode) are not served here: they stream the original weight through Sgemm.
 */
final class PackedSgemm {
    private PackedSgemm() {}

    /** Calls served, for tests that must show the packed path ran. */
    static final java.util.concurrent.atomic.LongAdder CALLS = new java.util.concurrent.atomic.LongAdder();

    /** The most floats of A packed once and shared by a product's column chunks (16 MiB; larger A packs per chunk). */
    static final long SHARED_A_LIMIT = 4L << 20;

    /** An unstarted thread: a segment accessible by it is accessible by any pool thread. */
    private static final Thread PROBE = new Thread(() -> {});

    /**
     * C [m, n] (leading dimension ldc) = op(A)·B, op(A) m×k F32 (row-major, or transposed with {@code transA}), B the
     * packed k×n operand; C's previous contents are overwritten without being read (a packed B has k ≥ 1, and the
     * first K block stores every tile). With an epilogue (null: none) each tile's last depth block adds its bias and
     * residual as it writes C, and its activation follows per row block (C's row i and column j are the epilogue's).
     * Threads as {@link GemmConfig#current()}.
     */
    static void gemm(
            boolean transA,
            int m,
            int k,
            MemorySegment a,
            long aOff,
            int lda,
            PackedPanels b,
            MemorySegment c,
            long cOff,
            int ldc,
            GemmEpilogue epilogue) {
        int n = b.n();
        if (k != b.k())
            throw new IllegalArgumentException("packed gemm: A has " + k + " columns, the packed B " + b.k() + " rows");
        if (m < Sgemm.SKINNY_M)
            throw new IllegalArgumentException("packed gemm: M " + m + " is below " + Sgemm.SKINNY_M
                    + "; skinny products read the unpacked weight");
        check("A", a, aOff, transA ? k : m, transA ? m : k, lda);
        check("C", c, cOff, m, n, ldc);
        CALLS.increment();
        GemmConfig config = GemmConfig.current();
        long flops = 2L * m * n * k;
        boolean parallel = config.threads() > 1
                && flops >= Sgemm.PARALLEL_FLOPS
                && a.isAccessibleBy(PROBE)
                && c.isAccessibleBy(PROBE); // a confined arena's memory stays on its thread
        int t = parallel ? config.threads() : 1;
        if (n >= m || n >= 64L * t) {
            // Each column chunk would pack all of A again (every chunk on two threads, every NC-wide panel on one):
            // pack it once here for all of them, when it is small enough to keep beside the product.
            float[] allA = (parallel || n > PackedGemm.NC) && PackedGemm.allASize(m, k) <= SHARED_A_LIMIT
                    ? PackedGemm.packAllA(transA, a, aOff, lda, m, k, 1f, Sgemm.BUFFERS.get(), parallel ? flops : 0)
                    : null;
            Sgemm.Range cols = (j0, j1) -> PackedGemm.gemmPacked(
                    transA, 0, m, j0, j1, k, 1f, a, aOff, lda, b, c, cOff, ldc, allA, epilogue, Sgemm.BUFFERS.get());
            if (parallel) Sgemm.parallelRanges(n, flops, PackedGemm.NR, cols);
            else cols.run(0, n);
        } else {
            Sgemm.Range rows = (i0, i1) -> PackedGemm.gemmPacked(
                    transA, i0, i1, 0, n, k, 1f, a, aOff, lda, b, c, cOff, ldc, null, epilogue, Sgemm.BUFFERS.get());
            if (parallel) Sgemm.parallelRanges(m, flops, PackedGemm.ROWS, rows);
            else rows.run(0, m);
        }
    }

    private static void check(String what, MemorySegment s, long off, int rows, int cols, int ld) {
        if (ld < Math.max(1, cols))
            throw new IllegalArgumentException(
                    "packed gemm: leading dimension of " + what + " is " + ld + ", less than its " + cols + " columns");
        long last = off + (long) (rows - 1) * ld + cols;
        if (off < 0 || (rows > 0 && cols > 0 && last * 4 > s.byteSize()))
            throw new IndexOutOfBoundsException("packed gemm: " + what + " [" + rows + " x " + cols + ", ld " + ld
                    + ", offset " + off + "] reaches past its segment of " + s.byteSize() + " bytes");
    }
}
