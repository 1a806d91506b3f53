package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.spi.Backend;
import dev.panthera.testing.conformance.GradientConformanceSuite;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Autograd on every backend the ServiceLoader finds, plus a stand-in device whose memory the CPU cannot read, so
 * gradient rules that made their zeros on the CPU, and read-backs that touched device memory, fail here.
 */
class AutogradOnEveryBackendTest {

    static Stream<Backend> backends() {
        return Stream.concat(GradientConformanceSuite.available().stream(), Stream.of(FakeDevice.backend()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void gradientsMatchTheReference(Backend backend) {
        GradientConformanceSuite.check(backend);
    }

    @Test
    void valuesOfADeviceTensorAreCopiedToTheHostToBeRead() {
        try (Handle h = Backends.use(FakeDevice.backend())) {
            Tensor x = Tensor.of(new float[] {1.5f, -2, 3, 4}, 2, 2)
                    .to(FakeDevice.DEVICE)
                    .name("dev");
            assertThrows(IllegalStateException.class, () -> x.storage().segment());
            assertArrayEquals(new float[] {1.5f, -2, 3, 4}, x.toFloatArray());
            assertArrayEquals(new double[] {1.5, 3, -2, 4}, x.t().toDoubleArray());
            assertArrayEquals(new long[] {1, -2, 3, 4}, x.toLongArray());
            assertEquals(6.5, x.sum().item());
            assertEquals(3.0, x.get(1, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> x.get(2, 0));
            String s = x.toString();
            assertTrue(s.contains("1.5000") && s.contains("-2.0000") && s.contains("device=cuda:0"), s);
            Tensor z = Tensor.zeros(DType.BF16, Shape.of(3), FakeDevice.DEVICE);
            assertEquals(FakeDevice.DEVICE, z.device());
            assertEquals(DType.BF16, Tensor.zerosLike(z).dtype());
            assertEquals(FakeDevice.DEVICE, Tensor.onesLike(z).device());
            Tensor freed;
            try (var scope = MemoryScope.open()) {
                freed = Tensor.ones(2).to(FakeDevice.DEVICE).name("scoped");
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, freed::toFloatArray);
            assertTrue(e.getMessage().contains("'scoped'"), e.getMessage());
        }
    }
}
