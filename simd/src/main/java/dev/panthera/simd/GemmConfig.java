package dev.panthera.simd;

import dev.panthera.tensor.Handle;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * How one GEMM call may run: at most {@code threads} ranges at once, the calling thread doing the first and the rest
 * submitted to {@code executor} ({@code null}: GEMM's own pool, sized by {@link Sgemm#setThreads(int)}, never the
 * common pool). Pass one to {@link Sgemm#sgemm(GemmConfig, boolean, boolean, int, int, int, float,
 * java.lang.foreign.MemorySegment, long, int, java.lang.foreign.MemorySegment, long, int, float,
 * java.lang.foreign.MemorySegment, long, int)}, or scope one over Tensor-API code with {@link #use()}:
 *
 * <pre>{@code
 * try (var scope = GemmConfig.of(1).use()) {   // this thread's matmuls stay on this thread
 *     y = x.matmul(w);
 * }
 * }</pre>
 *
 * <p>A caller-supplied executor must run submitted tasks on other threads (or reject them, in which case the caller
 * runs the range itself); GEMM waits for its ranges, so an executor whose threads are all busy waiting on this call
 * deadlocks, as with any fork-join work on a bounded pool.
 *
 * @param threads  the most ranges to run at once, at least 1
 * @param executor where ranges after the first run; {@code null} for GEMM's own pool
 */
public record GemmConfig(int threads, Executor executor) {
    public GemmConfig {
        if (threads < 1)
            throw new IllegalArgumentException("GemmConfig: thread count must be at least 1, got " + threads);
    }

    /** {@code threads} ranges on GEMM's own pool. */
    public static GemmConfig of(int threads) {
        return new GemmConfig(threads, null);
    }

    /** {@code threads} ranges, those after the first on {@code executor}. */
    public static GemmConfig on(Executor executor, int threads) {
        return new GemmConfig(threads, Objects.requireNonNull(executor, "GemmConfig: executor"));
    }

    /** What a call without a config uses: the innermost {@link #use()} scope of this thread, else {@link Sgemm#threads()} on GEMM's own pool. */
    public static GemmConfig current() {
        GemmConfig c = SCOPES.get().peek();
        return c != null ? c : of(Sgemm.threads());
    }

    private static final ThreadLocal<Deque<GemmConfig>> SCOPES = ThreadLocal.withInitial(ArrayDeque::new);

    /**
     * Makes this the config of every GEMM started on this thread (directly, or by the SIMD backend's matmul) until
     * the handle is closed; scopes nest, and must be closed in reverse order on the thread that opened them.
     */
    public Handle use() {
        Deque<GemmConfig> stack = SCOPES.get();
        stack.push(this);
        Thread owner = Thread.currentThread();
        boolean[] closed = {false};
        return () -> {
            if (closed[0]) return;
            if (Thread.currentThread() != owner)
                throw new IllegalStateException("GemmConfig scope closed on "
                        + Thread.currentThread().getName() + ", opened on " + owner.getName());
            if (stack.peek() != this) throw new IllegalStateException("GemmConfig scopes closed out of order");
            stack.pop();
            closed[0] = true;
        };
    }
}
