package dev.panthera.testing;

import dev.panthera.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Tuple;

/**
 * Arbitraries for tensor shapes, in the manner of hypothesis' {@code array_shapes} and
 * {@code mutually_broadcastable_shapes}. Sizes favour the cases kernels get wrong: 0 and 1, primes, and lengths one
 * below and one above a multiple of the vector widths in use (8 and 16 float lanes), so a vector loop always meets a
 * tail. Everything is drawn through jqwik, so a failing sample replays from jqwik's seed and shrinks: a shape toward
 * fewer dimensions (down to the minimum rank) and each size toward the smallest allowed.
 */
public final class Shapes {
    private Shapes() {}

    /** Sizes drawn more often than the rest, ascending: 0, 1, primes, and vector-width tails (7/9, 15/17, 31/33). */
    public static final long[] EDGE_SIZES = {0, 1, 2, 3, 5, 7, 8, 9, 11, 13, 15, 16, 17, 31, 32, 33};

    /** Default bound on the elements of a drawn shape, so a rank-4 draw stays quick to test. */
    public static final long DEFAULT_MAX_NUMEL = 1 << 14;

    /**
     * One dimension's size in [min, max]: three times in four one of {@link #EDGE_SIZES} in range, else any size in
     * range. Shrinks toward {@code min}.
     */
    public static Arbitrary<Long> sizes(long min, long max) {
        if (min < 0 || max < min)
            throw new IllegalArgumentException("Shapes.sizes: need 0 <= min <= max, got [" + min + ", " + max + "]");
        List<Long> edges = new ArrayList<>();
        for (long s : EDGE_SIZES) if (s >= min && s <= max) edges.add(s);
        Arbitrary<Long> any = Arbitraries.longs().between(min, max);
        if (edges.isEmpty()) return any;
        return Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.of(edges)), Tuple.of(1, any));
    }

    /** Shapes of rank 0..4 with sizes 0..33 and at most {@link #DEFAULT_MAX_NUMEL} elements. */
    public static Arbitrary<Shape> shapes() {
        return shapes(0, 4);
    }

    /** Shapes of rank in [minRank, maxRank] with sizes 0..33 and at most {@link #DEFAULT_MAX_NUMEL} elements. */
    public static Arbitrary<Shape> shapes(int minRank, int maxRank) {
        return shapes(minRank, maxRank, 0, 33, DEFAULT_MAX_NUMEL);
    }

    /**
     * Shapes of rank in [minRank, maxRank], each size in [minSize, maxSize], with at most {@code maxNumel} elements
     * (draws above it are rejected, so keep the bound loose enough that most draws pass).
     */
    public static Arbitrary<Shape> shapes(int minRank, int maxRank, long minSize, long maxSize, long maxNumel) {
        if (minRank < 0 || maxRank < minRank)
            throw new IllegalArgumentException(
                    "Shapes.shapes: need 0 <= minRank <= maxRank, got [" + minRank + ", " + maxRank + "]");
        return sizes(minSize, maxSize)
                .list()
                .ofMinSize(minRank)
                .ofMaxSize(maxRank)
                .map(Shapes::toShape)
                .filter(s -> s.numel() <= maxNumel);
    }

    /**
     * {@code n} shapes that broadcast together under NumPy's rules, with their broadcast result: a result shape of
     * rank [minRank, maxRank] is drawn, then each operand drops some leading dimensions and sets some others to 1.
     * Shrinks toward operands equal to the result, and the result toward a small shape.
     */
    public static Arbitrary<BroadcastShapes> broadcastable(int n, int minRank, int maxRank) {
        return broadcastable(n, shapes(minRank, maxRank));
    }

    /**
     * {@code n} shapes that broadcast together to a result drawn from {@code results} (e.g. {@link #shapes(int, int,
     * long, long, long)} with small sizes): each operand drops some leading dimensions of the result and sets some
     * others to 1. Shrinks toward operands equal to the result, and the result as {@code results} shrinks.
     */
    public static Arbitrary<BroadcastShapes> broadcastable(int n, Arbitrary<Shape> results) {
        if (n < 1) throw new IllegalArgumentException("Shapes.broadcastable: need n >= 1 operands, got " + n);
        return results.flatMap(result -> operand(result).list().ofSize(n).map(ops -> BroadcastShapes.of(ops)));
    }

    /** Two shapes that broadcast together; see {@link #broadcastable}. */
    public static Arbitrary<BroadcastShapes> broadcastablePairs(int minRank, int maxRank) {
        return broadcastable(2, minRank, maxRank);
    }

    /** One operand of {@code result}: some leading dims dropped, some of the rest set to size 1. */
    private static Arbitrary<Shape> operand(Shape result) {
        int rank = result.rank();
        Arbitrary<Integer> dropped = Arbitraries.integers().between(0, rank);
        Arbitrary<List<Boolean>> ones = Arbitraries.of(false, true).list().ofSize(rank);
        return net.jqwik.api.Combinators.combine(dropped, ones).as((drop, mask) -> {
            long[] dims = new long[rank - drop];
            for (int i = 0; i < dims.length; i++) {
                int d = i + drop;
                dims[i] = mask.get(d) ? 1 : result.dim(d);
            }
            return Shape.of(dims);
        });
    }

    static Shape toShape(List<Long> sizes) {
        long[] dims = new long[sizes.size()];
        for (int i = 0; i < dims.length; i++) dims[i] = sizes.get(i);
        return Shape.of(dims);
    }
}
