package dev.panthera.tensor;

import java.lang.foreign.Arena;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Deterministic ownership of native memory. Every tensor created on this thread while the scope is open is allocated
 * in the scope's arena and freed when the scope closes, unless it was moved out with {@link #keep(Tensor)}.
 * Scopes nest; code that opens none gets GC-managed memory.
 *
 * <pre>{@code
 * Tensor result;
 * try (var scope = MemoryScope.open()) {
 *     Tensor tmp = a.matmul(b).relu();
 *     result = scope.keep(tmp.sum());   // survives; tmp is freed here
 * }
 * }</pre>
 *
 * A tensor used after its scope closed throws {@link IllegalStateException} naming the tensor.
 * Memory is shared-arena memory: backends may read it from worker threads while the scope is open.
 */
public final class MemoryScope implements AutoCloseable {
    private static final ThreadLocal<Deque<MemoryScope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final Arena arena = Arena.ofShared();
    private final MemoryScope parent;
    private final Thread thread = Thread.currentThread();
    private boolean closed;

    private MemoryScope(MemoryScope parent) {
        this.parent = parent;
    }

    /** Opens a scope on this thread, nested in the current one if any. */
    public static MemoryScope open() {
        Deque<MemoryScope> stack = STACK.get();
        MemoryScope s = new MemoryScope(stack.peek());
        stack.push(s);
        return s;
    }

    /** The innermost open scope of this thread, or null. */
    public static MemoryScope current() {
        return STACK.get().peek();
    }

    private static final ThreadLocal<int[]> UNSCOPED = ThreadLocal.withInitial(() -> new int[1]);

    /** The arena new storage goes into on this thread: the current scope's, else a GC-managed one. */
    static Arena allocationArena() {
        MemoryScope s = current();
        return s == null || UNSCOPED.get()[0] > 0 ? Arena.ofAuto() : s.arena;
    }

    /**
     * Runs {@code body} with scopes suspended on this thread: what it allocates is GC-managed and outlives every open
     * scope. For long-lived state made inside a loop's scope (optimizer moments, caches, gradients of parameters).
     */
    public static <T> T unscoped(java.util.function.Supplier<T> body) {
        int[] c = UNSCOPED.get();
        c[0]++;
        try {
            return body.get();
        } finally {
            c[0]--;
        }
    }

    /** This scope's arena, for callers that allocate their own memory under the same owner. */
    public Arena arena() {
        if (closed) throw new IllegalStateException("MemoryScope is closed");
        return arena;
    }

    /**
     * Moves {@code t} out of this scope: returns a contiguous copy owned by the enclosing scope (or by the GC when
     * there is none), detached from the autograd graph with the same {@code requiresGrad} flag. Tensors not owned by
     * this scope are returned as they are.
     */
    public Tensor keep(Tensor t) {
        if (closed) throw new IllegalStateException("MemoryScope.keep: scope is closed");
        if (t.storage().owner() != arena) return t;
        Arena target = parent == null ? Arena.ofAuto() : parent.arena;
        Tensor copy = Tensor.copyInto(t, target);
        copy.requiresGrad(t.requiresGrad());
        return copy;
    }

    /** Frees every tensor allocated in this scope. Must be called on the thread that opened it, innermost first. */
    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread)
            throw new IllegalStateException("MemoryScope closed from another thread than the one that opened it");
        Deque<MemoryScope> stack = STACK.get();
        if (stack.peek() != this)
            throw new IllegalStateException("MemoryScope: an inner scope is still open; close scopes innermost first");
        stack.pop();
        closed = true;
        arena.close();
    }
}
