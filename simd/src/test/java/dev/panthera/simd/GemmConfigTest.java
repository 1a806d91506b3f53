package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Handle;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Per-call and scoped GEMM configs: which threads run the ranges, and that the product is the same whatever runs it
 * (each range computes its own columns with the same kernel, so results are bit-identical across configs; the
 * single-threaded product is itself checked against float64 in {@link SgemmTest}).
 */
class GemmConfigTest {
    private static final int M = 96, N = 256, K = 300; // 2·M·N·K ≈ 15 MFLOP: above the single-thread cut-off

    private static MemorySegment random(Arena arena, long n, Random r) {
        MemorySegment s = arena.allocate(n * 4, 64);
        for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
        return s;
    }

    @Test
    void aCallerExecutorRunsTheOtherRangesAndTheResultIsUnchanged() {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        AtomicInteger submitted = new AtomicInteger();
        Set<String> threads = ConcurrentHashMap.newKeySet();
        Executor counting = task -> {
            submitted.incrementAndGet();
            pool.execute(() -> {
                threads.add(Thread.currentThread().getName());
                task.run();
            });
        };
        try (Arena arena = Arena.ofShared()) {
            Random r = new Random(5);
            MemorySegment a = random(arena, (long) M * K, r), b = random(arena, (long) K * N, r);
            MemorySegment one = arena.allocate((long) M * N * 4, 64), four = arena.allocate((long) M * N * 4, 64);
            Sgemm.sgemm(GemmConfig.of(1), false, false, M, N, K, 1f, a, 0, K, b, 0, N, 0f, one, 0, N);
            Sgemm.sgemm(GemmConfig.on(counting, 4), false, false, M, N, K, 1f, a, 0, K, b, 0, N, 0f, four, 0, N);
            assertEquals(3, submitted.get(), "4 ranges: the caller runs one, the executor three");
            assertTrue(
                    threads.stream().allMatch(t -> t.startsWith("pool-")),
                    "ranges ran on the executor's threads: " + threads);
            assertEquals(-1, one.mismatch(four), "same columns, same kernel: bit-identical");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void oneThreadSubmitsNothingAndARefusingExecutorLeavesTheWorkToTheCaller() {
        AtomicInteger submitted = new AtomicInteger();
        Executor refusing = task -> {
            submitted.incrementAndGet();
            throw new java.util.concurrent.RejectedExecutionException("full");
        };
        try (Arena arena = Arena.ofShared()) {
            Random r = new Random(6);
            MemorySegment a = random(arena, (long) M * K, r), b = random(arena, (long) K * N, r);
            MemorySegment want = arena.allocate((long) M * N * 4, 64), got = arena.allocate((long) M * N * 4, 64);
            Sgemm.sgemm(GemmConfig.on(refusing, 1), false, false, M, N, K, 1f, a, 0, K, b, 0, N, 0f, want, 0, N);
            assertEquals(0, submitted.get());
            Sgemm.sgemm(GemmConfig.on(refusing, 2), false, false, M, N, K, 1f, a, 0, K, b, 0, N, 0f, got, 0, N);
            assertEquals(1, submitted.get());
            assertEquals(-1, want.mismatch(got));
        }
    }

    @Test
    void aScopedConfigReachesTheBackendsMatmulAndScopesNest() {
        AtomicInteger submitted = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        Executor counting = task -> {
            submitted.incrementAndGet();
            pool.execute(task);
        };
        try (Handle backend = Backends.use(new SimdBackend())) {
            Tensor x = Tensor.randn(Shape.of(M, K), 1), w = Tensor.randn(Shape.of(K, N), 2);
            float[] plain;
            try (Handle outer = GemmConfig.of(1).use()) {
                assertEquals(1, GemmConfig.current().threads());
                plain = x.matmul(w).toFloatArray();
                try (Handle inner = GemmConfig.on(counting, 2).use()) {
                    assertSame(counting, GemmConfig.current().executor());
                    float[] two = x.matmul(w).toFloatArray();
                    assertEquals(1, submitted.get(), "the scoped executor took the second range");
                    assertTrue(java.util.Arrays.equals(plain, two));
                }
                x.matmul(w);
                assertEquals(1, submitted.get(), "the inner scope is closed again");
            }
            assertEquals(Sgemm.threads(), GemmConfig.current().threads());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badConfigsAndMisorderedScopesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> GemmConfig.of(0));
        assertThrows(NullPointerException.class, () -> GemmConfig.on(null, 2));
        Handle outer = GemmConfig.of(2).use(), inner = GemmConfig.of(1).use();
        IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
        assertTrue(e.getMessage().contains("out of order"), e.getMessage());
        inner.close();
        outer.close();
        assertEquals(Sgemm.threads(), GemmConfig.current().threads());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(4);
            assertThrows(
                    NullPointerException.class,
                    () -> Sgemm.sgemm(null, false, false, 1, 1, 1, 1f, s, 0, 1, s, 0, 1, 0f, s, 0, 1));
        }
    }
}
