package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM on row-major memory: {@code C = alpha·op(A)·op(B) + beta·C}, op = identity or transpose.
 * Offsets and leading dimensions are in elements. (A straightforward vectorised i-k-j loop; the packed, blocked and
 * threaded kernel replaces the body behind this same entry point.)
 */
public final class Sgemm {
    private Sgemm() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private static volatile int threads = Math.max(1, Runtime.getRuntime().availableProcessors());

    /** Sets how many threads GEMM may use (default: available processors). */
    public static void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("sgemm: thread count must be at least 1, got " + n);
        threads = n;
    }

    /** The thread count GEMM may use. (This straightforward kernel runs on the calling thread only.) */
    public static int threads() { return threads; }

    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                             float beta, MemorySegment c, long cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("sgemm: negative size m=" + m + " n=" + n + " k=" + k);
        // C = beta·C
        for (int i = 0; i < m; i++) {
            long row = cOff + (long) i * ldc;
            for (int j = 0; j < n; j++) {
                float v = beta == 0 ? 0 : beta * c.getAtIndex(FL, row + j);
                c.setAtIndex(FL, row + j, v);
            }
        }
        if (k == 0 || alpha == 0) return;
        int bound = F.loopBound(n);
        for (int i = 0; i < m; i++) {
            long cRow = cOff + (long) i * ldc;
            for (int p = 0; p < k; p++) {
                float aip = alpha * a.getAtIndex(FL, aOff + (transA ? (long) p * lda + i : (long) i * lda + p));
                if (!transB) {
                    long bRow = bOff + (long) p * ldb;
                    FloatVector av = FloatVector.broadcast(F, aip);
                    int j = 0;
                    for (; j < bound; j += F.length()) {
                        FloatVector bv = FloatVector.fromMemorySegment(F, b, (bRow + j) * 4, java.nio.ByteOrder.nativeOrder());
                        FloatVector cv = FloatVector.fromMemorySegment(F, c, (cRow + j) * 4, java.nio.ByteOrder.nativeOrder());
                        av.fma(bv, cv).intoMemorySegment(c, (cRow + j) * 4, java.nio.ByteOrder.nativeOrder());
                    }
                    for (; j < n; j++) c.setAtIndex(FL, cRow + j, c.getAtIndex(FL, cRow + j) + aip * b.getAtIndex(FL, bRow + j));
                } else {
                    for (int j = 0; j < n; j++) {
                        c.setAtIndex(FL, cRow + j, c.getAtIndex(FL, cRow + j) + aip * b.getAtIndex(FL, bOff + (long) j * ldb + p));
                    }
                }
            }
        }
    }
}
