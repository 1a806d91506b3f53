package dev.panthera.cuda;

import java.lang.foreign.Arena;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The process's loaded CUDA libraries. Each is loaded once, after its dependencies (cudart and cuBLASLt before
 * cuBLAS and cuDNN), so a library opened by absolute path finds its dependencies already resident by soname. The
 * first toolkit library loaded pins the process to its CUDA major: cudart, cuBLAS, cuBLASLt and NVRTC then load
 * only that major (one CUDA major per process). The libraries stay loaded for the life of the process (their arena is owned here and never handed out); a failed
 * load is remembered and rethrown with the same message.
 */
public final class CudaLibraries {
    private static final Arena ARENA = Arena.ofShared();
    private static final Map<CudaLibrary, Object> LOADED = new EnumMap<>(CudaLibrary.class);
    /** The CUDA major of the first toolkit library loaded (0 before): the others must match it. */
    private static int cudaMajor;

    private CudaLibraries() {}

    /** Dependencies loaded before {@code lib}. */
    static List<CudaLibrary> dependencies(CudaLibrary lib) {
        return switch (lib) {
            case CUDART, DRIVER, NVRTC -> List.of();
            case CUBLASLT -> List.of(CudaLibrary.CUDART);
            case CUBLAS, CUDNN -> List.of(CudaLibrary.CUDART, CudaLibrary.CUBLASLT);
        };
    }

    /** The loaded library, loading it (and its dependencies) on first use; throws NO_LIBRARY when absent. */
    public static synchronized NativeLibrary get(CudaLibrary lib) {
        Object o = LOADED.get(lib);
        if (o == null) {
            try {
                for (CudaLibrary dep : dependencies(lib)) {
                    try {
                        get(dep);
                    } catch (CudaException e) {
                        // a missing dependency surfaces when the library itself fails to load
                    }
                }
                NativeLibrary loaded = NativeLibrary.load(
                        lib, LibraryLocator.Environment.system(), ARENA, lib.followsCudaMajor() ? cudaMajor : 0);
                if (lib.followsCudaMajor() && cudaMajor == 0) cudaMajor = LibraryLocator.cudaMajor(loaded.source());
                o = loaded;
            } catch (CudaException e) {
                o = e;
            }
            LOADED.put(lib, o);
        }
        if (o instanceof CudaException e) {
            throw new CudaException(e.library(), e.function(), e.code(), e.codeName(), e.libraryMessage());
        }
        return (NativeLibrary) o;
    }

    /** Whether {@code lib} loads. */
    public static boolean isLoadable(CudaLibrary lib) {
        try {
            get(lib);
            return true;
        } catch (CudaException e) {
            return false;
        }
    }
}
