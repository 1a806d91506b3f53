package dev.panthera.testing;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;

/**
 * Assertions on tensors in the manner of torch.testing.assert_close: the shapes, dtypes and devices must agree, then
 * every element must satisfy |actual − expected| ≤ atol + rtol·|expected| (default rtol and atol per dtype from
 * {@link Tolerance#defaultFor}). A failure says how many elements are off, the worst one (the largest error relative to
 * what it was allowed) with its index, both values and its absolute and relative error, and the greatest absolute and
 * relative differences as torch reports them. {@link #assertUlpClose} compares in units in the last place instead.
 */
public final class TensorAssert {
    private TensorAssert() {}

    /** {@code actual} equals {@code expected} within the default tolerance of their dtype. */
    public static void assertClose(Tensor actual, Tensor expected) {
        assertClose(actual, expected, Tolerance.defaultFor(actual.dtype(), expected.dtype()), null);
    }

    /** {@code actual} equals {@code expected} within {@code tolerance}. */
    public static void assertClose(Tensor actual, Tensor expected, Tolerance tolerance) {
        assertClose(actual, expected, tolerance, null);
    }

    /** As {@link #assertClose(Tensor, Tensor, Tolerance)}; {@code what} (may be null) heads the failure message. */
    public static void assertClose(Tensor actual, Tensor expected, Tolerance tolerance, String what) {
        checkMetadata(actual, expected, tolerance.checkDtype(), tolerance.checkDevice(), what);
        Shape shape = Shape.of(actual.dims());
        if (!actual.dtype().isFloatingPoint() && !expected.dtype().isFloatingPoint()) {
            // integers compare as longs (a double loses I64's low bits); only the message goes through doubles
            long[] a = actual.toLongArray(), e = expected.toLongArray();
            boolean close = true;
            for (int i = 0; i < a.length && close; i++) {
                long d;
                try {
                    d = Math.absExact(Math.subtractExact(a[i], e[i]));
                } catch (ArithmeticException overflow) {
                    d = Long.MAX_VALUE;
                }
                close = d == 0 || d <= tolerance.allowed(e[i]);
            }
            if (close) return;
            double[] ad = new double[a.length], ed = new double[e.length];
            for (int i = 0; i < a.length; i++) {
                ad[i] = a[i];
                ed[i] = e[i];
            }
            assertClose(ad, ed, shape, tolerance, what);
            throw new AssertionError(
                    head(what) + "integer tensors differ below a double's precision (I64 values" + " above 2^53)");
        }
        assertClose(actual.toDoubleArray(), expected.toDoubleArray(), shape, tolerance, what);
    }

    /**
     * Row-major values of a tensor of {@code shape} against expected ones within {@code tolerance}; {@code what} (may
     * be null) heads the failure message. Use it to compare with a float64 loop's output.
     */
    public static void assertClose(double[] actual, double[] expected, Shape shape, Tolerance tolerance, String what) {
        if (actual.length != expected.length || actual.length != shape.numel())
            throw new AssertionError(head(what) + "the value counts differ: actual " + actual.length + ", expected "
                    + expected.length + " for shape " + shape);
        Mismatches m = Mismatches.of(actual, expected, tolerance);
        if (m.count() == 0) return;
        throw new AssertionError(head(what) + "tensors are not close (rtol " + tolerance.rtol() + ", atol "
                + tolerance.atol() + (tolerance.equalNan() ? ", NaN equal to NaN" : "") + ")\n" + m.describe(shape));
    }

    /**
     * Every element of {@code actual} is within {@code maxUlps} units in the last place of {@code expected}, counted
     * in the dtype (both must be the same float dtype): the number of representable values between them, so ±0.0 are
     * 0 apart and the largest finite value is 1 from infinity. NaN matches only NaN, and only with {@code equalNan}.
     */
    public static void assertUlpClose(Tensor actual, Tensor expected, long maxUlps, boolean equalNan, String what) {
        checkMetadata(actual, expected, true, true, what);
        DType t = actual.dtype();
        if (!t.isFloatingPoint()) throw new IllegalArgumentException("assertUlpClose: " + t + " is not a float dtype");
        double[] a = actual.toDoubleArray(), e = expected.toDoubleArray();
        long count = 0, worst = -1;
        int worstAt = -1;
        for (int i = 0; i < a.length; i++) {
            long d;
            if (Double.isNaN(a[i]) || Double.isNaN(e[i]))
                d = equalNan && Double.isNaN(a[i]) && Double.isNaN(e[i]) ? 0 : Long.MAX_VALUE;
            else d = ulpDistance(t, a[i], e[i]);
            if (d > maxUlps) {
                count++;
                if (d > worst) {
                    worst = d;
                    worstAt = i;
                }
            }
        }
        if (count == 0) return;
        Shape shape = Shape.of(actual.dims());
        throw new AssertionError(head(what) + "tensors are not within " + maxUlps + " ulp (" + t + ")\n"
                + "Mismatched elements: " + count + " / " + a.length + " (" + percent(count, a.length) + ")\n"
                + "Worst element at index " + Mismatches.index(shape, worstAt) + ": actual " + a[worstAt]
                + ", expected " + e[worstAt] + " ("
                + (worst == Long.MAX_VALUE ? "NaN against a number" : worst + " ulp") + ", abs error "
                + Math.abs(a[worstAt] - e[worstAt]) + ", rel error " + Mismatches.relative(a[worstAt], e[worstAt])
                + ")");
    }

    /** {@link #assertUlpClose(Tensor, Tensor, long, boolean, String)} with NaN unequal and no heading. */
    public static void assertUlpClose(Tensor actual, Tensor expected, long maxUlps) {
        assertUlpClose(actual, expected, maxUlps, false, null);
    }

    /**
     * The number of {@code dtype} values from {@code a} to {@code b} (both representable in it, not NaN): the
     * difference of their bit patterns mapped to a monotone integer order.
     */
    public static long ulpDistance(DType dtype, double a, double b) {
        return switch (dtype) {
            case F64 -> {
                long x = ordered(Double.doubleToRawLongBits(a)), y = ordered(Double.doubleToRawLongBits(b));
                long d = x - y;
                // opposite extremes overflow a long difference; saturate
                yield ((x ^ y) & (x ^ d)) < 0 ? Long.MAX_VALUE : Math.abs(d);
            }
            case F32 ->
                Math.abs((long) ordered32(Float.floatToRawIntBits((float) a))
                        - ordered32(Float.floatToRawIntBits((float) b)));
            case F16 ->
                Math.abs(ordered16(Float.floatToFloat16((float) a)) - ordered16(Float.floatToFloat16((float) b)));
            case BF16 ->
                Math.abs(ordered16((short) (Float.floatToRawIntBits((float) a) >>> 16))
                        - ordered16((short) (Float.floatToRawIntBits((float) b) >>> 16)));
            default -> throw new IllegalArgumentException("ulpDistance: " + dtype + " is not a float dtype");
        };
    }

    private static long ordered(long bits) {
        return bits < 0 ? Long.MIN_VALUE - bits : bits;
    }

    private static long ordered32(int bits) {
        return bits < 0 ? (long) Integer.MIN_VALUE - bits : bits;
    }

    private static long ordered16(short bits) {
        int b = bits & 0xFFFF;
        return (b & 0x8000) != 0 ? -(b & 0x7FFF) : b;
    }

    private static void checkMetadata(
            Tensor actual, Tensor expected, boolean checkDtype, boolean checkDevice, String what) {
        if (!Shape.of(actual.dims()).equals(Shape.of(expected.dims())))
            throw new AssertionError(head(what) + "the shapes differ: actual " + Shape.of(actual.dims()) + ", expected "
                    + Shape.of(expected.dims()));
        if (checkDtype && actual.dtype() != expected.dtype())
            throw new AssertionError(head(what) + "the dtypes differ: actual " + actual.dtype() + ", expected "
                    + expected.dtype() + " (compare across dtypes with Tolerance.withCheckDtype(false))");
        if (checkDevice && !actual.device().equals(expected.device()))
            throw new AssertionError(head(what) + "the devices differ: actual " + actual.device() + ", expected "
                    + expected.device() + " (compare across devices with Tolerance.withCheckDevice(false))");
    }

    static String head(String what) {
        return what == null || what.isEmpty() ? "assertClose: " : what + ": ";
    }

    static String percent(long count, long total) {
        return String.format(java.util.Locale.ROOT, "%.1f%%", 100.0 * count / total);
    }
}
