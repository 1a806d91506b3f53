package dev.panthera.tensor;

import java.lang.foreign.MemorySegment;

/**
 * CPU storage: a segment owned by an arena, a mapped file, or a pooled {@link MemoryPool.Allocation}. Pooled memory
 * is reused by later tensors once released, so liveness is the allocation's flag rather than the segment's scope.
 */
final class HostStorage implements Storage {
    private final DType dtype;
    private final long numel;
    private final MemorySegment segment;
    private final Object owner;
    private final MemoryPool.Allocation allocation;

    HostStorage(MemorySegment segment, DType dtype, long numel, Object owner, MemoryPool.Allocation allocation) {
        if (numel < 0) throw new IllegalArgumentException("Storage: negative element count " + numel);
        long bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        if (segment.byteSize() < bytes) {
            throw new IllegalArgumentException("Storage: segment of " + segment.byteSize() + " bytes cannot hold "
                    + numel + " " + dtype + " elements");
        }
        this.dtype = dtype;
        this.numel = numel;
        this.segment = segment;
        this.owner = owner;
        this.allocation = allocation;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public long numel() {
        return numel;
    }

    @Override
    public MemorySegment segment() {
        if (allocation != null && !allocation.isLive()) {
            throw new IllegalStateException("storage of " + numel + " " + dtype
                    + " used after its memory went back to the pool (its MemoryScope closed or released it)");
        }
        return segment;
    }

    @Override
    public MemoryPool.Allocation allocation() {
        return allocation;
    }

    @Override
    public Object owner() {
        return allocation != null ? allocation.owner() : owner;
    }

    @Override
    public boolean isAlive() {
        return allocation != null ? allocation.isLive() : segment.scope().isAlive();
    }
}
