package dev.panthera.testing;

import dev.panthera.tensor.DType;

/**
 * What {@link TensorAssert#assertClose} accepts: |actual − expected| ≤ atol + rtol·|expected| per element, NaN equal to
 * NaN only with {@code equalNan}, infinities only equal to themselves; and which metadata must agree.
 *
 * @param rtol        relative tolerance
 * @param atol        absolute tolerance
 * @param equalNan    whether NaN in both places counts as equal
 * @param checkDtype  whether the dtypes must be equal (if not, each is compared through doubles)
 * @param checkDevice whether the devices must be equal (if not, values are copied to the host to compare)
 */
public record Tolerance(double rtol, double atol, boolean equalNan, boolean checkDtype, boolean checkDevice) {

    public Tolerance {
        if (!(rtol >= 0) || !(atol >= 0))
            throw new IllegalArgumentException(
                    "Tolerance: rtol and atol must be >= 0, got rtol " + rtol + ", atol " + atol);
    }

    /** rtol and atol as given; NaN unequal; dtype and device checked. */
    public static Tolerance of(double rtol, double atol) {
        return new Tolerance(rtol, atol, false, true, true);
    }

    /**
     * torch.testing.assert_close's defaults for {@code dtype} (its documented table): F16 rtol 1e-3, atol 1e-5; BF16
     * rtol 1.6e-2, atol 1e-5; F32 rtol 1.3e-6, atol 1e-5; F64 rtol 1e-7, atol 1e-7; integers and BOOL exact.
     */
    public static Tolerance defaultFor(DType dtype) {
        return switch (dtype) {
            case F16 -> of(1e-3, 1e-5);
            case BF16 -> of(1.6e-2, 1e-5);
            case F32 -> of(1.3e-6, 1e-5);
            case F64 -> of(1e-7, 1e-7);
            case I8, U8, I32, I64, BOOL -> of(0, 0);
        };
    }

    /** The looser of the two dtypes' defaults in each of rtol and atol (as torch does for mixed dtypes). */
    public static Tolerance defaultFor(DType a, DType b) {
        Tolerance x = defaultFor(a), y = defaultFor(b);
        return of(Math.max(x.rtol, y.rtol), Math.max(x.atol, y.atol));
    }

    public Tolerance withEqualNan(boolean equalNan) {
        return new Tolerance(rtol, atol, equalNan, checkDtype, checkDevice);
    }

    public Tolerance withCheckDtype(boolean checkDtype) {
        return new Tolerance(rtol, atol, equalNan, checkDtype, checkDevice);
    }

    public Tolerance withCheckDevice(boolean checkDevice) {
        return new Tolerance(rtol, atol, equalNan, checkDtype, checkDevice);
    }

    /** This tolerance with atol raised to at least {@code atol}. */
    public Tolerance withAtLeastAtol(double atol) {
        return new Tolerance(rtol, Math.max(this.atol, atol), equalNan, checkDtype, checkDevice);
    }

    /** The bound for one element: atol + rtol·|expected|. */
    public double allowed(double expected) {
        return atol + rtol * Math.abs(expected);
    }
}
