package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.testing.TensorSpec;
import dev.panthera.testing.Values;
import java.util.function.DoubleBinaryOperator;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * In-place ops against their out-of-place twins (same kernel, so the same bits) and against float64 loops written
 * here, with self in contiguous and strided layouts and the other operand broadcast into self's shape.
 */
class InPlaceOpsTest {
    /**
     * A writable tensor: its values drawn contiguous, then viewed as it is (kind 0), permuted back from a storage with
     * the dims reversed (kind 1, a transposed view) or narrowed from a storage two rows longer (kind 2, an offset view).
     */
    record Writable(int kind, TensorSpec storage) {
        /** Writable tensors of {@code shape} in one of the three kinds (rank 0 only contiguous), shrinking to kind 0. */
        static Arbitrary<Writable> draw(long[] shape, DType dtype) {
            int rank = shape.length;
            return (rank == 0 ? Arbitraries.just(0) : Cases.choice(3)).flatMap(kind -> {
                long[] s = shape.clone();
                if (kind == 1) for (int i = 0; i < rank; i++) s[i] = shape[rank - 1 - i];
                if (kind == 2) s[0] += 2;
                return Cases.contiguous(dtype, s).map(v -> new Writable(kind, v));
            });
        }

        Tensor tensor() {
            Tensor t = storage.tensor();
            int rank = t.rank();
            return switch (kind) {
                case 1 -> {
                    int[] perm = new int[rank];
                    for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
                    yield t.permute(perm);
                }
                case 2 -> t.narrow(0, 1, t.size(0) - 2);
                default -> t;
            };
        }
    }

    /** A tensor of a shape that broadcasts into {@code shape} (a suffix of it with some dims 1), in any layout. */
    private static Arbitrary<TensorSpec> broadcastable(long[] shape, DType dtype) {
        return Combinators.combine(
                        Arbitraries.integers().between(0, shape.length),
                        Arbitraries.frequencyOf(
                                        Tuple.of(2, Arbitraries.just(false)), Tuple.of(1, Arbitraries.just(true)))
                                .list()
                                .ofSize(shape.length))
                .flatAs((drop, ones) -> {
                    long[] s = java.util.Arrays.copyOfRange(shape, drop, shape.length);
                    for (int i = 0; i < s.length; i++) if (ones.get(drop + i)) s[i] = 1;
                    return Cases.anyLayout(dtype, s);
                });
    }

    /** self (writable) and up to two operands broadcasting into it, of one dtype; an op index and a scalar. */
    record InPlaceCase(Writable self, TensorSpec a, TensorSpec b, int k, double v) {}

    static Arbitrary<InPlaceCase> cases(int minRank) {
        return Combinators.combine(Arbitraries.of(DType.F32, DType.F64), Cases.shape(minRank, 3))
                .flatAs((t, shape) -> Combinators.combine(
                                Writable.draw(shape, t),
                                broadcastable(shape, t),
                                broadcastable(shape, t),
                                Cases.choice(4),
                                Values.normal())
                        .as(InPlaceCase::new));
    }

    @Provide
    Arbitrary<InPlaceCase> rank0to3() {
        return cases(0);
    }

    @Provide
    Arbitrary<InPlaceCase> rank1to3() {
        return cases(1);
    }

    private static double[] ref(double[] x, long[] shape, Tensor o, DoubleBinaryOperator f) {
        double[] out = new double[x.length];
        long[][] ix = Oracle.indices(shape);
        for (int i = 0; i < x.length; i++)
            out[i] = f.applyAsDouble(x[i], o.get(Oracle.broadcastIndex(o.dims(), ix[i])));
        return out;
    }

    @Property(tries = 60)
    void arithmeticMatchesTheOutOfPlaceOpAndAFloat64Loop(@ForAll("rank0to3") InPlaceCase c) {
        String[] names = {"add_", "sub_", "mul_", "div_"};
        DoubleBinaryOperator[] fs = {(a, b) -> a + b, (a, b) -> a - b, (a, b) -> a * b, (a, b) -> a / b};
        DType t = c.a().dtype();
        Tensor self = c.self().tensor();
        long[] shape = self.dims();
        Tensor other = c.a().tensor();
        int k = c.k();
        Tensor before = self.copy();
        double[] x = Oracle.values(self);
        Tensor expected = switch (k) {
            case 0 -> before.add(other);
            case 1 -> before.sub(other);
            case 2 -> before.mul(other);
            default -> before.div(other);
        };
        Tensor got = switch (k) {
            case 0 -> self.add_(other);
            case 1 -> self.sub_(other);
            case 2 -> self.mul_(other);
            default -> self.div_(other);
        };
        String what = names[k] + " " + t + " " + self.layout() + " with " + other.shape();
        assertSame(self, got, what + ": returns self");
        assertArrayEquals(Oracle.values(expected), Oracle.values(self), what + ": as the out-of-place op");
        Oracle.assertClose(ref(x, shape, other, fs[k]), Oracle.values(self), t == DType.F32 ? 1.2e-7 : 0, 0, what);
    }

    @Test
    void scalarsClampAndSqrtInPlace() {
        double[] v = {-2.5, -0.5, 0, 0.25, 3, Double.NaN};
        Tensor x = Tensor.of(v, 2, 3);
        x.add_(1).mul_(2).sub_(0.5).div_(4);
        double[] want = new double[6];
        for (int i = 0; i < 6; i++) want[i] = ((v[i] + 1) * 2 - 0.5) / 4;
        assertArrayEquals(want, x.toDoubleArray());
        x.clamp_(-0.2, 0.6);
        for (int i = 0; i < 6; i++) want[i] = Double.isNaN(want[i]) ? want[i] : Math.min(Math.max(want[i], -0.2), 0.6);
        assertArrayEquals(want, x.toDoubleArray(), "clamp_ keeps NaN");
        Tensor y = Tensor.of(new double[] {0, 1, 2, 9}, 4);
        y.sqrt_();
        assertArrayEquals(new double[] {0, 1, Math.sqrt(2), 3}, y.toDoubleArray());
        Tensor ints = Tensor.of(new long[] {1, -4, 7}, 3);
        ints.clamp_(-2, 5).mul_(3);
        assertArrayEquals(new long[] {3, -6, 15}, ints.toLongArray());
        assertEquals(DType.I64, ints.dtype());
    }

    @Property(tries = 60)
    void fusedUpdatesMatchFloat64Loops(@ForAll("rank1to3") InPlaceCase c) {
        DType t = c.a().dtype();
        Tensor self = c.self().tensor();
        long[] shape = self.dims();
        Tensor a = c.a().tensor(), b = c.b().tensor();
        double v = c.v();
        int k = c.k();
        double[] x = Oracle.values(self);
        long[][] ix = Oracle.indices(shape);
        double[] want = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double ai = a.get(Oracle.broadcastIndex(a.dims(), ix[i])),
                    bi = b.get(Oracle.broadcastIndex(b.dims(), ix[i]));
            want[i] = switch (k) {
                case 0 -> x[i] + v * ai;
                case 1 -> x[i] + v * ai * bi;
                case 2 -> x[i] + v * ai / bi;
                default -> Math.abs(v) < 0.5 ? x[i] + v * (ai - x[i]) : ai - (ai - x[i]) * (1 - v);
            };
        }
        switch (k) {
            case 0 -> self.add_(a, v);
            case 1 -> self.addcmul_(a, b, v);
            case 2 -> self.addcdiv_(a, b, v);
            default -> self.lerp_(a, v);
        }
        // one rounding of the float64 result to the tensor's dtype
        Oracle.assertClose(want, Oracle.values(self), t == DType.F32 ? 6e-8 : 1e-15, 0, "update " + k + " " + t);
    }

    @Test
    void theDtypeOfSelfIsKeptAndResultsThatCannotBeCastAreRefused() {
        Tensor f = Tensor.of(new float[] {1, 2, 3});
        f.add_(Tensor.of(new double[] {0.1, 0.2, 0.3}, 3));
        assertEquals(DType.F32, f.dtype());
        assertArrayEquals(new float[] {(float) (1 + 0.1), (float) (2 + 0.2), (float) (3 + 0.3)}, f.toFloatArray());
        Tensor i = Tensor.of(new long[] {1, 2, 3}, 3);
        i.add_(Tensor.of(new int[] {1, 1, 1}, 3));
        assertArrayEquals(new long[] {2, 3, 4}, i.toLongArray());
        refused("add_", "can't be cast", () -> i.add_(0.5));
        refused("div_", "can't be cast", () -> i.div_(Tensor.of(new long[] {2, 2, 2}, 3)));
        refused("mul_", "can't be cast", () -> i.mul_(Tensor.of(1f, 2f, 3f)));
        refused("sqrt_", "can't be cast", i::sqrt_);
        refused("addcmul_", "floating-point", () -> i.addcmul_(i, i, 1));
        refused("add_", "broadcast shape", () -> f.add_(Tensor.ones(2, 3)));
        refused(
                "add_",
                "single memory location",
                () -> Tensor.ones(1, 3).expand(2, 3).add_(1));
        refused(
                "add_",
                "cuda:0",
                () -> f.add_(
                        new Tensor(new FakeDevice.Hidden(Tensor.zeros(3).storage()), Layout.contiguous(Shape.of(3)))));
    }

    @Test
    void anOperandSharingMemoryWithSelfIsReadBeforeItIsOverwritten() {
        Tensor x = Tensor.arange(0, 9, 1).to(DType.F32).reshape(3, 3);
        Tensor want = x.add(x.t());
        x.add_(x.t());
        assertArrayEquals(want.toFloatArray(), x.toFloatArray());
        Tensor y = Tensor.arange(0, 6, 1).to(DType.F64);
        Tensor expected = y.narrow(0, 0, 5).add(y.narrow(0, 1, 5));
        y.narrow(0, 1, 5).add_(y.narrow(0, 0, 5)); // shifted overlap
        assertArrayEquals(expected.toDoubleArray(), y.narrow(0, 1, 5).toDoubleArray());
    }

    @Test
    void autogradRefusesInPlaceChangesItCannotFollow() {
        Tensor w = Tensor.ones(3).requiresGrad(true);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.mul_(2));
        assertTrue(e.getMessage().contains("leaf") && e.getMessage().contains("mul_"), e.getMessage());
        Tensor h = w.mul(2);
        assertThrows(IllegalStateException.class, () -> h.add_(1), "a tensor of the recorded graph");
        assertThrows(IllegalStateException.class, () -> Tensor.zeros(3).add_(w), "an operand that requires grad");
        try (Handle ng = Autograd.noGrad()) {
            w.sub_(Tensor.of(1f, 2f, 3f), 0.5);
        }
        assertArrayEquals(new float[] {0.5f, 0, -0.5f}, w.toFloatArray());
        assertTrue(w.requiresGrad() && w.gradFn() == null, "still a leaf that requires grad");
    }

    private static void refused(String op, String fragment, Executable call) {
        RuntimeException e = assertThrows(RuntimeException.class, call, op);
        assertTrue(e.getMessage().contains(op) && e.getMessage().contains(fragment), e.getMessage());
    }
}
