package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panthera.cuda.CudaProbe;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.conformance.AutogradConformance;
import dev.panthera.tensor.spi.Backend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Autograd's shared cases on every backend the ServiceLoader finds, the CUDA backend always listed: without a usable
 * GPU its case is skipped by assumption, so the report shows it did not run.
 */
@Tag("gpu")
class AutogradCudaTest {

    static List<Object> backends() {
        List<Object> out = new ArrayList<>(AutogradConformance.available());
        if (out.stream().noneMatch(b -> ((Backend) b).device().kind() == Device.Kind.CUDA)) out.add("cuda");
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void gradientsMatchTheReference(Object backend) {
        if (backend instanceof Backend b) {
            AutogradConformance.check(b);
            return;
        }
        CudaProbe.Result r = CudaProbe.probe();
        assumeTrue(false, "no usable GPU: " + r.status() + " — " + r.reason());
    }
}
