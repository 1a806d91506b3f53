package dev.panthera.simd;

import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.Executor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM on row-major memory: {@code C = alpha·op(A)·op(B) + beta·C}, op = identity or transpose;
 * offsets and leading dimensions in elements. Shapes with M ≥ 8 run the packed, cache-blocked kernel
 * ({@link PackedGemm}) with C's columns (or rows, when C is narrow) split over the threads; skinny shapes (decode's
 * M = 1, a prefill of a few tokens) stream B once without packing. The default thread count is set with
 * {@link #setThreads(int)} (default: available processors); work runs on this class's own {@link Team}, never the common pool.
 * A {@link GemmConfig} passed to a call, or scoped over a thread with {@link GemmConfig#use()}, sets the thread count
 * and executor of the calls it covers.
 */
public final class Sgemm {
    private Sgemm() {}

    private static final VectorSpecies<Float> F = Lanes.F256;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    static final int SKINNY_M = 8;
    static final ThreadLocal<PackedGemm.Buffers> BUFFERS = ThreadLocal.withInitial(PackedGemm.Buffers::new);

    private static volatile int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static volatile Team team;

    /** Sets how many threads GEMM may use. */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("sgemm: thread count must be at least 1, got " + n);
        if (n != threads && team != null) {
            team.shutdown(); // its helpers end; loops already running finish on their callers
            team = null;
        }
        threads = n;
    }

    /** The thread count GEMM may use. */
    public static int threads() {
        return threads;
    }

    private static Team team() {
        Team t = team;
        if (t != null) return t;
        synchronized (Sgemm.class) {
            if (team == null) team = new Team();
            return team;
        }
    }

    /**
     * {@code C = alpha·op(A)·op(B) + beta·C} for row-major F32 matrices: op(A) is M×K, op(B) K×N, C M×N; offsets and
     * leading dimensions in elements. With beta = 0, C's old contents (NaN included) are ignored.
     *
     * @throws IllegalArgumentException for a negative size or a leading dimension below the row length
     * @throws IndexOutOfBoundsException when an operand reaches past its segment (checked before any access)
     */
    public static void sgemm(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            MemorySegment a,
            long aOff,
            int lda,
            MemorySegment b,
            long bOff,
            int ldb,
            float beta,
            MemorySegment c,
            long cOff,
            int ldc) {
        sgemm(GemmConfig.current(), transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /** {@link #sgemm(boolean, boolean, int, int, int, float, MemorySegment, long, int, MemorySegment, long, int, float, MemorySegment, long, int) sgemm} run as {@code config} says. */
    public static void sgemm(
            GemmConfig config,
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            MemorySegment a,
            long aOff,
            int lda,
            MemorySegment b,
            long bOff,
            int ldb,
            float beta,
            MemorySegment c,
            long cOff,
            int ldc) {
        gemm(
                config, "sgemm", DType.F32, transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff,
                ldc);
    }

    /**
     * {@code batch} independent products {@link #sgemm} with operand b of the batch starting {@code b·strideA},
     * {@code b·strideB}, {@code b·strideC} elements after the given offsets (a stride of 0 shares an operand, e.g. one
     * weight matrix for every batch entry). Each product uses GEMM's threads in turn.
     */
    public static void sgemmBatched(
            int batch,
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            MemorySegment a,
            long aOff,
            int lda,
            long strideA,
            MemorySegment b,
            long bOff,
            int ldb,
            long strideB,
            float beta,
            MemorySegment c,
            long cOff,
            int ldc,
            long strideC) {
        if (batch < 0 || strideA < 0 || strideB < 0 || strideC < 0) {
            throw new IllegalArgumentException("sgemmBatched: batch " + batch + " and strides " + strideA + ", "
                    + strideB + ", " + strideC + " must not be negative");
        }
        if (batch > 0 && strideC < (long) (m - 1) * ldc + n && batch > 1 && m > 0 && n > 0) {
            throw new IllegalArgumentException("sgemmBatched: C stride " + strideC + " makes the " + m + " x " + n
                    + " outputs (ld " + ldc + ") overlap");
        }
        GemmConfig config = GemmConfig.current();
        for (int i = 0; i < batch; i++) {
            gemm(
                    config,
                    "sgemmBatched[" + i + "]",
                    DType.F32,
                    transA,
                    transB,
                    m,
                    n,
                    k,
                    alpha,
                    a,
                    aOff + i * strideA,
                    lda,
                    b,
                    bOff + i * strideB,
                    ldb,
                    beta,
                    c,
                    cOff + i * strideC,
                    ldc);
        }
    }

    /** The driver for every B storage kind: checks, scales C by beta, then picks the skinny or packed path. */
    static void gemm(
            GemmConfig config,
            String op,
            DType kind,
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            float alpha,
            MemorySegment a,
            long aOff,
            int lda,
            MemorySegment b,
            long bOff,
            int ldb,
            float beta,
            MemorySegment c,
            long cOff,
            int ldc) {
        java.util.Objects.requireNonNull(config, op + ": config");
        if (m < 0 || n < 0 || k < 0)
            throw new IllegalArgumentException(op + ": negative size m=" + m + " n=" + n + " k=" + k);
        if (m == 0 || n == 0) return;
        checkBounds(op, "A", a, aOff, transA ? k : m, transA ? m : k, lda, 4);
        checkBounds(op, "B", b, bOff, transB ? n : k, transB ? k : n, ldb, kind.byteSize());
        checkBounds(op, "C", c, cOff, m, n, ldc, 4);
        // beta 0 on the packed path: the first K block stores C's tiles, so C is neither zeroed first nor read
        boolean store = beta == 0f && k > 0 && alpha != 0 && m >= SKINNY_M;
        if (!store) scale(c, cOff, ldc, m, n, beta);
        if (k == 0 || alpha == 0) return;
        int t = config.threads();
        Executor ex = config.executor();
        long flops = 2L * m * n * k;
        if (flops < PARALLEL_FLOPS) t = 1; // a small product is over before a second thread would join
        if (t > 1 && !(shareable(a) && shareable(b) && shareable(c)))
            t = 1; // a confined arena's memory stays on its thread
        if (m < SKINNY_M) {
            int tt = Math.min(t, Math.max(1, n / 64));
            // chunks of about 256 outputs: long enough streams per chunk, enough chunks to even out the threads
            split(
                    ex,
                    tt,
                    n,
                    16,
                    Math.max(2, n / (tt * 256)),
                    (j0, j1) -> SkinnyGemm.gemm(
                            kind, transA, transB, m, j0, j1, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc));
        } else if (n >= m || n >= 64L * t) {
            int tt = Math.min(t, Math.max(1, n / PackedGemm.NR));
            split(
                    ex,
                    tt,
                    n,
                    PackedGemm.NR,
                    PACKED_CHUNKS,
                    (j0, j1) -> PackedGemm.gemm(
                            kind,
                            transA,
                            transB,
                            0,
                            m,
                            j0,
                            j1,
                            k,
                            alpha,
                            a,
                            aOff,
                            lda,
                            b,
                            bOff,
                            ldb,
                            c,
                            cOff,
                            ldc,
                            store,
                            BUFFERS.get()));
        } else {
            int tt = Math.min(t, Math.max(1, m / PackedGemm.ROWS));
            split(
                    ex,
                    tt,
                    m,
                    PackedGemm.ROWS,
                    PACKED_CHUNKS,
                    (i0, i1) -> PackedGemm.gemm(
                            kind,
                            transA,
                            transB,
                            i0,
                            i1,
                            0,
                            n,
                            k,
                            alpha,
                            a,
                            aOff,
                            lda,
                            b,
                            bOff,
                            ldb,
                            c,
                            cOff,
                            ldc,
                            store,
                            BUFFERS.get()));
        }
    }

    /**
     * Chunks per thread of the packed path: each chunk packs its own A blocks (M·K floats per chunk), so fewer and
     * wider chunks than the skinny path's.
     */
    static final int PACKED_CHUNKS = Integer.getInteger("panthera.packedChunks", 2);

    /** An unstarted thread: a segment accessible by it is accessible by any pool thread (shared, auto, global, heap). */
    private static final Thread PROBE = new Thread(() -> {});

    private static boolean shareable(MemorySegment s) {
        return s.isAccessibleBy(PROBE);
    }

    /** A loop body over the index range [from, to). */
    public interface Range {
        void run(int from, int to);
    }

    /**
     * Runs {@code body} over [0, total) in contiguous chunks (multiples of {@code align} where possible) on the
     * threads GEMM would use: this thread and as many helpers as the current {@link GemmConfig} allows, from that
     * config's executor or GEMM's own {@link Team}; on this thread alone when {@code flops} (the loop's total
     * work) is below the threshold GEMM itself splits at. For kernels outside this module that should share GEMM's
     * threads (the quantized GEMV). Nested loops are allowed (whatever no helper takes, the caller does).
     */
    public static void parallelRanges(int total, long flops, int align, Range body) {
        if (total < 0 || align < 1)
            throw new IllegalArgumentException("parallelRanges: total " + total + ", align " + align);
        GemmConfig config = GemmConfig.current();
        split(config.executor(), parts(config, total, flops, align), total, align, PER_THREAD, body);
    }

    /** Work an idle helper does a step at a time: {@link #step} returns false when there is nothing more to do. */
    public interface Background {
        boolean step();
    }

    /**
     * Offers {@code task} to GEMM's own helpers, replacing the task offered before: one helper runs it a step at a time
     * whenever it has no loop to work on (it joins any loop posted meanwhile, then goes on), until a step returns false
     * or a newer offer replaces it. Nothing runs where the current {@link GemmConfig} allows one thread or has an
     * executor of its own. For reading ahead what a later loop will read while the caller works alone.
     */
    public static void background(Background task) {
        GemmConfig config = GemmConfig.current();
        if (config.threads() > 1 && config.executor() == null) team().background(task);
    }

    /**
     * The chunks that {@link #parallelRanges}{@code (total, flops, align, ·)} under the current config cuts [0, total)
     * into, in the order its helpers claim them (from the back; the caller claims from the front): their [from, to)
     * bounds in pairs, the last chunk first; empty where the loop runs on the caller alone.
     */
    public static int[] chunksFromBack(int total, long flops, int align) {
        int parts = parts(GemmConfig.current(), total, flops, align);
        if (parts <= 1 || total <= align) return new int[0];
        int chunk = chunk(parts, total, align, PER_THREAD), chunks = (total + chunk - 1) / chunk;
        if (chunks <= 1) return new int[0];
        int[] bounds = new int[2 * chunks];
        for (int i = 0; i < chunks; i++) {
            int c = chunks - 1 - i;
            bounds[2 * i] = c * chunk;
            bounds[2 * i + 1] = Math.min(total, c * chunk + chunk);
        }
        return bounds;
    }

    /** Chunks per thread in {@link #parallelRanges}' loops. */
    private static final int PER_THREAD = 4;

    private static int parts(GemmConfig config, int total, long flops, int align) {
        return flops < PARALLEL_FLOPS ? 1 : Math.min(config.threads(), Math.max(1, total / align));
    }

    /**
     * The least work, in flops, that a loop hands to a second thread (about 20 µs of a GEMV): below it the hand-off
     * costs more than the second thread saves. A {@link Team} helper that is still polling takes a chunk within a
     * microsecond; a parked one is woken (tens of µs on a virtual machine) while the caller works on, so the cost is
     * the wake-up call, not the wait. Decode's 768 × 768 projections (1.2 MFLOP) are above it.
     */
    static final long PARALLEL_FLOPS = 1L << 18;

    /**
     * Runs {@code body} for every i in [0, n): on this thread alone when {@code flops} (the loop's total work) is
     * below {@link #PARALLEL_FLOPS} or the current {@link GemmConfig} allows one thread, else in contiguous ranges on
     * as many threads as that config allows, this one among them. Nested loops are allowed (whatever no helper
     * takes, the caller does).
     */
    static void forEach(int n, long flops, java.util.function.IntConsumer body) {
        GemmConfig config = GemmConfig.current();
        int t = flops < PARALLEL_FLOPS ? 1 : Math.min(config.threads(), n);
        if (t <= 1) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        split(config.executor(), t, n, 1, 4, (from, to) -> {
            for (int i = from; i < to; i++) body.accept(i);
        });
    }

    /**
     * Runs [0, total) on up to {@code parts} threads (this one and {@code parts − 1} helpers from {@code executor},
     * null: GEMM's own {@link Team}) in chunks of about {@code total / (parts · perThread)} indices rounded up to a
     * multiple of {@code align}: several chunks per thread, so that a thread that starts late or loses its processor
     * for a while takes fewer of them instead of holding up the others.
     */
    private static void split(Executor executor, int parts, int total, int align, int perThread, Range r) {
        if (parts <= 1 || total <= align) {
            r.run(0, total);
            return;
        }
        team().run(executor, parts - 1, total, chunk(parts, total, align, perThread), r);
    }

    /** About total / (parts · perThread), rounded up to a multiple of align, at most total. */
    private static int chunk(int parts, int total, int align, int perThread) {
        long pieces = (long) parts * perThread;
        return (int) Math.min(total, ((total + pieces - 1) / pieces + align - 1) / align * align);
    }

    private static void checkBounds(
            String op, String what, MemorySegment s, long off, int rows, int cols, int ld, int bytes) {
        if (ld < Math.max(1, cols))
            throw new IllegalArgumentException(
                    op + ": leading dimension of " + what + " is " + ld + ", less than its " + cols + " columns");
        long last = off + (long) (rows - 1) * ld + cols;
        if (off < 0 || (rows > 0 && cols > 0 && last * bytes > s.byteSize())) {
            throw new IndexOutOfBoundsException(op + ": " + what + " [" + rows + " x " + cols + ", ld " + ld
                    + ", offset " + off + "] reaches past its segment of " + s.byteSize() + " bytes");
        }
    }

    private static void scale(MemorySegment c, long cOff, int ldc, int m, int n, float beta) {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++) {
            long row = cOff + (long) i * ldc;
            int j = 0;
            for (; j + F.length() <= n; j += F.length()) {
                FloatVector v = beta == 0
                        ? FloatVector.zero(F)
                        : FloatVector.fromMemorySegment(F, c, (row + j) * 4, NO).mul(beta);
                v.intoMemorySegment(c, (row + j) * 4, NO);
            }
            for (; j < n; j++) c.setAtIndex(FL, row + j, beta == 0 ? 0f : beta * c.getAtIndex(FL, row + j));
        }
    }
}
