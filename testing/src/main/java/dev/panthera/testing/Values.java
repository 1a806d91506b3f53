package dev.panthera.testing;

import dev.panthera.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Tuple;

/**
 * Arbitraries for element values (as doubles, converted to the tensor's dtype when the tensor is made), in the
 * manner of hypothesis' {@code from_dtype}: normal and uniform floats, integers, and each dtype's edge values (NaN,
 * ±Inf, ±0.0, the smallest subnormal and normal, the largest finite value). Floats shrink toward 0 and toward fewer
 * decimal places; edge values toward the first of {@link #edgeValues}.
 */
public final class Values {
    private Values() {}

    /**
     * N(0, 1) truncated to [−6, 6] (six standard deviations each side) with six decimals, shrinking toward 0, then
     * toward whole numbers and halves.
     */
    public static Arbitrary<Double> normal() {
        return Arbitraries.fromGenerator(random -> NormalValue.draw(random));
    }

    /**
     * Uniform in [lo, hi] (any finite bounds) on a grid of 10⁶ steps, shrinking toward the value in range nearest 0:
     * to it, then halfway there.
     */
    public static Arbitrary<Double> uniform(double lo, double hi) {
        if (!(lo <= hi) || Double.isInfinite(lo) || Double.isInfinite(hi))
            throw new IllegalArgumentException("Values.uniform: need finite lo <= hi, got [" + lo + ", " + hi + "]");
        return Arbitraries.fromGenerator(random -> UniformValue.draw(lo, hi, random));
    }

    /** Whole numbers in [lo, hi] (as doubles), shrinking toward the one nearest 0. */
    public static Arbitrary<Double> integers(long lo, long hi) {
        if (lo > hi) throw new IllegalArgumentException("Values.integers: need lo <= hi, got [" + lo + ", " + hi + "]");
        return Arbitraries.longs().between(lo, hi).map(v -> (double) v);
    }

    /**
     * The ordinary values of {@code dtype}: {@link #normal()} for floats, integers of the whole range for I8 and U8,
     * integers in [−1000, 1000] (within range) for I32 and I64, 0 and 1 for BOOL.
     */
    public static Arbitrary<Double> of(DType dtype) {
        return switch (dtype) {
            case F32, F64, F16, BF16 -> normal();
            case I8 -> integers(-128, 127);
            case U8 -> integers(0, 255);
            case I32, I64 -> integers(-1000, 1000);
            case BOOL -> integers(0, 1);
        };
    }

    /** {@link #of(DType)} with one value in {@code oneIn} replaced by an edge value of the dtype. */
    public static Arbitrary<Double> withEdges(DType dtype, int oneIn) {
        return withEdges(of(dtype), dtype, oneIn);
    }

    /** {@code base} with one value in {@code oneIn} replaced by an edge value of {@code dtype}. */
    public static Arbitrary<Double> withEdges(Arbitrary<Double> base, DType dtype, int oneIn) {
        if (oneIn < 1) throw new IllegalArgumentException("Values.withEdges: oneIn must be >= 1, got " + oneIn);
        return Arbitraries.frequencyOf(Tuple.of(oneIn - 1, base), Tuple.of(1, edges(dtype)));
    }

    /** One of {@link #edgeValues}(dtype). */
    public static Arbitrary<Double> edges(DType dtype) {
        return Arbitraries.of(edgeValues(dtype));
    }

    /**
     * The edge values of {@code dtype}, simplest first: for floats 0.0, −0.0, ±the smallest subnormal, ±the smallest
     * normal, ±the largest finite value, +Inf, −Inf, NaN; for integers 0, ±1, the minimum and the maximum (I64's as
     * the doubles −2⁶³ and 2⁶³, which the conversion saturates to Long.MIN_VALUE and Long.MAX_VALUE); for BOOL 0, 1.
     */
    public static List<Double> edgeValues(DType dtype) {
        List<Double> v = new ArrayList<>();
        if (dtype.isFloatingPoint()) {
            double sub = minSubnormal(dtype), norm = minNormal(dtype), max = maxFinite(dtype);
            for (double x : new double[] {0.0, -0.0, sub, -sub, norm, -norm, max, -max}) v.add(x);
            v.add(Double.POSITIVE_INFINITY);
            v.add(Double.NEGATIVE_INFINITY);
            v.add(Double.NaN);
            return v;
        }
        v.add(0.0);
        if (dtype == DType.BOOL) {
            v.add(1.0);
            return v;
        }
        v.add(1.0);
        if (minValue(dtype) < 0) v.add(-1.0);
        v.add(minValue(dtype));
        v.add(maxFinite(dtype));
        return v;
    }

    /** The largest finite value of {@code dtype} (for integer types, the maximum; I64's rounded to a double). */
    public static double maxFinite(DType dtype) {
        return switch (dtype) {
            case F64 -> Double.MAX_VALUE;
            case F32 -> Float.MAX_VALUE;
            case F16 -> 65504.0; // (2 − 2⁻¹⁰)·2¹⁵
            case BF16 -> 0x1.FEp127; // (2 − 2⁻⁷)·2¹²⁷
            case I8 -> 127;
            case U8 -> 255;
            case I32 -> Integer.MAX_VALUE;
            case I64 -> (double) Long.MAX_VALUE;
            case BOOL -> 1;
        };
    }

    /** The most negative value of {@code dtype}: −maxFinite for floats, the minimum for integers, 0 for BOOL. */
    public static double minValue(DType dtype) {
        return switch (dtype) {
            case F64, F32, F16, BF16 -> -maxFinite(dtype);
            case I8 -> -128;
            case U8, BOOL -> 0;
            case I32 -> Integer.MIN_VALUE;
            case I64 -> (double) Long.MIN_VALUE;
        };
    }

    /** The smallest positive normal value of a float dtype. */
    public static double minNormal(DType dtype) {
        return switch (dtype) {
            case F64 -> Double.MIN_NORMAL;
            case F32, BF16 -> Float.MIN_NORMAL; // BF16 keeps F32's exponent range
            case F16 -> 0x1p-14;
            default -> throw new IllegalArgumentException("Values.minNormal: " + dtype + " is not a float type");
        };
    }

    /** The smallest positive subnormal value of a float dtype. */
    public static double minSubnormal(DType dtype) {
        return switch (dtype) {
            case F64 -> Double.MIN_VALUE;
            case F32 -> Float.MIN_VALUE;
            case F16 -> 0x1p-24;
            case BF16 -> 0x1p-133; // 2⁻¹²⁶ · 2⁻⁷
            default -> throw new IllegalArgumentException("Values.minSubnormal: " + dtype + " is not a float type");
        };
    }
}
