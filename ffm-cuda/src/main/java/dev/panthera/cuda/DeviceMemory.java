package dev.panthera.cuda;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The owner of device buffers: every buffer it allocates is freed when it closes (if not freed before). Buffers
 * are allocated and freed through a {@link DeviceAllocator}, normally stream-ordered on one {@link CudaStream}.
 */
public final class DeviceMemory implements AutoCloseable {
    private final DeviceAllocator allocator;
    private final Set<DeviceBuffer> live = Collections.newSetFromMap(new IdentityHashMap<>());
    private boolean closed;

    /** An owner allocating through {@code allocator}. */
    public DeviceMemory(DeviceAllocator allocator) {
        this.allocator = allocator;
    }

    /** An owner allocating with cudaMallocAsync on {@code stream}. */
    public static DeviceMemory onStream(CudaStream stream) {
        return new DeviceMemory(DeviceAllocator.onStream(stream));
    }

    /** A new buffer of {@code bytes} (contents undefined). */
    public synchronized DeviceBuffer allocate(long bytes) {
        if (closed)
            throw new CudaException(
                    "panthera", "DeviceMemory.allocate", CudaException.CLOSED, "CLOSED", "owner is closed");
        if (bytes < 0) throw new IllegalArgumentException("DeviceMemory.allocate: negative size " + bytes);
        DeviceBuffer b = new DeviceBuffer(this, allocator.allocate(bytes), bytes);
        live.add(b);
        return b;
    }

    /** How many buffers are still allocated. */
    public synchronized int liveCount() {
        return live.size();
    }

    void release(DeviceBuffer buffer, java.lang.foreign.MemorySegment pointer) {
        synchronized (this) {
            live.remove(buffer);
        }
        allocator.free(pointer);
    }

    /** Frees every buffer still allocated; later use of any of them throws. */
    @Override
    public void close() {
        List<DeviceBuffer> toFree;
        synchronized (this) {
            if (closed) return;
            closed = true;
            toFree = new ArrayList<>(live);
        }
        RuntimeException first = null;
        for (DeviceBuffer b : toFree) {
            try {
                b.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
