package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * {@link Team}: every index of a loop runs exactly once in chunks with the fixed boundaries it was given, on the caller
 * and at most the allowed number of helpers; a failure in a chunk reaches the caller; a helper that starts after the
 * loop is over does nothing; loops nest and run from several threads at once without waiting on each other.
 */
class TeamTest {
    private static final Team TEAM = new Team();

    @Property(tries = 200)
    void everyIndexOnceInTheGivenChunks(
            @ForAll @IntRange(min = 0, max = 1031) int total,
            @ForAll @IntRange(min = 1, max = 97) int chunk,
            @ForAll @IntRange(min = 0, max = 3) int helpers) {
        AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(total, 1));
        Set<Thread> ran = ConcurrentHashMap.newKeySet();
        List<String> bad = java.util.Collections.synchronizedList(new ArrayList<>());
        TEAM.run(null, helpers, total, chunk, (from, to) -> {
            ran.add(Thread.currentThread());
            boolean whole = from % chunk == 0 && (to - from == chunk || to == total);
            if (helpers > 0 && chunk < total && !whole) bad.add("[" + from + ", " + to + ")");
            for (int i = from; i < to; i++) seen.incrementAndGet(i);
        });
        assertTrue(bad.isEmpty(), "ranges off the chunk grid of " + chunk + ": " + bad);
        for (int i = 0; i < total; i++) assertEquals(1, seen.get(i), "index " + i + " of " + total);
        assertTrue(ran.size() <= helpers + 1, ran.size() + " threads for " + helpers + " helpers");
        if (total == 0) assertTrue(ran.isEmpty());
    }

    @Test
    void aFailingChunkReachesTheCallerAfterTheOthersFinish() {
        AtomicInteger started = new AtomicInteger(), finished = new AtomicInteger();
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> TEAM.run(null, 1, 1000, 10, (from, to) -> {
                    started.incrementAndGet();
                    if (from == 500) throw new IllegalStateException("chunk " + from);
                    finished.incrementAndGet();
                }));
        assertEquals("chunk 500", e.getMessage());
        // the caller returned only after every chunk that started had finished. How many chunks ran after the
        // failure is timing: a thread can lose its processor between claiming chunk 500 and recording the failure,
        // and the other thread claims on meanwhile, so no bound on that count is asserted
        assertEquals(started.get() - 1, finished.get(), "a chunk still running when the caller returned");
        // the team still works afterwards
        AtomicInteger sum = new AtomicInteger();
        TEAM.run(null, 1, 100, 7, (from, to) -> sum.addAndGet(to - from));
        assertEquals(100, sum.get());
    }

    @Test
    void aHelperTaskThatStartsLateFindsNothingToDo() throws Exception {
        List<Runnable> held = new ArrayList<>();
        Executor holding = held::add; // runs nothing until the loop is over
        AtomicIntegerArray seen = new AtomicIntegerArray(64);
        Set<Thread> ran = ConcurrentHashMap.newKeySet();
        TEAM.run(holding, 2, 64, 4, (from, to) -> {
            ran.add(Thread.currentThread());
            for (int i = from; i < to; i++) seen.incrementAndGet(i);
        });
        assertEquals(2, held.size(), "one task per helper");
        assertEquals(Set.of(Thread.currentThread()), ran, "the caller did every chunk");
        for (Runnable task : held) task.run();
        for (int i = 0; i < 64; i++) assertEquals(1, seen.get(i), "index " + i);
    }

    @Test
    void nestedLoopsAndConcurrentCallersFinish() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            int callers = 4;
            CountDownLatch start = new CountDownLatch(1);
            AtomicInteger total = new AtomicInteger();
            List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < callers; c++) {
                Thread t = new Thread(() -> {
                    try {
                        start.await();
                        for (int rep = 0; rep < 200; rep++) {
                            TEAM.run(null, 2, 12, 1, (from, to) -> {
                                for (int i = from; i < to; i++)
                                    TEAM.run(null, 2, 30, 4, (f, t2) -> total.addAndGet(t2 - f));
                            });
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                });
                threads.add(t);
                t.start();
            }
            start.countDown();
            for (Thread t : threads) t.join();
            assertTrue(errors.isEmpty(), errors.toString());
            assertEquals(callers * 200 * 12 * 30, total.get());
        });
    }

    @Test
    void oneChunkOrNoHelpersStayOnTheCaller() {
        Set<Thread> ran = ConcurrentHashMap.newKeySet();
        TEAM.run(null, 3, 50, 50, (from, to) -> ran.add(Thread.currentThread()));
        TEAM.run(null, 0, 50, 5, (from, to) -> ran.add(Thread.currentThread()));
        assertEquals(Set.of(Thread.currentThread()), ran);
    }

    @Test
    void aShutDownTeamLeavesTheWorkToItsCallers() {
        Team team = new Team();
        AtomicInteger sum = new AtomicInteger();
        team.run(null, 1, 1000, 10, (from, to) -> sum.addAndGet(to - from));
        team.shutdown();
        team.run(null, 1, 1000, 10, (from, to) -> sum.addAndGet(to - from));
        assertEquals(2000, sum.get());
    }
}
