package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.DoubleBinaryOperator;
import net.jqwik.api.Example;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * In-place ops against their out-of-place twins (same kernel, so the same bits) and against float64 loops written
 * here, with self in contiguous and strided layouts and the other operand broadcast into self's shape.
 */
class InPlaceOpsTest {
    private static final int CASES = 60;

    /** A writable tensor of {@code shape}: contiguous, a transposed view, or a narrowed (offset) view. */
    private static Tensor writable(Random r, long[] shape, DType dtype) {
        int rank = shape.length;
        switch (rank == 0 ? 0 : r.nextInt(3)) {
            case 1 -> {
                long[] rev = new long[rank];
                for (int i = 0; i < rank; i++) rev[i] = shape[rank - 1 - i];
                int[] perm = new int[rank];
                for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
                return Seeded.normal(r, rev, dtype).permute(perm);
            }
            case 2 -> {
                long[] bigger = shape.clone();
                bigger[0] += 2;
                return Seeded.normal(r, bigger, dtype).narrow(0, 1, shape[0]);
            }
            default -> {
                return Seeded.normal(r, shape, dtype);
            }
        }
    }

    /** A shape that broadcasts into {@code shape}: a suffix of it with some dimensions set to 1. */
    private static long[] broadcastable(Random r, long[] shape) {
        int drop = r.nextInt(shape.length + 1);
        long[] s = java.util.Arrays.copyOfRange(shape, drop, shape.length);
        for (int i = 0; i < s.length; i++) if (r.nextInt(3) == 0) s[i] = 1;
        return s;
    }

    private static double[] ref(double[] x, long[] shape, Tensor o, DoubleBinaryOperator f) {
        double[] out = new double[x.length];
        long[][] ix = Oracle.indices(shape);
        for (int i = 0; i < x.length; i++)
            out[i] = f.applyAsDouble(x[i], o.get(Oracle.broadcastIndex(o.dims(), ix[i])));
        return out;
    }

    @Example
    void arithmeticMatchesTheOutOfPlaceOpAndAFloat64Loop() {
        Random r = new Random(11);
        String[] names = {"add_", "sub_", "mul_", "div_"};
        DoubleBinaryOperator[] fs = {(a, b) -> a + b, (a, b) -> a - b, (a, b) -> a * b, (a, b) -> a / b};
        for (int c = 0; c < CASES; c++) {
            DType t = r.nextBoolean() ? DType.F32 : DType.F64;
            long[] shape = Seeded.shape(r, 0, 3);
            Tensor self = writable(r, shape, t);
            Tensor other = Seeded.random(r, broadcastable(r, shape), t);
            int k = r.nextInt(4);
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

    @Example
    void fusedUpdatesMatchFloat64Loops() {
        Random r = new Random(12);
        for (int c = 0; c < CASES; c++) {
            DType t = r.nextBoolean() ? DType.F32 : DType.F64;
            long[] shape = Seeded.shape(r, 1, 3);
            Tensor self = writable(r, shape, t);
            Tensor a = Seeded.random(r, broadcastable(r, shape), t), b = Seeded.random(r, broadcastable(r, shape), t);
            double v = r.nextGaussian();
            int k = r.nextInt(4);
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
