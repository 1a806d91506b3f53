package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM on row-major memory: {@code C = alpha·op(A)·op(B) + beta·C}, op = identity or transpose;
 * offsets and leading dimensions in elements. Shapes with M ≥ 8 run the packed, cache-blocked kernel
 * ({@link PackedGemm}) with C's columns (or rows, when C is narrow) split over the threads; skinny shapes (decode's
 * M = 1, a prefill of a few tokens) stream B once without packing. The thread count is set with
 * {@link #setThreads(int)} (default: available processors); work runs on this class's own pool, never the common one.
 */
public final class Sgemm {
    private Sgemm() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final int SKINNY_M = 8;
    private static final ThreadLocal<PackedGemm.Buffers> BUFFERS = ThreadLocal.withInitial(PackedGemm.Buffers::new);

    private static volatile int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static volatile ForkJoinPool pool;

    /** Sets how many threads GEMM may use. */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("sgemm: thread count must be at least 1, got " + n);
        if (n != threads && pool != null) {
            pool.shutdown();
            pool = null;
        }
        threads = n;
    }

    /** The thread count GEMM may use. */
    public static int threads() { return threads; }

    private static synchronized ForkJoinPool pool() {
        if (pool == null) pool = new ForkJoinPool(threads);
        return pool;
    }

    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                             float beta, MemorySegment c, long cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("sgemm: negative size m=" + m + " n=" + n + " k=" + k);
        if (m == 0 || n == 0) return;
        checkBounds("A", a, aOff, transA ? k : m, transA ? m : k, lda);
        checkBounds("B", b, bOff, transB ? n : k, transB ? k : n, ldb);
        checkBounds("C", c, cOff, m, n, ldc);
        scale(c, cOff, ldc, m, n, beta);
        if (k == 0 || alpha == 0) return;
        int t = threads;
        long flops = 2L * m * n * k;
        if (flops < 2_000_000L) t = 1;   // a small product is over before a second thread would start
        if (t > 1 && !(shareable(a) && shareable(b) && shareable(c))) t = 1;   // a confined arena's memory stays on its thread
        if (m < SKINNY_M) {
            int tt = Math.min(t, Math.max(1, n / 64));
            split(tt, n, (j0, j1) -> skinny(transA, transB, m, j0, j1, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc));
        } else if (n >= m || n >= 64L * t) {
            int tt = Math.min(t, Math.max(1, n / PackedGemm.NR));
            split(tt, n, (j0, j1) -> PackedGemm.gemm(transA, transB, 0, m, j0, j1, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, BUFFERS.get()));
        } else {
            int tt = Math.min(t, Math.max(1, m / PackedGemm.MR));
            split(tt, m, (i0, i1) -> PackedGemm.gemm(transA, transB, i0, i1, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, BUFFERS.get()));
        }
    }

    /** An unstarted thread: a segment accessible by it is accessible by any pool thread (shared, auto, global, heap). */
    private static final Thread PROBE = new Thread(() -> { });

    private static boolean shareable(MemorySegment s) { return s.isAccessibleBy(PROBE); }

    private interface Range { void run(int from, int to); }

    /** Runs [0, total) in {@code parts} contiguous ranges (multiples of 16 where possible) on the pool. */
    private static void split(int parts, int total, Range r) {
        if (parts <= 1) {
            r.run(0, total);
            return;
        }
        int chunk = ((total + parts - 1) / parts + 15) / 16 * 16;
        List<Future<?>> fs = new ArrayList<>();
        ForkJoinPool p = pool();
        for (int from = chunk; from < total; from += chunk) {
            int f = from, to = Math.min(total, from + chunk);
            fs.add(p.submit(() -> r.run(f, to)));
        }
        r.run(0, Math.min(chunk, total));
        try {
            for (Future<?> f : fs) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("sgemm interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        }
    }

    private static void checkBounds(String what, MemorySegment s, long off, int rows, int cols, int ld) {
        if (ld < Math.max(1, cols)) throw new IllegalArgumentException("sgemm: leading dimension of " + what + " is " + ld + ", less than its " + cols + " columns");
        long last = off + (long) (rows - 1) * ld + cols;
        if (off < 0 || (rows > 0 && cols > 0 && last * 4 > s.byteSize())) {
            throw new IndexOutOfBoundsException("sgemm: " + what + " [" + rows + " x " + cols + ", ld " + ld + ", offset " + off + "] reaches past its segment of " + s.byteSize() + " bytes");
        }
    }

    private static void scale(MemorySegment c, long cOff, int ldc, int m, int n, float beta) {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++) {
            long row = cOff + (long) i * ldc;
            int j = 0;
            for (; j + F.length() <= n; j += F.length()) {
                FloatVector v = beta == 0 ? FloatVector.zero(F) : FloatVector.fromMemorySegment(F, c, (row + j) * 4, NO).mul(beta);
                v.intoMemorySegment(c, (row + j) * 4, NO);
            }
            for (; j < n; j++) c.setAtIndex(FL, row + j, beta == 0 ? 0f : beta * c.getAtIndex(FL, row + j));
        }
    }

    /**
     * M < 8: no packing. Without transB each row of B is read once per k step and added into every C row (the C rows,
     * M·N floats, stay in cache); with transB each C element is a dot product of an A row with a B row.
     */
    private static void skinny(boolean ta, boolean tb, int m, int j0, int j1, int k, float alpha,
                               MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                               MemorySegment c, long cOff, int ldc) {
        if (!tb) {
            for (int p = 0; p < k; p++) {
                long bRow = bOff + (long) p * ldb;
                for (int i = 0; i < m; i++) {
                    float aip = alpha * a.getAtIndex(FL, aOff + (ta ? (long) p * lda + i : (long) i * lda + p));
                    if (aip == 0) continue;
                    FloatVector av = FloatVector.broadcast(F, aip);
                    long cRow = cOff + (long) i * ldc;
                    int j = j0;
                    for (; j + F.length() <= j1; j += F.length()) {
                        FloatVector cv = FloatVector.fromMemorySegment(F, c, (cRow + j) * 4, NO);
                        av.fma(FloatVector.fromMemorySegment(F, b, (bRow + j) * 4, NO), cv).intoMemorySegment(c, (cRow + j) * 4, NO);
                    }
                    for (; j < j1; j++) c.setAtIndex(FL, cRow + j, c.getAtIndex(FL, cRow + j) + aip * b.getAtIndex(FL, bRow + j));
                }
            }
            return;
        }
        float[] arow = new float[k];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) arow[p] = alpha * a.getAtIndex(FL, aOff + (ta ? (long) p * lda + i : (long) i * lda + p));
            long cRow = cOff + (long) i * ldc;
            for (int j = j0; j < j1; j++) {
                long bRow = bOff + (long) j * ldb;
                FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
                int p = 0;
                for (; p + 2 * F.length() <= k; p += 2 * F.length()) {
                    s0 = FloatVector.fromArray(F, arow, p).fma(FloatVector.fromMemorySegment(F, b, (bRow + p) * 4, NO), s0);
                    s1 = FloatVector.fromArray(F, arow, p + 8).fma(FloatVector.fromMemorySegment(F, b, (bRow + p + 8) * 4, NO), s1);
                }
                float dot = s0.add(s1).reduceLanes(VectorOperators.ADD);
                for (; p < k; p++) dot += arow[p] * b.getAtIndex(FL, bRow + p);
                c.setAtIndex(FL, cRow + j, c.getAtIndex(FL, cRow + j) + dot);
            }
        }
    }
}
