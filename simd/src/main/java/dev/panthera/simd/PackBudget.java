package dev.panthera.simd;

/**
 * The heap that pre-packed GEMM weights ({@link PackedPanels}, 4 bytes per weight whatever the weight's dtype) may
 * hold at once. Past it a weight is left unpacked: its products pack their panels per call, slower for prefill but
 * without the second copy; unbounded, a billion-parameter model's panels would not fit a default heap. The limit is
 * the system property {@code panthera.simd.packBudgetBytes}, default a third of the maximum heap; panels give their
 * bytes back when collected.
 */
final class PackBudget {
    private PackBudget() {}

    private static final HeapBudget BUDGET = new HeapBudget("panthera.simd.packBudgetBytes", 3);

    /** Takes {@code bytes} from the budget, or returns false (logging the first refusal) when they do not fit. */
    static boolean reserve(long bytes, int k, int n) {
        return BUDGET.reserve(
                bytes,
                (total, cap) -> "packedForMatmul: packing a " + k + " x " + n + " weight would hold " + total
                        + " bytes of panels, past the budget of " + cap + " (panthera.simd.packBudgetBytes, default a"
                        + " third of the heap); it and any later such weight stay unpacked");
    }

    static void release(long bytes) {
        BUDGET.release(bytes);
    }

    /** Gives back {@code bytes} once {@code owner} has been collected. */
    static void releaseWhenCollected(Object owner, long bytes) {
        BUDGET.releaseWhenCollected(owner, bytes);
    }

    /** Bytes held now, for tests. */
    static long used() {
        return BUDGET.used();
    }

    /** Bytes ever reserved, never decreased by releases (tests: a collector freeing panels does not move it). */
    static long reservedTotal() {
        return BUDGET.reservedTotal();
    }

    /** Sets the limit (tests); returns the previous one. */
    static long limit(long bytes) {
        return BUDGET.limit(bytes);
    }
}
