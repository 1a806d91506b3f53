package dev.panthera.tensor;

import dev.panthera.testing.LayoutKind;
import dev.panthera.testing.Shapes;
import dev.panthera.testing.TensorSpec;
import dev.panthera.testing.Tensors;
import dev.panthera.testing.Values;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * The arbitraries this module's properties draw their cases from, built on panthera-testing's: sizes, shapes, small
 * whole numbers for choices and indices, and tensors of a given shape with N(0, 1) values in a chosen set of layouts.
 * Everything is drawn by jqwik, so a failure replays from jqwik's seed and shrinks: sizes toward the smallest allowed,
 * choices toward the first, layouts toward contiguous, values toward 0. A property whose shapes depend on drawn sizes
 * draws the sizes first and the tensors in a {@code flatMap} on them.
 */
final class Cases {
    private Cases() {}

    /** The largest tensor a drawn shape may have: rank 4 of the largest size, 17⁴ elements. */
    static final long MAX_NUMEL = 17L * 17 * 17 * 17;

    /** One size in [1, max] ({@link Shapes#sizes}: mostly 1, primes and vector-width tails), shrinking toward 1. */
    static Arbitrary<Long> size(long max) {
        return Shapes.sizes(1, max);
    }

    /** A whole number in [lo, hi], shrinking toward lo. */
    static Arbitrary<Long> between(long lo, long hi) {
        return Arbitraries.longs().between(lo, hi);
    }

    /** A choice among {@code n} alternatives, 0 to n − 1, shrinking toward 0. */
    static Arbitrary<Integer> choice(int n) {
        return Arbitraries.integers().between(0, n - 1);
    }

    /** One of {@code values}, shrinking toward the first. */
    static Arbitrary<Long> oneOf(long... values) {
        return Arbitraries.of(java.util.Arrays.stream(values).boxed().toList());
    }

    /** A shape of rank [minRank, maxRank] with sizes in [1, 17] ({@link Shapes#shapes}), as an array. */
    static Arbitrary<long[]> shape(int minRank, int maxRank) {
        return Shapes.shapes(minRank, maxRank, 1, 17, MAX_NUMEL).map(Shape::toArray);
    }

    /** {@code n} whole numbers in [0, bound), e.g. the ids of an index tensor; they shrink toward 0. */
    static Arbitrary<long[]> indices(int n, long bound) {
        return Arbitraries.longs().between(0, bound - 1).array(long[].class).ofSize(n);
    }

    /** N(0, 1) values of {@code shape} in any layout the kit draws (contiguous, transposed, stepped, offset, broadcast). */
    static Arbitrary<TensorSpec> anyLayout(DType dtype, long... shape) {
        return Tensors.of(dtype).withValues(Values.normal()).specs(Shape.of(shape), dtype);
    }

    /** N(0, 1) values of {@code shape}, contiguous. */
    static Arbitrary<TensorSpec> contiguous(DType dtype, long... shape) {
        return in(dtype, shape, LayoutKind.CONTIGUOUS);
    }

    /** N(0, 1) values of {@code shape} in one of the given layouts (shrinking toward the first in enum order). */
    static Arbitrary<TensorSpec> in(DType dtype, long[] shape, LayoutKind first, LayoutKind... more) {
        return Tensors.of(dtype)
                .withLayouts(first, more)
                .withValues(Values.normal())
                .specs(Shape.of(shape), dtype);
    }

    /** One sample of each arbitrary, in order. */
    static <T> Arbitrary<List<T>> all(List<Arbitrary<T>> parts) {
        if (parts.isEmpty()) return Arbitraries.just(List.of());
        return Combinators.combine(parts).as(List::copyOf);
    }

    /** The tensors of {@code specs}, each a fresh view of a fresh storage. */
    static Tensor[] tensors(List<TensorSpec> specs) {
        Tensor[] t = new Tensor[specs.size()];
        for (int i = 0; i < t.length; i++) t[i] = specs.get(i).tensor();
        return t;
    }
}
