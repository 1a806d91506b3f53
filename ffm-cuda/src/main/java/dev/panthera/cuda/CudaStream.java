package dev.panthera.cuda;

import java.lang.foreign.MemorySegment;

/** A CUDA stream (cudaStreamCreate); closing destroys it, later use throws. */
public final class CudaStream implements AutoCloseable {
    private MemorySegment handle;

    private CudaStream(MemorySegment handle) {
        this.handle = handle;
    }

    /** A new stream on the current device. */
    public static CudaStream create() {
        return new CudaStream(Cudart.get().streamCreate());
    }

    /** The cudaStream_t. */
    public synchronized MemorySegment handle() {
        if (handle == null)
            throw new CudaException(
                    "panthera", "CudaStream", CudaException.CLOSED, "CLOSED", "stream used after close");
        return handle;
    }

    /** Waits for all work queued on the stream. */
    public void synchronize() {
        Cudart.get().streamSynchronize(handle());
    }

    /** Host → device copy of {@code bytes} from {@code host} (page-locked for a truly asynchronous copy). */
    public void copyToDevice(MemorySegment host, DeviceBuffer dst, long dstOffset, long bytes) {
        if (bytes > host.byteSize())
            throw new IndexOutOfBoundsException(
                    "copyToDevice: " + bytes + " bytes from a host segment of " + host.byteSize());
        Cudart.get().memcpyAsync(dst.pointer(dstOffset, bytes), host, bytes, CudaMemcpyKind.HOST_TO_DEVICE, handle());
    }

    /** Device → host copy of {@code bytes} into {@code host}. */
    public void copyToHost(DeviceBuffer src, long srcOffset, MemorySegment host, long bytes) {
        if (bytes > host.byteSize())
            throw new IndexOutOfBoundsException(
                    "copyToHost: " + bytes + " bytes into a host segment of " + host.byteSize());
        Cudart.get().memcpyAsync(host, src.pointer(srcOffset, bytes), bytes, CudaMemcpyKind.DEVICE_TO_HOST, handle());
    }

    @Override
    public void close() {
        MemorySegment h;
        synchronized (this) {
            h = handle;
            handle = null;
        }
        if (h != null) Cudart.get().streamDestroy(h);
    }
}
