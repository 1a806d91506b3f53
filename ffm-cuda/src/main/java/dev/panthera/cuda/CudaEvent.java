package dev.panthera.cuda;

import java.lang.foreign.MemorySegment;

/** A CUDA event for timing and ordering; closing destroys it, later use throws. */
public final class CudaEvent implements AutoCloseable {
    private MemorySegment handle;

    private CudaEvent(MemorySegment handle) {
        this.handle = handle;
    }

    /** A new event. */
    public static CudaEvent create() {
        return new CudaEvent(Cudart.get().eventCreate());
    }

    synchronized MemorySegment handle() {
        if (handle == null)
            throw new CudaException("panthera", "CudaEvent", CudaException.CLOSED, "CLOSED", "event used after close");
        return handle;
    }

    /** Records the event on {@code stream}. */
    public void record(CudaStream stream) {
        Cudart.get().eventRecord(handle(), stream.handle());
    }

    /** Waits for the event. */
    public void synchronize() {
        Cudart.get().eventSynchronize(handle());
    }

    /** Milliseconds from {@code start} to this event (both recorded and complete). */
    public float millisSince(CudaEvent start) {
        return Cudart.get().eventElapsedMillis(start.handle(), handle());
    }

    @Override
    public void close() {
        MemorySegment h;
        synchronized (this) {
            h = handle;
            handle = null;
        }
        if (h != null) Cudart.get().eventDestroy(h);
    }
}
