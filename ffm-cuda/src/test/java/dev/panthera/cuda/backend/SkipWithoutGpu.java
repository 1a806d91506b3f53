package dev.panthera.cuda.backend;

import dev.panthera.cuda.CudaProbe;
import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;

/**
 * Skips a jqwik container or property unless a usable GPU and the CUDA libraries are present, naming why, so the
 * report shows it did not run (the jqwik counterpart of the JUnit tests' assumeTrue on CudaProbe).
 */
public final class SkipWithoutGpu implements SkipExecutionHook {
    @Override
    public SkipResult shouldBeSkipped(LifecycleContext context) {
        CudaProbe.Result r = CudaProbe.probe();
        if (!r.ok()) return SkipResult.skip("no usable GPU: " + r.status() + " — " + r.reason());
        if (!new CudaBackendProvider().isAvailable())
            return SkipResult.skip("GPU present but cuBLAS/NVRTC/libcuda missing (see log)");
        return SkipResult.doNotSkip();
    }
}
