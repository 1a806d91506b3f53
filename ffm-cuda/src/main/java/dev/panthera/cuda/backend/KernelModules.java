package dev.panthera.cuda.backend;

import dev.panthera.cuda.CudaDevice;
import dev.panthera.cuda.CudaDriver;
import dev.panthera.cuda.KernelCache;
import dev.panthera.cuda.KernelSources;
import dev.panthera.cuda.Nvrtc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * Kernel families compiled with NVRTC for the device's architecture at first use (through the disk
 * {@link KernelCache}), loaded with cuModuleLoadData, and launched with cuLaunchKernel.
 */
final class KernelModules {
    private final CudaDevice device;
    private final KernelCache cache;
    private final Map<String, MemorySegment> modules = new HashMap<>();
    private final Map<String, MemorySegment> functions = new HashMap<>();
    private boolean closed;

    KernelModules(CudaDevice device) {
        this.device = device;
        Nvrtc nvrtc = Nvrtc.get();
        this.cache = new KernelCache(
                KernelCache.defaultDirectory(),
                (name, src, opts, arch) -> nvrtc.compile(name, src, opts, false),
                "nvrtc-" + nvrtc.versionString());
    }

    synchronized MemorySegment function(String family, String kernel) {
        if (closed) throw new IllegalStateException("CUDA kernel modules used after the backend closed");
        String key = family + "/" + kernel;
        MemorySegment f = functions.get(key);
        if (f == null) {
            MemorySegment module = modules.get(family);
            if (module == null) {
                String arch = device.arch();
                byte[] cubin = cache.get(
                        family + ".cu", KernelSources.source(family), KernelSources.compileOptions(arch), arch);
                module = CudaDriver.get().loadModule(cubin);
                modules.put(family, module);
            }
            f = CudaDriver.get().function(module, kernel);
            functions.put(key, f);
        }
        return f;
    }

    /**
     * Launches {@code kernel} with {@code args}: Integer, Long, Float, or a MemorySegment that is either a device
     * pointer (zero length) or a by-value struct (non-zero length, its bytes passed).
     */
    void launch(
            String family, String kernel, int grid, int block, int sharedBytes, MemorySegment stream, Object... args) {
        MemorySegment f = function(family, kernel);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(ValueLayout.ADDRESS, Math.max(1, args.length));
            for (int i = 0; i < args.length; i++) {
                MemorySegment slot = switch (args[i]) {
                    case Integer v -> a.allocateFrom(ValueLayout.JAVA_INT, v);
                    case Long v -> a.allocateFrom(ValueLayout.JAVA_LONG, v);
                    case Float v -> a.allocateFrom(ValueLayout.JAVA_FLOAT, v);
                    case MemorySegment s when s.byteSize() > 0 -> s;
                    case MemorySegment s -> a.allocateFrom(ValueLayout.ADDRESS, s);
                    default ->
                        throw new IllegalArgumentException("kernel " + kernel + ": unsupported argument " + args[i]);
                };
                params.setAtIndex(ValueLayout.ADDRESS, i, slot);
            }
            CudaDriver.get().launch(f, Math.max(1, grid), 1, 1, block, 1, 1, sharedBytes, stream, params);
        }
    }

    /** Unloads every loaded module (cuModuleUnload); later launches throw. */
    synchronized void close() {
        if (closed) return;
        closed = true;
        functions.clear();
        RuntimeException first = null;
        for (MemorySegment m : modules.values()) {
            try {
                CudaDriver.get().unloadModule(m);
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        modules.clear();
        if (first != null) throw first;
    }
}
