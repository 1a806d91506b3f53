package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/** {@link Sgemm#forEach}: every index exactly once, and small loops never leave the calling thread. */
class SgemmForEachTest {
    @Property(tries = 60)
    void visitsEveryIndexOnceAndKeepsSmallWorkOnTheCaller(
            @ForAll @IntRange(min = 0, max = 97) int n,
            @ForAll @IntRange(min = 1, max = 3) int threads,
            @ForAll @LongRange(min = 0, max = 2 * Sgemm.PARALLEL_FLOPS) long flops) {
        AtomicIntegerArray seen = new AtomicIntegerArray(n);
        Set<Thread> ran = ConcurrentHashMap.newKeySet();
        try (var scope = GemmConfig.of(threads).use()) {
            Sgemm.forEach(n, flops, i -> {
                seen.incrementAndGet(i);
                ran.add(Thread.currentThread());
            });
        }
        for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "index " + i + " of " + n);
        if (flops < Sgemm.PARALLEL_FLOPS || threads == 1 || n <= 1)
            assertEquals(n == 0 ? Set.of() : Set.of(Thread.currentThread()), ran, "threads that ran the loop");
        assertTrue(ran.size() <= threads, ran.size() + " threads ran a loop allowed " + threads);
    }
}
