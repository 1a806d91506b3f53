package dev.panthera.simd;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * GEMM's own worker threads and the loop that shares an index range with them. A loop is cut into chunks fixed before
 * it starts (their boundaries do not depend on which thread takes them, so a kernel that computes each output the
 * same way in any chunk gives bit-identical results on any number of threads); the calling thread claims chunks from
 * the front and the helpers from the back, through one atomic pair of counters, until none is left. So each thread
 * runs contiguous chunks (a core's hardware prefetcher, running past the end of one chunk, reads the thread's own
 * next one, not the other thread's), and a helper's first chunk is known before the loop starts: the last, which
 * {@link Sgemm#background} work may read ahead. The caller never waits for a helper that has not started:
 * a helper that wakes late, or runs on a CPU another process holds, finds fewer (or no) chunks left and the caller
 * has done them; the caller waits only for chunks a helper has already claimed.
 *
 * <p>A hand-off costs what waking a thread costs. Helpers therefore keep polling for work with
 * {@link Thread#onSpinWait()} for {@link #SPIN_NANOS} after their last chunk (as OpenMP runtimes and llama.cpp's
 * threads do between the operations of a forward pass) and park only after that; a decode step's many GEMVs find
 * them awake. They spin only while the team fits the machine's processors (a spinning thread on a processor the
 * caller needs would slow it). Between loops a helper runs the {@link Sgemm.Background} work last offered (one helper
 * takes each offer), a step at a time, taking any loop posted between two steps.
 *
 * <p>Loops may start from several threads at once (each posts its own job; helpers serve them in order) and from
 * inside a chunk (the nested loop's caller again does whatever no helper takes, so nothing waits on a thread that is
 * itself waiting). Helpers are daemon threads; {@link #shutdown()} lets them finish their chunk and end.
 */
final class Team {
    /**
     * How long an idle helper polls for the next job before parking: about the gap between two GEMVs of a decode
     * step that run on the caller alone (norms, RoPE, attention of a short context), so that the next one finds it
     * awake. Set with the system property {@code panthera.spinMicros} (0: park at once).
     */
    static final long SPIN_NANOS = Long.getLong("panthera.spinMicros", 200) * 1000;

    private static final int PROCESSORS = Runtime.getRuntime().availableProcessors();
    private static final AtomicInteger NAMES = new AtomicInteger();

    private final ConcurrentLinkedQueue<Job> jobs = new ConcurrentLinkedQueue<>();
    private volatile Helper[] helpers = new Helper[0];
    private volatile boolean shutdown;
    private final AtomicReference<Sgemm.Background> background = new AtomicReference<>();

    /** One loop: its chunks, the counters that hand them out and count them done, the first failure. */
    static final class Job {
        private final Sgemm.Range body;
        private final int total, chunk, chunks;
        private final AtomicInteger done = new AtomicInteger(), seats;
        /** Chunks claimed from the front (by the caller) in the high 32 bits, from the back (by helpers) in the low. */
        private final AtomicLong claimed = new AtomicLong();

        private final Thread owner = Thread.currentThread();
        private volatile Throwable failure;

        Job(Sgemm.Range body, int total, int chunk, int helpers) {
            this.body = body;
            this.total = total;
            this.chunk = chunk;
            this.chunks = (int) (((long) total + chunk - 1) / chunk);
            this.seats = new AtomicInteger(helpers);
        }

        /** Claims the next chunk from the front or the back; -1 when every chunk is claimed. */
        private int claim(boolean back) {
            for (; ; ) {
                long s = claimed.get();
                int f = (int) (s >>> 32), b = (int) s;
                if (f + b >= chunks) return -1;
                if (claimed.compareAndSet(s, back ? s + 1 : s + (1L << 32))) return back ? chunks - 1 - b : f;
            }
        }

        private boolean allClaimed() {
            long s = claimed.get();
            return (int) (s >>> 32) + (int) s >= chunks;
        }

        /**
         * Claims and runs chunks, from the back when {@code back} (a helper), until none is left; after a failure the
         * rest are only counted.
         */
        void drain(boolean back) {
            for (int c; (c = claim(back)) >= 0; ) {
                try {
                    if (failure == null) {
                        int from = c * chunk;
                        body.run(from, (int) Math.min(total, (long) from + chunk));
                    }
                } catch (Throwable t) {
                    if (failure == null) failure = t;
                } finally {
                    if (done.incrementAndGet() == chunks) LockSupport.unpark(owner);
                }
            }
        }

        /** Whether a helper may still join (a seat is free and some chunk unclaimed); takes the seat if so. */
        boolean join() {
            if (allClaimed()) return false;
            for (int s; (s = seats.get()) > 0; ) if (seats.compareAndSet(s, s - 1)) return true;
            return false;
        }

        boolean exhausted() {
            return allClaimed() || seats.get() <= 0;
        }

        /** Waits until every claimed chunk is done: polling briefly (the last chunk is short), then parked. */
        void await() {
            long start = System.nanoTime();
            while (done.get() < chunks) {
                if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
                else LockSupport.parkNanos(this, 50_000);
            }
        }

        /** The first failure of a chunk, rethrown on the caller's thread. */
        void rethrow(String op) {
            Throwable t = failure;
            if (t == null) return;
            if (t instanceof RuntimeException re) throw re;
            if (t instanceof Error e) throw e;
            throw new IllegalStateException(op + ": a parallel range failed", t);
        }
    }

    /**
     * Runs {@code body} over [0, total) in chunks of {@code chunk} indices (the last one shorter), on this thread and
     * up to {@code helpers} others: this team's threads, or tasks submitted to {@code executor} when it is not null
     * (a task that starts after the loop is done finds nothing to do; a rejected task leaves its share to the caller).
     */
    void run(Executor executor, int helpers, int total, int chunk, Sgemm.Range body) {
        if (total <= 0) return;
        if (helpers <= 0 || chunk >= total) {
            body.run(0, total);
            return;
        }
        Job job = new Job(body, total, chunk, helpers);
        if (executor != null) {
            for (int i = 0; i < helpers; i++) {
                try {
                    executor.execute(() -> {
                        if (job.join()) job.drain(true);
                    });
                } catch (RejectedExecutionException e) {
                    break; // the caller takes the chunks no task will
                }
            }
        } else {
            post(job, helpers);
        }
        try {
            job.drain(false);
            job.await();
        } finally {
            if (executor == null) jobs.remove(job);
        }
        job.rethrow("parallel loop");
    }

    /** Queues the job and wakes up to {@code wanted} parked helpers, starting helpers the team lacks. */
    private void post(Job job, int wanted) {
        Helper[] hs = grow(wanted);
        jobs.add(job);
        for (int i = 0; i < wanted && i < hs.length; i++) hs[i].wake();
    }

    private Helper[] grow(int wanted) {
        Helper[] hs = helpers;
        if (hs.length >= wanted || shutdown) return hs;
        synchronized (this) {
            hs = helpers;
            if (hs.length >= wanted || shutdown) return hs;
            Helper[] more = java.util.Arrays.copyOf(hs, wanted);
            for (int i = hs.length; i < wanted; i++) more[i] = new Helper();
            helpers = more;
            for (int i = hs.length; i < wanted; i++) more[i].thread.start();
            return more;
        }
    }

    /**
     * Offers {@code b} to the helpers, replacing the work offered before: one helper takes it (a parked one is woken)
     * and runs it a step at a time whenever no loop is queued, until a step returns false or a newer offer replaces it.
     */
    void background(Sgemm.Background b) {
        Helper[] hs = helpers;
        if (hs.length == 0) return;
        background.set(b);
        hs[0].wake();
    }

    /** Lets every helper end once its current chunk is done; jobs already posted are finished by their callers. */
    void shutdown() {
        shutdown = true;
        for (Helper h : helpers) LockSupport.unpark(h.thread);
    }

    /** The next job a helper may join, dropping exhausted ones from the queue. */
    private Job take() {
        // an idle helper calls this in its spin loop: an empty queue answers without allocating an iterator
        if (jobs.peek() == null) return null;
        for (Job j : jobs) {
            if (j.join()) return j;
            if (j.exhausted()) jobs.remove(j);
        }
        return null;
    }

    private final class Helper implements Runnable {
        final Thread thread;
        private volatile boolean parked;

        Helper() {
            thread = new Thread(this, "panthera-gemm-" + NAMES.incrementAndGet());
            thread.setDaemon(true);
        }

        void wake() {
            if (parked) LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            long idleSince = System.nanoTime();
            Sgemm.Background task = null; // background work taken, run between loops
            while (!shutdown) {
                Job j = take();
                if (j != null) {
                    j.drain(true);
                    idleSince = System.nanoTime();
                    continue;
                }
                // one helper takes an offer; a newer offer replaces the task in hand
                if (background.get() != null) {
                    Sgemm.Background offered = background.getAndSet(null);
                    if (offered != null) task = offered;
                }
                if (task != null) {
                    boolean more;
                    try {
                        more = task.step();
                    } catch (RuntimeException e) {
                        more = false; // advisory work: a failing task is dropped, the helper goes on
                    }
                    if (!more) task = null;
                    continue;
                }
                boolean spin = helpers.length < PROCESSORS && System.nanoTime() - idleSince < SPIN_NANOS;
                if (spin) {
                    Thread.onSpinWait();
                    continue;
                }
                parked = true; // then look once more: a job posted before this write is seen, one after it wakes us
                if (jobs.isEmpty() && background.get() == null && !shutdown) LockSupport.park(this);
                parked = false;
                idleSince = System.nanoTime();
            }
        }
    }
}
