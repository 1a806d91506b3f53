package dev.panthera.simd;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bound on the heap that optional copies of weights may hold at once (GEMM's pre-packed panels, the quantization
 * module's regrouped blocks): a copy that would pass it is not made, and its weight takes the slower path that needs
 * no copy. The limit is a system property, a byte count, with a default fraction of the maximum heap; copies give
 * their bytes back when collected ({@link #releaseWhenCollected}).
 */
public final class HeapBudget {
    /** The message logged at the first refusal, from the bytes that would be held and the limit. */
    @FunctionalInterface
    public interface Refusal {
        String message(long wouldHold, long limit);
    }

    private static final System.Logger LOG = System.getLogger(HeapBudget.class.getName());
    private static final Cleaner CLEANER = Cleaner.create();

    private final AtomicLong used = new AtomicLong();
    private final AtomicLong reserved = new AtomicLong();
    private final AtomicBoolean warned = new AtomicBoolean();
    private volatile long limit;

    /**
     * A budget whose limit is the system property {@code property} (bytes, at least 0) or, where it is unset, the
     * maximum heap divided by {@code heapDivisor}.
     *
     * @throws IllegalArgumentException when the property is not a byte count
     */
    public HeapBudget(String property, int heapDivisor) {
        String p = System.getProperty(property);
        if (p == null || p.isBlank()) {
            limit = Runtime.getRuntime().maxMemory() / heapDivisor;
            return;
        }
        try {
            long v = Long.parseLong(p.strip());
            if (v < 0) throw new NumberFormatException("negative");
            limit = v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(property + ": expected a byte count >= 0, got '" + p + "'");
        }
    }

    /**
     * Takes {@code bytes} from the budget, or returns false when they do not fit, logging {@code refusal}'s message
     * the first time.
     */
    public boolean reserve(long bytes, Refusal refusal) {
        long cap = limit;
        while (true) {
            long now = used.get();
            if (now + bytes > cap) {
                if (warned.compareAndSet(false, true))
                    LOG.log(System.Logger.Level.INFO, refusal.message(now + bytes, cap));
                return false;
            }
            if (used.compareAndSet(now, now + bytes)) {
                reserved.addAndGet(bytes);
                return true;
            }
        }
    }

    /** Gives back {@code bytes} taken by {@link #reserve}. */
    public void release(long bytes) {
        used.addAndGet(-bytes);
    }

    /** Gives back {@code bytes} once {@code owner} has been collected. */
    public void releaseWhenCollected(Object owner, long bytes) {
        CLEANER.register(owner, () -> release(bytes));
    }

    /** Bytes held now. */
    public long used() {
        return used.get();
    }

    /** Bytes ever reserved, never decreased by releases (tests: a collector freeing copies does not move it). */
    public long reservedTotal() {
        return reserved.get();
    }

    /** Sets the limit (tests); returns the previous one. */
    public long limit(long bytes) {
        long old = limit;
        limit = bytes;
        return old;
    }
}
