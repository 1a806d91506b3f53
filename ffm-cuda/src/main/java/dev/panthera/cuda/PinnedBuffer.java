package dev.panthera.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory (cudaMallocHost) for staging copies. Its segment belongs to an arena owned by this
 * buffer: after {@link #close()} the memory is freed (cudaFreeHost) and any access to the segment throws.
 */
public final class PinnedBuffer implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment segment;

    private PinnedBuffer(Arena arena, MemorySegment segment) {
        this.arena = arena;
        this.segment = segment;
    }

    /** {@code bytes} of pinned host memory. */
    public static PinnedBuffer allocate(long bytes) {
        Cudart rt = Cudart.get();
        MemorySegment raw = rt.mallocHost(Math.max(1, bytes));
        Arena arena = Arena.ofShared();
        return new PinnedBuffer(arena, raw.reinterpret(bytes, arena, p -> rt.freeHost(p)));
    }

    /** The host segment (valid until close). */
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
