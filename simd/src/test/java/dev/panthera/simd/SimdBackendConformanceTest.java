package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.conformance.BackendConformance;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * The SIMD backend against the reference backend on the shared conformance cases (random shapes with 1, primes and
 * tails; permuted, stepped, offset and broadcast views). Tolerance: F32 kernels accumulate in float and use the
 * Vector API's transcendental functions (within a few ulps) and an erf approximation with |error| ≤ 1.5e-7
 * (Abramowitz & Stegun 7.1.26), so 2e-5 relative + 2e-6 absolute; sums over rows of at most 17³ elements stay inside
 * it.
 */
class SimdBackendConformanceTest {

    @Test
    void isChosenForTheCpuWhenTheVectorApiIsPresent() {
        assertEquals("simd", Backends.forDevice(Device.CPU).name());
        assertTrue(Backends.available().get(0).startsWith("simd"));
    }

    @Property(tries = 40)
    void agreesWithTheReferenceBackend(@ForAll long seed) {
        BackendConformance.compareAll(new SimdBackend(), seed, 1, DType.F32, 2e-5, 2e-6);
    }

    @Property(tries = 10)
    void agreesOnF64ByDelegating(@ForAll long seed) {
        BackendConformance.compareAll(new SimdBackend(), seed, 1, DType.F64, 1e-12, 1e-12);
    }
}
