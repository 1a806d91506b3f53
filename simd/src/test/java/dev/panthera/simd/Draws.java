package dev.panthera.simd;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.testing.LayoutKind;
import dev.panthera.testing.TensorSpec;
import dev.panthera.testing.Tensors;
import dev.panthera.testing.Values;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * The arbitraries the simd properties draw their cases from, built on panthera-testing's: sizes from a range or a list
 * of the lengths a kernel's blocking cares about, and tensors of a given shape with N(0, 1) values, contiguous or in
 * the views the kit draws (contiguous, transposed, stepped, offset). Everything is drawn by jqwik, so a failure
 * replays from jqwik's seed and shrinks: sizes toward the smallest (or the first listed), layouts toward contiguous,
 * values toward 0.
 */
final class Draws {
    private Draws() {}

    /** A whole number in [lo, hi], shrinking toward lo. */
    static Arbitrary<Long> between(long lo, long hi) {
        return Arbitraries.longs().between(lo, hi);
    }

    /** One of {@code values}, shrinking toward the first. */
    static Arbitrary<Long> oneOf(long... values) {
        return Arbitraries.of(Arrays.stream(values).boxed().toList());
    }

    /** {@code n} whole numbers in [0, bound), shrinking toward 0. */
    static Arbitrary<long[]> indices(int n, long bound) {
        return Arbitraries.longs().between(0, bound - 1).array(long[].class).ofSize(n);
    }

    /** {@code n} N(0, 1) floats (six decimals, in [-6, 6]), each shrinking toward 0. */
    static Arbitrary<float[]> normals(long n) {
        return Values.normal().list().ofSize(Math.toIntExact(n)).map(Draws::floats);
    }

    /** The values for a failure report: all of them up to 64, else the count and the first 16. */
    static String show(float[] values) {
        if (values == null) return "null";
        if (values.length <= 64) return Arrays.toString(values);
        return values.length + " values, first " + Arrays.toString(Arrays.copyOf(values, 16));
    }

    private static float[] floats(List<Double> values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) out[i] = values.get(i).floatValue();
        return out;
    }

    /** N(0, 1) values of {@code shape}, contiguous. */
    static Arbitrary<TensorSpec> contiguous(DType dtype, long... shape) {
        return Tensors.of(dtype)
                .withLayouts(LayoutKind.CONTIGUOUS)
                .withValues(Values.normal())
                .specs(Shape.of(shape), dtype);
    }

    /** N(0, 1) values of {@code shape}, contiguous, transposed, stepped or offset. */
    static Arbitrary<TensorSpec> views(DType dtype, long... shape) {
        return Tensors.of(dtype)
                .withLayouts(LayoutKind.CONTIGUOUS, LayoutKind.TRANSPOSED, LayoutKind.STEPPED, LayoutKind.OFFSET)
                .withValues(Values.normal())
                .specs(Shape.of(shape), dtype);
    }

    /** One sample of each arbitrary, in order. */
    static <T> Arbitrary<List<T>> all(List<Arbitrary<T>> parts) {
        return Combinators.combine(parts).as(List::copyOf);
    }
}
