package dev.panthera.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The driver API ({@code libcuda.so.1}), used only to load NVRTC's CUBINs and launch kernels from them. The
 * runtime's primary context is current after {@link Cudart#setDevice}, and runtime streams are driver streams.
 */
public final class CudaDriver {
    private static volatile CudaDriver instance;

    final NativeFunction init,
            getErrorName,
            getErrorString,
            moduleLoadData,
            moduleUnload,
            moduleGetFunction,
            launchKernel;

    CudaDriver(NativeLibrary lib) {
        init = lib.function("cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        getErrorName = lib.function("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        getErrorString = lib.function("cuGetErrorString", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        moduleLoadData = lib.function("cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        moduleUnload = lib.function("cuModuleUnload", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        moduleGetFunction =
                lib.function("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        launchKernel = lib.function(
                "cuLaunchKernel",
                FunctionDescriptor.of(
                        JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                        ADDRESS, ADDRESS, ADDRESS));
    }

    /** The process's driver binding (cuInit(0) done); throws NO_LIBRARY when libcuda.so.1 is absent. */
    public static CudaDriver get() {
        CudaDriver c = instance;
        if (c == null) {
            synchronized (CudaDriver.class) {
                if (instance == null) {
                    CudaDriver d = new CudaDriver(CudaLibraries.get(CudaLibrary.DRIVER));
                    d.check("cuInit", d.init.callInt(0));
                    instance = d;
                }
                c = instance;
            }
        }
        return c;
    }

    /** Throws for a non-zero CUresult. */
    public void check(String function, int status) {
        if (status == 0) return;
        String name = StatusNames.name(StatusNames.DRIVER, status);
        String message = null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            if (getErrorName.callInt(status, p) == 0) name = Cudart.cString(p.get(ADDRESS, 0), name);
            if (getErrorString.callInt(status, p) == 0) message = Cudart.cString(p.get(ADDRESS, 0), null);
        } catch (RuntimeException ignored) {
            // table name only
        }
        throw new CudaException("cuda", function, status, name, message);
    }

    /** cuModuleLoadData over a CUBIN or NUL-terminated PTX image. */
    public MemorySegment loadModule(byte[] image) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment img = a.allocate(image.length + 1L);
            MemorySegment.copy(image, 0, img, ValueLayout.JAVA_BYTE, 0, image.length);
            MemorySegment p = a.allocate(ADDRESS);
            check("cuModuleLoadData", moduleLoadData.callInt(p, img));
            return p.get(ADDRESS, 0);
        }
    }

    /** cuModuleUnload. */
    public void unloadModule(MemorySegment module) {
        check("cuModuleUnload", moduleUnload.callInt(module));
    }

    /** cuModuleGetFunction. */
    public MemorySegment function(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            check("cuModuleGetFunction(" + name + ")", moduleGetFunction.callInt(p, module, a.allocateFrom(name)));
            return p.get(ADDRESS, 0);
        }
    }

    /** cuLaunchKernel with {@code params} an array of pointers to the argument values. */
    public void launch(
            MemorySegment function,
            int gridX,
            int gridY,
            int gridZ,
            int blockX,
            int blockY,
            int blockZ,
            int sharedBytes,
            MemorySegment stream,
            MemorySegment params) {
        check(
                "cuLaunchKernel",
                launchKernel.callInt(
                        function,
                        gridX,
                        gridY,
                        gridZ,
                        blockX,
                        blockY,
                        blockZ,
                        sharedBytes,
                        stream,
                        params,
                        MemorySegment.NULL));
    }
}
