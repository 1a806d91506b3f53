package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.testing.Tolerance;
import dev.panthera.testing.conformance.BackendConformanceSuite;
import dev.panthera.testing.conformance.ConformanceSample;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * The SIMD backend against the reference backend on panthera-testing's conformance suite (random shapes with 1,
 * primes and tails; contiguous, transposed, stepped and offset views), in F32 and F64. Tolerance: F32 kernels
 * accumulate in float and use the Vector API's transcendental functions (within a few ulps) and an erf approximation
 * with |error| ≤ 1.5e-7 (Abramowitz & Stegun 7.1.26), so 2e-5 relative + 2e-6 absolute; sums over rows of at most 17
 * elements per dimension stay inside it. F64 is served by the reference itself (1e-12 allows for nothing but the
 * order of a delegated sum).
 */
class SimdBackendConformanceTest extends BackendConformanceSuite {

    @Override
    protected Backend backend() {
        return new SimdBackend();
    }

    @Override
    protected Tolerance tolerance(DType dtype) {
        return dtype == DType.F64 ? Tolerance.of(1e-12, 1e-12) : Tolerance.of(2e-5, 2e-6);
    }

    @Override
    protected List<DType> dtypes() {
        return List.of(DType.F32, DType.F64);
    }

    @Override
    @Property(tries = 50)
    public void agreesWithTheReferenceBackend(@ForAll("conformanceSamples") ConformanceSample sample) {
        super.agreesWithTheReferenceBackend(sample);
    }

    @Test
    void isChosenForTheCpuWhenTheVectorApiIsPresent() {
        assertEquals("simd", Backends.forDevice(Device.CPU).name());
        assertTrue(Backends.available().get(0).startsWith("simd"));
    }
}
