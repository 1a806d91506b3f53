package dev.panthera.simd;

import dev.panthera.tensor.conformance.AutogradConformance;
import dev.panthera.tensor.spi.Backend;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Autograd's shared cases on every backend the ServiceLoader finds with this module present (simd, reference). */
class AutogradSimdTest {

    static List<Backend> backends() {
        return AutogradConformance.available();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void gradientsMatchTheReference(Backend backend) {
        AutogradConformance.check(backend);
    }
}
