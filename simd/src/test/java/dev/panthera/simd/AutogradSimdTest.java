package dev.panthera.simd;

import dev.panthera.tensor.spi.Backend;
import dev.panthera.testing.conformance.GradientConformanceSuite;

/** panthera-testing's gradient suite on the SIMD backend: losses and gradients against the reference in F64. */
class AutogradSimdTest extends GradientConformanceSuite {

    @Override
    protected Backend backend() {
        return new SimdBackend();
    }
}
