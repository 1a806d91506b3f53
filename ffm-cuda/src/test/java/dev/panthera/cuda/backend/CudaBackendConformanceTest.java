package dev.panthera.cuda.backend;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.testing.Tolerance;
import dev.panthera.testing.conformance.BackendConformanceSuite;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import org.junit.jupiter.api.Tag;

/**
 * panthera-testing's backend conformance suite on the CUDA backend in F32, inputs made on the device in every layout
 * the suite draws; skipped without a usable GPU. TF32 is off, so GEMM rounds like any F32 GEMM in another order. The
 * tolerance is the SIMD backend's, 2e-5 relative + 2e-6 absolute: CUDA's single-precision functions (expf, logf,
 * tanhf, erff, rsqrtf) are within 2 ulp (CUDA C Programming Guide, mathematical functions appendix), a relative
 * 2.4e-7, and float sums over at most 17 elements per dimension in another order differ by a few ulp of the sum.
 */
@Tag("gpu")
@net.jqwik.api.Tag("gpu")
@AddLifecycleHook(SkipWithoutGpu.class)
class CudaBackendConformanceTest extends BackendConformanceSuite {
    private static CudaBackend gpu;

    @Override
    protected synchronized Backend backend() {
        if (gpu == null) gpu = new CudaBackend(Device.cuda(0), false);
        return gpu;
    }

    @Override
    protected Tolerance tolerance(DType dtype) {
        return Tolerance.of(2e-5, 2e-6);
    }

    @AfterContainer
    static void closeBackend() {
        if (gpu != null) gpu.close();
        gpu = null;
    }
}
