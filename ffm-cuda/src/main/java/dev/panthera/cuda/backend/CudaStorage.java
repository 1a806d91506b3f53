package dev.panthera.cuda.backend;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.Storage;
import java.lang.foreign.MemorySegment;

/**
 * Storage in device memory. The device address is held as a zero-based segment. Its lifetime is either the owning
 * arena (when the arena closes, the memory is freed on the backend's stream) or a block of the backend's
 * {@link MemoryPool} (released to the pool's cache when its scope closes, then reused by later tensors, so liveness
 * is the allocation's flag). It has no host segment: {@link #segment()} throws.
 */
public final class CudaStorage implements Storage {
    private final MemorySegment devicePointer;
    private final DType dtype;
    private final Device device;
    private final long numel;
    private final Object owner;
    private final MemoryPool.Allocation allocation;

    CudaStorage(
            MemorySegment devicePointer,
            DType dtype,
            Device device,
            long numel,
            Object owner,
            MemoryPool.Allocation allocation) {
        if (numel < 0) throw new IllegalArgumentException("CudaStorage: negative element count " + numel);
        this.devicePointer = devicePointer;
        this.dtype = dtype;
        this.device = device;
        this.numel = numel;
        this.owner = owner;
        this.allocation = allocation;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public long numel() {
        return numel;
    }

    /** Always throws: device memory has no host segment (copy to the CPU with {@code Tensor.to(Device.CPU)}). */
    @Override
    public MemorySegment segment() {
        throw new IllegalStateException("storage on " + device + " has no host segment; copy it to the CPU first");
    }

    @Override
    public MemoryPool.Allocation allocation() {
        return allocation;
    }

    @Override
    public Object owner() {
        return allocation != null ? allocation.owner() : owner;
    }

    /** The device address of element {@code elementOffset}; throws once the memory was released. */
    public MemorySegment pointer(long elementOffset) {
        if (!isAlive()) {
            throw new IllegalStateException(
                    "CUDA storage of " + numel + " " + dtype + " on " + device + " used after its scope closed");
        }
        if (elementOffset < 0 || elementOffset > numel) {
            throw new IndexOutOfBoundsException("CUDA storage: element offset " + elementOffset + " outside " + numel);
        }
        return MemorySegment.ofAddress(devicePointer.address() + elementOffset * dtype.byteSize());
    }

    @Override
    public boolean isAlive() {
        return allocation != null ? allocation.isLive() : devicePointer.scope().isAlive();
    }
}
