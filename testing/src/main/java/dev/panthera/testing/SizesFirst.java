package dev.panthera.testing;

import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.RandomGenerator;
import net.jqwik.api.Shrinkable;
import net.jqwik.api.ShrinkingDistance;

/**
 * A dependent draw that shrinks its first stage first: {@code first} (sizes, a shape, choices) is drawn, then {@code
 * then.apply(first)} (the tensors of those sizes). A failing sample tries smaller sizes (with the dependent values
 * drawn afresh from the same seed) before it tries simpler values.
 *
 * <p>jqwik's own {@link Arbitrary#flatMap} shrinks the other way round: the dependent values first, then the sizes.
 * For a tensor of thousands of elements that spends the whole shrinking budget (10 seconds by default) on values, one
 * element at a time, and reports the shape as drawn. Everything is still drawn through jqwik's random source, so a
 * sample replays from jqwik's seed.
 */
public final class SizesFirst {
    private SizesFirst() {}

    /** {@code then} applied to a draw of {@code first}, shrinking {@code first} before the dependent values. */
    public static <T, U> Arbitrary<U> flatMap(Arbitrary<T> first, Function<? super T, ? extends Arbitrary<U>> then) {
        return Arbitraries.fromGeneratorWithSize(genSize -> {
            RandomGenerator<T> left = first.generator(genSize);
            return random -> new Node<>(left.next(random), then, genSize, random.nextLong(), null);
        });
    }

    /** The sizes' shrinkable, and the dependent values' one, generated from {@code seed} when first needed. */
    private static final class Node<T, U> implements Shrinkable<U> {
        private final Shrinkable<T> left;
        private final Function<? super T, ? extends Arbitrary<U>> then;
        private final int genSize;
        private final long seed;
        private Shrinkable<U> right;

        Node(
                Shrinkable<T> left,
                Function<? super T, ? extends Arbitrary<U>> then,
                int genSize,
                long seed,
                Shrinkable<U> right) {
            this.left = left;
            this.then = then;
            this.genSize = genSize;
            this.seed = seed;
            this.right = right;
        }

        private Shrinkable<U> right() {
            if (right == null)
                right = then.apply(left.value()).generator(genSize).next(new Random(seed));
            return right;
        }

        @Override
        public U value() {
            return right().value();
        }

        @Override
        public Stream<Shrinkable<U>> shrink() {
            Stream<Shrinkable<U>> sizes = left.shrink().map(l -> new Node<>(l, then, genSize, seed, null));
            Stream<Shrinkable<U>> values =
                    Stream.of(0).flatMap(x -> right().shrink()).map(r -> new Node<>(left, then, genSize, seed, r));
            return Stream.concat(sizes, values);
        }

        @Override
        public ShrinkingDistance distance() {
            return left.distance().append(right().distance());
        }
    }
}
