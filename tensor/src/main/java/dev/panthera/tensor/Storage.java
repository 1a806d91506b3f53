package dev.panthera.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A flat buffer of elements of one dtype on one device. CPU storage is a 64-byte-aligned off-heap
 * {@link MemorySegment} (see {@link #allocate}, {@link #wrap}, {@link #pooled}); other devices implement this
 * interface with their own handle, and their {@link #segment()} throws.
 *
 * <p>Every storage knows whether its memory is still its own ({@link #isAlive()}): false once its arena closed or
 * its pooled block went back to the {@link MemoryPool} (its {@link MemoryScope} closed).
 */
public interface Storage {
    /** Alignment of every CPU allocation, in bytes (a cache line; two AVX2 vectors). */
    long ALIGNMENT = 64;

    DType dtype();

    Device device();

    long numel();

    default long byteSize() {
        return numel() * dtype().byteSize();
    }

    /** The CPU segment. Throws for storage that lives on another device, and once the memory was released. */
    MemorySegment segment();

    /** Whatever keeps this storage's memory alive (an arena, a mapped file, a {@link MemoryScope}); may be null. */
    Object owner();

    /** False once the memory was released (its scope closed). */
    boolean isAlive();

    /** The pooled block under this storage, or null when its memory is not from a {@link MemoryPool}. */
    default MemoryPool.Allocation allocation() {
        return null;
    }

    /** Zero-filled CPU storage in {@code arena}. */
    static Storage allocate(DType dtype, long numel, Arena arena) {
        long bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        return new HostStorage(arena.allocate(Math.max(bytes, 1), ALIGNMENT), dtype, numel, arena, null);
    }

    /**
     * Zero-filled CPU storage released by the garbage collector: small blocks (up to 512 bytes) are slices of a
     * per-thread slab, larger ones have an automatic arena of their own.
     */
    static Storage gcManaged(DType dtype, long numel) {
        return SmallBlocks.allocate(dtype, numel);
    }

    /** CPU storage over an existing segment (for example a slice of a memory-mapped file); {@code owner} keeps it. */
    static Storage wrap(MemorySegment segment, DType dtype, long numel, Object owner) {
        return new HostStorage(segment, dtype, numel, owner, null);
    }

    /**
     * Zero-filled CPU storage over a block of the host {@link MemoryPool}; dead once {@code allocation} is released.
     */
    static Storage pooled(DType dtype, long numel, MemoryPool.Allocation allocation) {
        Storage s = pooledUninitialized(dtype, numel, allocation);
        if (allocation.reused()) s.segment().fill((byte) 0);
        return s;
    }

    /**
     * CPU storage over a block of the host {@link MemoryPool} holding whatever the block last held (zeros when it is
     * new): for outputs whose kernel writes every element. Dead once {@code allocation} is released.
     */
    static Storage pooledUninitialized(DType dtype, long numel, MemoryPool.Allocation allocation) {
        long bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        MemorySegment s = allocation.memory().asSlice(0, Math.max(bytes, 1));
        return new HostStorage(s, dtype, numel, null, allocation);
    }
}
