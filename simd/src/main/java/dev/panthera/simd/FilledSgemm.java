package dev.panthera.simd;

import java.lang.foreign.MemorySegment;

/**
 * {@code C = A·B} where B is never a matrix: the caller writes each depth × column block of B straight into the
 * slivers SGEMM's micro-kernel reads ({@link Panels}), for instance by decoding quantized weights into them. Against
 * decoding B into a buffer and calling {@link Sgemm}, this saves the buffer and SGEMM's packing copy of it, and A is
 * packed once for the whole product (its rows split between the threads) instead of once per buffer. The kernel, the
 * blocking and the summation order are {@link Sgemm}'s packed path's.
 *
 * <p>Threads split C's columns as {@link Sgemm#parallelRanges} does (the current {@link GemmConfig}), in multiples of
 * the caller's {@code align}; each thread fills its own blocks, so {@link Panels#fill} runs concurrently for
 * different columns and must only read shared state.
 */
public final class FilledSgemm {
    private FilledSgemm() {}

    /** Columns per sliver: B[p, j] of a block lies at (j / SLIVER)·SLIVER·kc + p·SLIVER + j % SLIVER. */
    public static final int SLIVER = PackedGemm.NR;
    /** Depth blocks start at multiples of this (the last one may be shorter). */
    public static final int DEPTH = PackedGemm.KC;
    /** Column blocks start at multiples of this from the start of a thread's range (the last one may be narrower). */
    public static final int COLUMNS = PackedGemm.NC;

    /** Writes one block of B. */
    @FunctionalInterface
    public interface Panels {
        /**
         * Writes B[pc .. pc + kc, jc .. jc + nc) into {@code out} as slivers: B[pc + p, jc + j] at index
         * (j / SLIVER)·SLIVER·kc + p·SLIVER + j % SLIVER. When nc is not a multiple of {@link #SLIVER}, the last
         * sliver's columns from nc on may hold anything: the kernel's results for them are dropped. pc is a multiple
         * of {@link #DEPTH}; jc is the thread range's start plus a multiple of {@link #COLUMNS}. {@code out} is the
         * calling thread's own buffer, reused across blocks.
         */
        void fill(int pc, int kc, int jc, int nc, float[] out);
    }

    /** The most floats of A packed once and shared by the threads (16 MiB); a larger A is packed per block. */
    static final long SHARED_A_LIMIT = PackedSgemm.SHARED_A_LIMIT;

    /**
     * c[i·n + j] = Σ_p a[i·k + p]·B[p, j] for i &lt; m, j &lt; n (both arrays row-major, c overwritten), on the threads
     * of the current {@link GemmConfig}, column ranges starting at multiples of {@code align}.
     *
     * @throws IllegalArgumentException for a negative size, an align below 1, or arrays shorter than m·k and m·n
     */
    public static void gemm(float[] a, int m, int k, int n, Panels b, float[] c, int align) {
        gemm(a, m, k, n, b, c, align, SHARED_A_LIMIT);
    }

    /** {@link #gemm(float[], int, int, int, Panels, float[], int)} with A shared up to {@code sharedALimit} floats. */
    static void gemm(float[] a, int m, int k, int n, Panels b, float[] c, int align, long sharedALimit) {
        if (m < 0 || k < 0 || n < 0 || align < 1)
            throw new IllegalArgumentException("filled sgemm: sizes m " + m + ", k " + k + ", n " + n + " and align "
                    + align + " must be >= 0 (align >= 1)");
        if (a.length < (long) m * k || c.length < (long) m * n)
            throw new IllegalArgumentException("filled sgemm: A [" + m + " x " + k + "] needs " + (long) m * k
                    + " floats (has " + a.length + "), C [" + m + " x " + n + "] " + (long) m * n + " (has "
                    + c.length + ")");
        if (m == 0 || n == 0) return;
        if (k == 0) {
            java.util.Arrays.fill(c, 0, m * n, 0f);
            return;
        }
        long flops = 2L * m * n * k;
        float[] allA = PackedGemm.allASize(m, k) <= sharedALimit
                ? PackedGemm.packAllA(false, MemorySegment.ofArray(a), 0, k, m, k, 1f, Sgemm.BUFFERS.get(), flops)
                : null;
        Sgemm.parallelRanges(
                n,
                flops,
                align,
                (j0, j1) -> PackedGemm.gemmFilled(m, j0, j1, k, a, allA, b, c, n, Sgemm.BUFFERS.get()));
    }
}
