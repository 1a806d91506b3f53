package dev.panthera.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A flat buffer of elements of one dtype on one device. CPU storage is a 64-byte-aligned off-heap
 * {@link MemorySegment}; its lifetime is the {@link Arena} that allocated it (a {@link MemoryScope}'s arena, or a
 * GC-managed one when no scope is open). Other devices subclass it with their own handle.
 */
public class Storage {
    /** Alignment of every CPU allocation, in bytes (a cache line; two AVX2 vectors). */
    public static final long ALIGNMENT = 64;

    private final DType dtype;
    private final Device device;
    private final long numel;
    private final MemorySegment segment;
    private final Object owner;

    /** Wraps an existing segment (for example a slice of a memory-mapped file); {@code owner} keeps it reachable. */
    public Storage(MemorySegment segment, DType dtype, long numel, Object owner) {
        this(segment, dtype, Device.CPU, numel, owner);
    }

    protected Storage(MemorySegment segment, DType dtype, Device device, long numel, Object owner) {
        if (numel < 0) throw new IllegalArgumentException("Storage: negative element count " + numel);
        long bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        if (segment != null && segment.byteSize() < bytes) {
            throw new IllegalArgumentException("Storage: segment of " + segment.byteSize() + " bytes cannot hold "
                    + numel + " " + dtype + " elements");
        }
        this.dtype = dtype;
        this.device = device;
        this.numel = numel;
        this.segment = segment;
        this.owner = owner;
    }

    /** Zero-filled CPU storage in {@code arena}. */
    public static Storage allocate(DType dtype, long numel, Arena arena) {
        long bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        return new Storage(arena.allocate(Math.max(bytes, 1), ALIGNMENT), dtype, numel, arena);
    }

    public DType dtype() {
        return dtype;
    }

    public Device device() {
        return device;
    }

    public long numel() {
        return numel;
    }

    public long byteSize() {
        return numel * dtype.byteSize();
    }

    /** The CPU segment. Throws for storage that lives on another device. */
    public MemorySegment segment() {
        if (segment == null) throw new IllegalStateException("storage on " + device + " has no host segment");
        return segment;
    }

    /** Whatever keeps this storage's memory alive (an arena, a mapped file); may be null. */
    public Object owner() {
        return owner;
    }

    /** False once the memory was released (its scope closed). */
    public boolean isAlive() {
        return segment == null || segment.scope().isAlive();
    }
}
