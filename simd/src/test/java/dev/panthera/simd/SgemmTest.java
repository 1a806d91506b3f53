package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * SGEMM against a float64 triple loop, all four transpose cases, alpha/beta, padded leading dimensions and offsets,
 * shapes from 1 and primes through sizes that cross the MR/NR/KC/MC block edges, on 1 and 2 threads.
 * Tolerance per element (forward error of a float dot product): |Δ| ≤ 2·sqrt(K)·ε·Σ|a||b| + ε·|beta·c|.
 */
class SgemmTest {
    private static final int[] SIZES = {1, 2, 3, 5, 6, 7, 8, 13, 16, 17, 31, 97, 130, 257, 300};

    @Property(tries = 120)
    void matchesFloat64(@ForAll long seed) {
        Random r = new Random(seed);
        check(r, SIZES[r.nextInt(SIZES.length)], SIZES[r.nextInt(SIZES.length)], SIZES[r.nextInt(SIZES.length)]);
    }

    /** Skinny shapes long enough that the M &lt; 8 path splits K (transposed B) and N (plain B) into chunks. */
    @Property(tries = 8)
    void skinnyChunkedPaths(@ForAll long seed) {
        Random r = new Random(seed);
        check(r, 1 + r.nextInt(7), 700 + r.nextInt(200), 1400 + r.nextInt(300));
    }

    /**
     * The block sizes this machine's kernel chose fit its vector width: NR is two vectors of lanes, and the M and N
     * cache blocks hold whole micro-panels (MC a multiple of MR, NC of NR), so only the matrix edges are partial panels,
     * which the shapes below cross.
     */
    @Test
    void blockSizesFitTheVectorWidth() {
        String kernel = "micro-kernel " + PackedGemm.MR + "x" + PackedGemm.NR + ", KC " + PackedGemm.KC + ", MC "
                + PackedGemm.MC + ", NC " + PackedGemm.NC + " (" + PackedGemm.F.vectorBitSize() + "-bit vectors)";
        assertEquals(2 * PackedGemm.F.length(), PackedGemm.NR, kernel);
        assertEquals(0, PackedGemm.MC % PackedGemm.MR, kernel);
        assertEquals(0, PackedGemm.NC % PackedGemm.NR, kernel);
    }

    @Property(tries = 6)
    void severalBlocksOfK(@ForAll long seed) {
        Random r = new Random(seed);
        check(
                r,
                PackedGemm.MC + 1 + r.nextInt(20),
                PackedGemm.NR + 1 + r.nextInt(40),
                PackedGemm.KC + 1 + r.nextInt(PackedGemm.KC + 50));
    }

    private static void check(Random r, int m, int n, int k) {
        boolean ta = r.nextBoolean(), tb = r.nextBoolean();
        float alpha = r.nextBoolean() ? 1f : (float) r.nextGaussian(), beta = new float[] {0f, 1f, -0.5f}[r.nextInt(3)];
        int lda = (ta ? m : k) + r.nextInt(3), ldb = (tb ? k : n) + r.nextInt(3), ldc = n + r.nextInt(3);
        long aOff = r.nextInt(5), bOff = r.nextInt(5), cOff = r.nextInt(5);
        int threads = 1 + r.nextInt(2);
        Sgemm.setThreads(threads);
        // two threads need memory other threads may touch; a confined arena must still work (on the caller's thread)
        try (Arena arena = threads == 2 && r.nextInt(4) != 0 ? Arena.ofShared() : Arena.ofConfined()) {
            int aRows = ta ? k : m, bRows = tb ? n : k;
            MemorySegment a = random(arena, aOff + (long) aRows * lda, r),
                    b = random(arena, bOff + (long) bRows * ldb, r);
            MemorySegment c = random(arena, cOff + (long) m * ldc, r);
            float[] c0 = c.toArray(ValueLayout.JAVA_FLOAT);
            Sgemm.sgemm(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            double eps = Math.ulp(1f);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0, mag = 0;
                    for (int p = 0; p < k; p++) {
                        double av = a.getAtIndex(
                                ValueLayout.JAVA_FLOAT, aOff + (ta ? (long) p * lda + i : (long) i * lda + p));
                        double bv = b.getAtIndex(
                                ValueLayout.JAVA_FLOAT, bOff + (tb ? (long) j * ldb + p : (long) p * ldb + j));
                        s += av * bv;
                        mag += Math.abs(av * bv);
                    }
                    double old = c0[(int) (cOff + (long) i * ldc + j)];
                    double want = alpha * s + (beta == 0 ? 0 : beta * old);
                    double got = c.getAtIndex(ValueLayout.JAVA_FLOAT, cOff + (long) i * ldc + j);
                    double tol = 2 * Math.sqrt(k) * eps * Math.abs(alpha) * mag + eps * Math.abs(beta * old) + 1e-30;
                    if (Math.abs(got - want) > tol + eps * Math.abs(want)) {
                        throw new AssertionError("C[" + i + "][" + j + "] of " + m + "x" + n + "x" + k
                                + (ta ? " Aᵀ" : "") + (tb ? " Bᵀ" : "") + " alpha " + alpha + " beta " + beta
                                + ": expected " + want + " but was " + got + " (tolerance " + tol + ")");
                    }
                }
            }
            // nothing outside C's rows was written
            for (long x = 0; x < cOff; x++) {
                if (c.getAtIndex(ValueLayout.JAVA_FLOAT, x) != c0[(int) x])
                    throw new AssertionError("wrote before C's offset at " + x);
            }
        } finally {
            Sgemm.setThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
        }
    }

    private static MemorySegment random(Arena arena, long n, Random r) {
        MemorySegment s = arena.allocate(n * 4, 64);
        for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
        return s;
    }

    /** Products running on several caller threads while another thread keeps changing the pool size. */
    @Test
    void concurrentCallersWhileThePoolIsResized() throws Exception {
        int m = 64, n = 96, k = 200;
        try (Arena arena = Arena.ofShared()) {
            Random r = new Random(3);
            MemorySegment a = random(arena, (long) m * k, r), b = random(arena, (long) k * n, r);
            MemorySegment want = arena.allocate((long) m * n * 4, 64);
            Sgemm.setThreads(1);
            Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, want, 0, n);
            java.util.concurrent.atomic.AtomicReference<Throwable> failure =
                    new java.util.concurrent.atomic.AtomicReference<>();
            Thread[] callers = new Thread[3];
            for (int t = 0; t < callers.length; t++) {
                callers[t] = new Thread(() -> {
                    try {
                        MemorySegment c = arena.allocate((long) m * n * 4, 64);
                        for (int it = 0; it < 40; it++) {
                            Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
                            if (c.mismatch(want) != -1)
                                throw new AssertionError(
                                        "result differs from the 1-thread product at byte " + c.mismatch(want));
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                callers[t].start();
            }
            for (int i = 0; i < 200 && callers[0].isAlive(); i++) Sgemm.setThreads(1 + i % 3);
            for (Thread t : callers) t.join();
            if (failure.get() != null) throw new AssertionError("a concurrent sgemm failed", failure.get());
        } finally {
            Sgemm.setThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
        }
    }

    @Test
    void badArgumentsAreRejectedBeforeAnyRead() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(16 * 4);
            assertThrows(
                    IndexOutOfBoundsException.class,
                    () -> Sgemm.sgemm(false, false, 4, 4, 4, 1f, s, 0, 4, s, 8, 4, 0f, s, 0, 4));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> Sgemm.sgemm(false, false, 4, 4, 4, 1f, s, 0, 3, s, 0, 4, 0f, s, 0, 4));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> Sgemm.sgemm(false, false, -1, 4, 4, 1f, s, 0, 4, s, 0, 4, 0f, s, 0, 4));
        }
    }
}
