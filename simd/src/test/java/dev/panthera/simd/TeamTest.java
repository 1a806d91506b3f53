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
 * and at most the allowed number of helpers; the caller claims chunks from the front and helpers from the back; a
 * failure in a chunk reaches the caller; a helper that starts after the loop is over does nothing; loops nest and run
 * from several threads at once without waiting on each other; background work runs on a helper between loops.
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

    @Test
    void theCallerClaimsFromTheFrontAndAHelperFromTheBack() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            int chunks = 10;
            for (int rep = 0; rep < 20; rep++) {
                Thread caller = Thread.currentThread();
                CountDownLatch helperStarted = new CountDownLatch(1);
                List<Integer> byCaller = java.util.Collections.synchronizedList(new ArrayList<>());
                List<Integer> byHelper = java.util.Collections.synchronizedList(new ArrayList<>());
                Executor ownThread = task -> Thread.ofPlatform().start(task);
                TEAM.run(ownThread, 1, chunks * 3, 3, (from, to) -> {
                    if (Thread.currentThread() == caller) {
                        // the caller's first chunk waits until the helper holds a chunk of its own
                        if (from == 0) await(helperStarted);
                        byCaller.add(from / 3);
                    } else {
                        byHelper.add(from / 3);
                        helperStarted.countDown();
                    }
                });
                assertEquals(chunks, byCaller.size() + byHelper.size());
                assertTrue(!byHelper.isEmpty() && byHelper.getFirst() == chunks - 1, "helper's chunks " + byHelper);
                for (int i = 0; i < byCaller.size(); i++)
                    assertEquals(i, byCaller.get(i), "the caller's chunks in order from 0: " + byCaller);
                for (int i = 0; i < byHelper.size(); i++)
                    assertEquals(
                            chunks - 1 - i, byHelper.get(i), "the helper's chunks in order from the last: " + byHelper);
            }
        });
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void backgroundWorkRunsOnOneHelperUntilItSaysDone() {
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            Team team = new Team();
            try {
                AtomicInteger sum = new AtomicInteger();
                team.run(null, 1, 100, 10, (from, to) -> sum.addAndGet(to - from)); // starts the helper
                Thread.sleep(50); // past its polling time: the helper is parked, and an offer wakes it
                // a step that throws drops its task; the helper goes on
                AtomicInteger failing = new AtomicInteger();
                team.background(() -> {
                    failing.incrementAndGet();
                    throw new IllegalStateException("a failing read-ahead");
                });
                while (failing.get() == 0) Thread.sleep(1);
                Thread.sleep(50);
                Set<Thread> ran = ConcurrentHashMap.newKeySet();
                AtomicInteger steps = new AtomicInteger();
                team.background(() -> {
                    ran.add(Thread.currentThread());
                    return steps.incrementAndGet() < 50;
                });
                while (steps.get() < 50) Thread.sleep(1);
                for (int i = 0; i < 20; i++) team.run(null, 1, 100, 10, (from, to) -> sum.addAndGet(to - from));
                assertEquals(1, failing.get(), "a failed task is not run again");
                assertEquals(50, steps.get(), "no step after the one that returned false");
                assertEquals(100 * 21, sum.get(), "every loop ran whole");
                assertTrue(!ran.contains(Thread.currentThread()) && ran.size() == 1, "steps ran on " + ran);
            } finally {
                team.shutdown();
            }
        });
    }

    @Property(tries = 100)
    void chunksFromBackAreTheChunksParallelRangesRuns(
            @ForAll @IntRange(min = 0, max = 5000) int total,
            @ForAll @IntRange(min = 1, max = 40) int align,
            @ForAll @IntRange(min = 1, max = 3) int threads,
            @ForAll boolean small) {
        long flops = small ? Sgemm.PARALLEL_FLOPS - 1 : Sgemm.PARALLEL_FLOPS;
        try (var config = GemmConfig.of(threads).use()) {
            Set<List<Integer>> ran = ConcurrentHashMap.newKeySet();
            Sgemm.parallelRanges(total, flops, align, (from, to) -> ran.add(List.of(from, to)));
            int[] back = Sgemm.chunksFromBack(total, flops, align);
            if (ran.size() <= 1) {
                assertEquals(0, back.length, "one range on the caller: nothing to claim from the back");
                return;
            }
            List<List<Integer>> listed = new ArrayList<>();
            for (int i = 0; i < back.length; i += 2) listed.add(List.of(back[i], back[i + 1]));
            assertEquals(ran, Set.copyOf(listed), "the same chunks");
            assertEquals(ran.size(), listed.size(), "each once");
            for (int i = 1; i < listed.size(); i++)
                assertEquals(listed.get(i).get(1), listed.get(i - 1).get(0), "from the last chunk down: " + listed);
        }
    }
}
