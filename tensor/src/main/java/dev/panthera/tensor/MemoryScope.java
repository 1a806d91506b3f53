package dev.panthera.tensor;

import dev.panthera.tensor.spi.Backend;
import java.lang.foreign.Arena;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * Deterministic ownership of native memory. Every tensor created on this thread while the scope is open takes a
 * block from its device's {@link MemoryPool}, and the block goes back to the pool when the scope closes, unless the
 * tensor was moved out with {@link #keep(Tensor)}. Scopes nest; code that opens none gets GC-managed memory.
 *
 * <pre>{@code
 * Tensor result;
 * try (var scope = MemoryScope.open()) {
 *     Tensor tmp = a.matmul(b).relu();
 *     result = scope.keep(tmp.sum());   // survives; tmp's memory is reused by the next scope
 * }
 * }</pre>
 *
 * A tensor used after its scope closed throws {@link IllegalStateException} naming the tensor: each allocation has
 * its own liveness flag, which every op checks, so a reused block is never read through a stale tensor. Opening and
 * closing a scope allocates no native memory. Pooled memory may be read from worker threads while the scope is open.
 */
public final class MemoryScope implements AutoCloseable {
    private static final ThreadLocal<Deque<MemoryScope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);
    private static final ThreadLocal<int[]> UNSCOPED = ThreadLocal.withInitial(() -> new int[1]);

    private final MemoryScope parent;
    private final Thread thread = Thread.currentThread();
    private MemoryPool.Allocation[] owned = new MemoryPool.Allocation[16];
    private int count;
    private Arena arena; // made on first call to arena()
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

    /** The scope new tensors on this thread belong to: the current one unless scopes are suspended; else null. */
    private static MemoryScope allocating() {
        MemoryScope s = current();
        return s == null || UNSCOPED.get()[0] > 0 ? null : s;
    }

    /** Zero-filled storage from {@code backend} owned by this thread's current scope, or GC-managed outside one. */
    static Storage allocate(Backend backend, DType dtype, long numel) {
        return allocateIn(allocating(), backend, dtype, numel, true);
    }

    /**
     * Storage from {@code backend} for an output its op overwrites whole: in a scope, a pooled block whose contents
     * are unspecified (no zero fill); outside one, GC-managed (zeroed). With {@link #POISON} CPU storage is filled
     * with 0xFF bytes (NaN floats), so that a kernel that leaves an element unwritten fails the tests.
     */
    static Storage allocateUninitialized(Backend backend, DType dtype, long numel) {
        Storage s = allocateIn(allocating(), backend, dtype, numel, false);
        if (POISON && Device.CPU.equals(s.device())) s.segment().fill((byte) 0xFF);
        return s;
    }

    /**
     * {@code panthera.poisonUninitialized=true} (the test suites set it): outputs allocated without a zero fill are
     * filled with 0xFF bytes instead of keeping what their memory held.
     */
    static final boolean POISON = Boolean.getBoolean("panthera.poisonUninitialized");

    private static Storage allocateIn(MemoryScope s, Backend backend, DType dtype, long numel, boolean zeroed) {
        MemoryPool pool = backend.memoryPool();
        if (s == null) {
            pool.countGcManaged();
            return backend.allocateGcManaged(dtype, numel);
        }
        long bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        MemoryPool.Allocation a = pool.allocate(bytes);
        try {
            Storage storage =
                    zeroed ? backend.allocate(dtype, numel, a) : backend.allocateUninitialized(dtype, numel, a);
            s.adopt(a);
            return storage;
        } catch (RuntimeException | Error e) {
            a.release();
            throw e;
        }
    }

    private void adopt(MemoryPool.Allocation a) {
        if (count == owned.length) owned = Arrays.copyOf(owned, count * 2);
        owned[count++] = a;
        a.owner(this);
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

    /**
     * Bytes of the pooled blocks this scope holds now, as requested ({@link MemoryPool.Allocation#bytes()}; the pool's
     * {@link MemoryPool.Stats} count whole size classes): what closing it would return. Unlike the pool's bytes in use
     * it counts this scope's blocks only, so blocks other threads or the GC release meanwhile do not change it. The
     * scope's {@link #arena()} is not counted.
     */
    public long bytesHeld() {
        long bytes = 0;
        for (int i = 0; i < count; i++) if (owned[i].isLive()) bytes += owned[i].bytes();
        return bytes;
    }

    /**
     * An arena closed with this scope, for callers that allocate their own memory under the same owner (made on
     * first use: scopes that never ask for it cost no arena).
     */
    public Arena arena() {
        if (closed) throw new IllegalStateException("MemoryScope is closed");
        if (arena == null) arena = Arena.ofShared();
        return arena;
    }

    /**
     * Moves {@code t} out of this scope: returns a contiguous copy owned by the enclosing scope (or by the GC when
     * there is none), detached from the autograd graph with the same {@code requiresGrad} flag. Tensors not owned by
     * this scope are returned as they are.
     */
    public Tensor keep(Tensor t) {
        if (closed) throw new IllegalStateException("MemoryScope.keep: scope is closed");
        Object owner = t.storage().owner();
        if (owner != this && (arena == null || owner != arena)) return t;
        t.checkAlive("keep");
        Backend be = Backends.forDevice(t.device());
        Tensor copy = Tensor.copyInto(t, allocateIn(parent, be, t.dtype(), t.numel(), false));
        copy.requiresGrad(t.requiresGrad());
        return copy;
    }

    /**
     * Returns the pooled block under {@code t} to its pool now, before this scope closes (for memory whose last use is
     * known, such as a gradient consumed by an update). {@code t} and every other tensor over the same storage (its
     * views) are dead afterwards: using them is an {@link IllegalStateException}. Returns the bytes released; 0, doing
     * nothing, when this scope does not own {@code t}'s storage or it was already released.
     */
    public long release(Tensor t) {
        if (closed) throw new IllegalStateException("MemoryScope.release: scope is closed");
        if (Thread.currentThread() != thread)
            throw new IllegalStateException("MemoryScope.release: called from another thread than the scope's");
        MemoryPool.Allocation a = t.storage().allocation();
        if (a == null || a.owner() != this || !a.isLive() || !forget(a)) return 0;
        a.release();
        return a.bytes();
    }

    /**
     * Moves the pooled block under {@code t} (with every view of it) to the enclosing scope without copying, so it
     * outlives this scope and is released with, or by, that one. Returns {@code t}. Does nothing when this scope does
     * not own {@code t}'s storage; throws when there is no enclosing scope.
     */
    public Tensor promote(Tensor t) {
        if (closed) throw new IllegalStateException("MemoryScope.promote: scope is closed");
        if (Thread.currentThread() != thread)
            throw new IllegalStateException("MemoryScope.promote: called from another thread than the scope's");
        MemoryPool.Allocation a = t.storage().allocation();
        if (a == null || a.owner() != this) return t;
        if (parent == null)
            throw new IllegalStateException("MemoryScope.promote: no enclosing scope to move " + t.describe() + " to");
        t.checkAlive("promote");
        if (forget(a)) parent.adopt(a);
        return t;
    }

    /** Removes {@code a} from the blocks this scope releases on close (searched newest first); false if absent. */
    private boolean forget(MemoryPool.Allocation a) {
        for (int i = count - 1; i >= 0; i--) {
            if (owned[i] == a) {
                owned[i] = owned[--count];
                owned[count] = null;
                return true;
            }
        }
        return false;
    }

    /**
     * Returns every block allocated in this scope to its pool (and closes {@link #arena()} if it was used). Must be
     * called on the thread that opened it, innermost first.
     */
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
        RuntimeException failure = null; // a block that fails to free must not keep the others from going back
        for (int i = 0; i < count; i++) {
            try {
                owned[i].release();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
            owned[i] = null;
        }
        count = 0;
        if (arena != null) arena.close();
        if (failure != null) throw failure;
    }
}
