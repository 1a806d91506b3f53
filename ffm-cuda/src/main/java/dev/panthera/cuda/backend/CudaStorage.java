package dev.panthera.cuda.backend;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Storage;
import java.lang.foreign.MemorySegment;

/**
 * Storage in device memory. The device address is held as a zero-based segment whose scope is the owning arena:
 * when the arena closes, the memory is freed on the backend's stream and the storage reports not alive.
 */
public final class CudaStorage extends Storage {
    private final MemorySegment devicePointer;

    CudaStorage(MemorySegment devicePointer, DType dtype, Device device, long numel, Object owner) {
        super(null, dtype, device, numel, owner);
        this.devicePointer = devicePointer;
    }

    /** The device address of element {@code elementOffset}; throws once the owner closed. */
    public MemorySegment pointer(long elementOffset) {
        if (!devicePointer.scope().isAlive()) {
            throw new IllegalStateException(
                    "CUDA storage of " + numel() + " " + dtype() + " on " + device() + " used after its scope closed");
        }
        if (elementOffset < 0 || elementOffset > numel()) {
            throw new IndexOutOfBoundsException(
                    "CUDA storage: element offset " + elementOffset + " outside " + numel());
        }
        return MemorySegment.ofAddress(devicePointer.address() + elementOffset * dtype().byteSize());
    }

    @Override
    public boolean isAlive() {
        return devicePointer.scope().isAlive();
    }
}
