package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Handle;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.SizesFirst;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * In-place arithmetic on the SIMD backend, whose binary kernels then write the storage they read: against the
 * reference backend's out-of-place results, for contiguous and strided destinations and broadcast operands. The
 * sizes, the operand's shape, the layout and the op are drawn by jqwik before the N(0, 1) values, so a failure
 * shrinks to a small case first.
 */
class InPlaceSimdTest {

    /**
     * The destination is the transpose of a [cols, rows] tensor, strided or made contiguous; the other operand is
     * [rows, cols] or a [cols] row broadcast over the rows; op 0 add, 1 sub, 2 mul, 3 div, 4 addcmul then lerp.
     */
    record Setup(int rows, int cols, boolean rowOperand, boolean strided, int op) {}

    record Case(Setup s, float[] base, float[] other) {
        @Override
        public String toString() {
            return s + " base=" + Draws.show(base) + " other=" + Draws.show(other);
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Setup> setups = Combinators.combine(
                        Arbitraries.integers().between(1, 9),
                        Arbitraries.integers().between(1, 70),
                        Arbitraries.of(false, true),
                        Arbitraries.of(false, true),
                        Arbitraries.integers().between(0, 4))
                .as(Setup::new);
        return SizesFirst.flatMap(
                setups,
                s -> Combinators.combine(
                                Draws.normals((long) s.rows() * s.cols()),
                                Draws.normals(s.rowOperand() ? s.cols() : (long) s.rows() * s.cols()))
                        .as((b, o) -> new Case(s, b, o)));
    }

    @Property(tries = 40)
    void inPlaceArithmeticAgreesWithTheReferenceBackend(@ForAll("cases") Case c) {
        Setup s = c.s();
        SimdBackend simd = new SimdBackend();
        float[] want;
        try (Handle h = Backends.use(ReferenceBackend.INSTANCE)) {
            Tensor base = Tensor.of(c.base(), s.cols(), s.rows()), other = other(c);
            Tensor x = s.strided() ? base.t() : base.t().contiguous();
            want = apply(s.op(), x.copy(), other).toFloatArray();
        }
        float[] got;
        try (Handle h = Backends.use(simd)) {
            Tensor base = Tensor.of(c.base(), s.cols(), s.rows()), other = other(c);
            Tensor x = s.strided() ? base.copy().t() : base.t().contiguous();
            got = apply(s.op(), x, other).toFloatArray();
        }
        assertArrayEquals(want, got, 1e-6f, "op " + s.op() + (s.strided() ? " strided" : " contiguous"));
    }

    private static Tensor other(Case c) {
        Setup s = c.s();
        return s.rowOperand() ? Tensor.of(c.other(), s.cols()) : Tensor.of(c.other(), s.rows(), s.cols());
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
