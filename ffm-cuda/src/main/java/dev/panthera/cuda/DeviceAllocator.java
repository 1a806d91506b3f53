package dev.panthera.cuda;

import java.lang.foreign.MemorySegment;

/** Where device memory comes from: stream-ordered cudaMallocAsync/cudaFreeAsync, or a fake in tests. */
public interface DeviceAllocator {
    /** {@code bytes} of device memory (a raw address, zero-length segment). */
    MemorySegment allocate(long bytes);

    /** Returns memory obtained from {@link #allocate}. */
    void free(MemorySegment pointer);

    /** cudaMallocAsync / cudaFreeAsync ordered on {@code stream}. */
    static DeviceAllocator onStream(CudaStream stream) {
        return new DeviceAllocator() {
            @Override
            public MemorySegment allocate(long bytes) {
                return Cudart.get().mallocAsync(Math.max(1, bytes), stream.handle());
            }

            @Override
            public void free(MemorySegment pointer) {
                Cudart.get().freeAsync(pointer, stream.handle());
            }
        };
    }
}
