package dev.panthera.cuda;

import java.lang.foreign.MemorySegment;

/**
 * A block of device memory owned by a {@link DeviceMemory}. Closing the buffer (or its owner) frees it on the
 * owner's stream; any use afterwards throws a {@link CudaException} with code {@link CudaException#CLOSED}.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final DeviceMemory owner;
    private final long byteSize;
    private MemorySegment pointer;

    DeviceBuffer(DeviceMemory owner, MemorySegment pointer, long byteSize) {
        this.owner = owner;
        this.pointer = pointer;
        this.byteSize = byteSize;
    }

    /** Size in bytes. */
    public long byteSize() {
        return byteSize;
    }

    /** Whether the memory is still allocated. */
    public synchronized boolean isAlive() {
        return pointer != null;
    }

    /** The device address; throws once the buffer or its owner is closed. */
    public synchronized MemorySegment pointer() {
        if (pointer == null) {
            throw new CudaException(
                    "panthera",
                    "DeviceBuffer.pointer",
                    CudaException.CLOSED,
                    "CLOSED",
                    "device buffer of " + byteSize + " bytes used after it (or its DeviceMemory owner) was closed");
        }
        return pointer;
    }

    /** The device address {@code offsetBytes} into the buffer, bounds-checked. */
    public MemorySegment pointer(long offsetBytes, long length) {
        if (offsetBytes < 0 || length < 0 || offsetBytes + length > byteSize) {
            throw new IndexOutOfBoundsException("DeviceBuffer: range [" + offsetBytes + ", " + (offsetBytes + length)
                    + ") outside a buffer of " + byteSize + " bytes");
        }
        return MemorySegment.ofAddress(pointer().address() + offsetBytes);
    }

    /** Frees the memory now (idempotent). */
    @Override
    public void close() {
        MemorySegment p;
        synchronized (this) {
            p = pointer;
            pointer = null;
        }
        if (p != null) owner.release(this, p);
    }
}
