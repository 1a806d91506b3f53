package dev.panthera.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;

/**
 * cuBLASLt ({@code libcublasLt.so.13}, fallback {@code .so.12}). Panthera's GEMMs go through cuBLAS, which uses
 * cuBLASLt internally; this binding loads it first (dependency order) and exposes its handle and version.
 */
public final class CublasLt {
    private static volatile CublasLt instance;

    final NativeFunction create, destroy, getVersion;

    CublasLt(NativeLibrary lib) {
        create = lib.function("cublasLtCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = lib.function("cublasLtDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getVersion = lib.function("cublasLtGetVersion", FunctionDescriptor.of(JAVA_LONG));
    }

    /** The process's cuBLASLt binding; throws NO_LIBRARY when it cannot be loaded. */
    public static CublasLt get() {
        CublasLt c = instance;
        if (c == null) {
            synchronized (CublasLt.class) {
                if (instance == null) instance = new CublasLt(CudaLibraries.get(CudaLibrary.CUBLASLT));
                c = instance;
            }
        }
        return c;
    }

    /** cublasLtGetVersion (e.g. 130000). */
    public long version() {
        return (Long) getVersion.call();
    }

    /** cublasLtCreate. */
    public MemorySegment createHandle() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            int s = create.callInt(p);
            if (s != 0)
                throw new CudaException("cublasLt", "cublasLtCreate", s, StatusNames.name(StatusNames.CUBLAS, s), null);
            return p.get(ADDRESS, 0);
        }
    }

    /** cublasLtDestroy. */
    public void destroyHandle(MemorySegment handle) {
        int s = destroy.callInt(handle);
        if (s != 0)
            throw new CudaException("cublasLt", "cublasLtDestroy", s, StatusNames.name(StatusNames.CUBLAS, s), null);
    }
}
