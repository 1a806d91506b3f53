package dev.panthera.cuda.backend;

import dev.panthera.tensor.Device;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.testing.conformance.GradientConformanceSuite;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import org.junit.jupiter.api.Tag;

/**
 * panthera-testing's gradient suite on the CUDA backend (inputs made on the device, gradients read back); without a
 * usable GPU it is skipped, so the report shows it did not run.
 */
@Tag("gpu")
@net.jqwik.api.Tag("gpu")
@AddLifecycleHook(SkipWithoutGpu.class)
class AutogradCudaTest extends GradientConformanceSuite {
    private static CudaBackend gpu;

    @Override
    protected synchronized Backend backend() {
        if (gpu == null) gpu = new CudaBackend(Device.cuda(0));
        return gpu;
    }

    @AfterContainer
    static void closeBackend() {
        if (gpu != null) gpu.close();
        gpu = null;
    }
}
