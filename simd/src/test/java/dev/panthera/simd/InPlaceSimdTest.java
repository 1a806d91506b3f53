package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Handle;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * In-place arithmetic on the SIMD backend, whose binary kernels then write the storage they read: against the
 * reference backend's out-of-place results, for contiguous and strided destinations and broadcast operands.
 */
class InPlaceSimdTest {

    @Test
    void inPlaceArithmeticAgreesWithTheReferenceBackend() {
        Random r = new Random(5);
        SimdBackend simd = new SimdBackend();
        for (int c = 0; c < 40; c++) {
            long rows = 1 + r.nextInt(9), cols = 1 + r.nextInt(70);
            Tensor base = Tensor.randn(Shape.of(cols, rows), r.nextLong());
            Tensor other = Tensor.randn(r.nextBoolean() ? Shape.of(rows, cols) : Shape.of(cols), r.nextLong());
            boolean strided = r.nextBoolean();
            int op = r.nextInt(5);
            float[] want;
            try (Handle h = Backends.use(ReferenceBackend.INSTANCE)) {
                Tensor x = strided ? base.t() : base.t().contiguous();
                want = apply(op, x.copy(), other).toFloatArray();
            }
            float[] got;
            try (Handle h = Backends.use(simd)) {
                Tensor x = strided ? base.copy().t() : base.t().contiguous();
                got = apply(op, x, other).toFloatArray();
            }
            assertArrayEquals(want, got, 1e-6f, "op " + op + (strided ? " strided" : " contiguous"));
        }
    }

    private static Tensor apply(int op, Tensor x, Tensor o) {
        return switch (op) {
            case 0 -> x.add_(o);
            case 1 -> x.sub_(o);
            case 2 -> x.mul_(o);
            case 3 -> x.div_(o.abs().add(0.5));
            default -> x.addcmul_(o, o, -0.25).lerp_(o, 0.3);
        };
    }
}
