package dev.panthera.tensor;

import dev.panthera.testing.GradCheck;
import dev.panthera.testing.LayoutKind;
import dev.panthera.testing.Shapes;
import dev.panthera.testing.Tensors;
import dev.panthera.testing.Values;
import java.util.Random;
import java.util.function.Function;
import net.jqwik.api.Arbitrary;

/**
 * panthera-testing's arbitraries sampled from a property's own {@link Random}, for the properties that still draw a
 * case from a seed: the same generators (sizes, layouts, values) as the properties that take their inputs as
 * {@code @ForAll} parameters, but such a failure is reported by its seed and does not shrink. New properties take
 * their inputs as parameters instead.
 */
final class Seeded {
    private Seeded() {}

    /** Generation size handed to jqwik's generators (its default for a property of 1000 tries). */
    private static final int GEN_SIZE = 1000;

    /** The largest tensor these properties draw: rank 4 of the largest size, 17⁴ elements. */
    private static final long MAX_NUMEL = 17L * 17 * 17 * 17;

    private static <T> T sample(Arbitrary<T> a, Random r) {
        return a.generator(GEN_SIZE).next(r).value();
    }

    /** One size in [1, max] ({@link Shapes#sizes}: mostly 1, primes and vector-width tails). */
    static long size(Random r, long max) {
        return sample(Shapes.sizes(1, max), r);
    }

    /** A shape of rank [minRank, maxRank] with sizes in [1, 17]. */
    static long[] shape(Random r, int minRank, int maxRank) {
        return sample(Shapes.shapes(minRank, maxRank, 1, 17, MAX_NUMEL), r).toArray();
    }

    /** N(0, 1) values of {@code shape} in any layout the kit draws (contiguous, transposed, stepped, offset, broadcast). */
    static Tensor random(Random r, long[] shape, DType dtype) {
        return sample(tensors(shape, dtype), r);
    }

    /** N(0, 1) values of {@code shape} as a contiguous tensor. */
    static Tensor normal(Random r, long[] shape, DType dtype) {
        return random(r, shape, dtype, LayoutKind.CONTIGUOUS);
    }

    private static Arbitrary<Tensor> tensors(long[] shape, DType dtype) {
        return Tensors.of(dtype)
                .withShape(Shape.of(shape))
                .withValues(Values.normal())
                .specs(Shape.of(shape), dtype)
                .map(s -> s.tensor());
    }

    /** N(0, 1) values of {@code shape} in {@code layout}. */
    static Tensor random(Random r, long[] shape, DType dtype, LayoutKind layout) {
        return sample(
                Tensors.of(dtype)
                        .withLayouts(layout)
                        .withValues(Values.normal())
                        .specs(Shape.of(shape), dtype)
                        .map(s -> s.tensor()),
                r);
    }

    /** panthera-testing's {@link GradCheck} at N(0, 1) F64 leaves of {@code shapes} drawn from {@code r}. */
    static void gradCheck(String what, Random r, Function<Tensor[], Tensor> f, long[]... shapes) {
        Tensor[] in = new Tensor[shapes.length];
        for (int k = 0; k < shapes.length; k++) in[k] = normal(r, shapes[k], DType.F64);
        GradCheck.check(what, f, in);
    }
}
