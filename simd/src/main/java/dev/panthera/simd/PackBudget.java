package dev.panthera.simd;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The heap that pre-packed GEMM weights ({@link PackedPanels}, 4 bytes per weight whatever the weight's dtype) may
 * hold at once. Past it a weight is left unpacked: its products pack their panels per call, slower for prefill but
 * without the second copy; unbounded, a billion-parameter model's panels would not fit a default heap. The limit is
 * the system property {@code panthera.simd.packBudgetBytes},
 * default a third of the maximum heap; panels give their bytes back when collected.
 */
final class PackBudget {
    private PackBudget() {}

    private static final System.Logger LOG = System.getLogger(PackBudget.class.getName());
    private static final AtomicLong USED = new AtomicLong();
    private static final AtomicLong RESERVED = new AtomicLong();
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    private static volatile long limit = defaultLimit();

    private static long defaultLimit() {
        String p = System.getProperty("panthera.simd.packBudgetBytes");
        if (p == null || p.isBlank()) return Runtime.getRuntime().maxMemory() / 3;
        try {
            long v = Long.parseLong(p.strip());
            if (v < 0) throw new NumberFormatException("negative");
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "panthera.simd.packBudgetBytes: expected a byte count >= 0, got '" + p + "'");
        }
    }

    /** Takes {@code bytes} from the budget, or returns false (logging the first refusal) when they do not fit. */
    static boolean reserve(long bytes, int k, int n) {
        long cap = limit;
        while (true) {
            long used = USED.get();
            if (used + bytes > cap) {
                if (WARNED.compareAndSet(false, true))
                    LOG.log(
                            System.Logger.Level.INFO,
                            "packedForMatmul: packing a " + k + " x " + n + " weight would hold " + (used + bytes)
                                    + " bytes of panels, past the budget of " + cap + " (panthera.simd.packBudgetBytes,"
                                    + " default a third of the heap); it and any later such weight stay unpacked");
                return false;
            }
            if (USED.compareAndSet(used, used + bytes)) {
                RESERVED.addAndGet(bytes);
                return true;
            }
        }
    }

    static void release(long bytes) {
        USED.addAndGet(-bytes);
    }

    /** Bytes held now, for tests. */
    static long used() {
        return USED.get();
    }

    /** Bytes ever reserved, never decreased by releases (tests: a collector freeing panels does not move it). */
    static long reservedTotal() {
        return RESERVED.get();
    }

    /** Sets the limit (tests); returns the previous one. */
    static long limit(long bytes) {
        long old = limit;
        limit = bytes;
        return old;
    }
}
