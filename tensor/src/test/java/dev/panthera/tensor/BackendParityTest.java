package dev.panthera.tensor;

import dev.panthera.tensor.conformance.BackendConformance;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.BackendProvider;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every CPU backend found with ServiceLoader against the reference backend. In this module only the reference
 * itself is present (so this checks the harness and determinism); the simd module runs the same conformance cases.
 */
class BackendParityTest {
    static List<Backend> backends() {
        List<Backend> out = new ArrayList<>();
        out.add(ReferenceBackend.INSTANCE);
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p.deviceKind() == Device.Kind.CPU && p.isAvailable()) out.add(p.create(Device.CPU));
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void agreesWithTheReference(Backend backend) {
        BackendConformance.compareAll(backend, 17, 5, DType.F32, 1e-5, 1e-5);
    }
}
