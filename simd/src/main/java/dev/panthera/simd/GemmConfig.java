package dev.panthera.simd;

import dev.panthera.tensor.Handle;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * How one GEMM call may run: on at most {@code threads} threads at once, the calling thread and {@code threads − 1}
 * helpers that share the call's chunks with it, tasks submitted to {@code executor} ({@code null}: GEMM's own threads,
 * {@link Team}, never the common pool). Pass one to {@link Sgemm#sgemm(GemmConfig, boolean, boolean, int, int, int, float,
 * java.lang.foreign.MemorySegment, long, int, java.lang.foreign.MemorySegment, long, int, float,
 * java.lang.foreign.MemorySegment, long, int)}, or scope one over Tensor-API code with {@link #use()}:
 *
 * <pre>{@code
 * try (var scope = GemmConfig.of(1).use()) {   // this thread's matmuls stay on this thread
 *     y = x.matmul(w);
 * }
 * }</pre>
 *
 * <p>A caller-supplied executor should run submitted tasks on other threads; the caller claims every chunk no task
 * has claimed and waits only for chunks a task is running, so a task that is rejected, queued behind busy threads or
 * started after the call returned costs nothing but its own start (it then finds no chunk left).
 *
 * @param threads  the most threads to run at once, at least 1
 * @param executor where the helper tasks run; {@code null} for GEMM's own threads
 */
public record GemmConfig(int threads, Executor executor) {
    public GemmConfig {
        if (threads < 1)
            throw new IllegalArgumentException("GemmConfig: thread count must be at least 1, got " + threads);
    }

    /** {@code threads} threads: the caller and GEMM's own helpers. */
    public static GemmConfig of(int threads) {
        return new GemmConfig(threads, null);
    }

    /** {@code threads} threads: the caller and helper tasks on {@code executor}. */
    public static GemmConfig on(Executor executor, int threads) {
        return new GemmConfig(threads, Objects.requireNonNull(executor, "GemmConfig: executor"));
    }

    /** What a call without a config uses: the innermost {@link #use()} scope of this thread, else {@link Sgemm#threads()} on GEMM's own threads. */
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
