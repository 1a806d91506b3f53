package dev.panthera.testing;

import java.util.Random;
import java.util.function.LongUnaryOperator;
import java.util.function.ToLongFunction;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Shrinkable;
import net.jqwik.api.ShrinkingDistance;

/**
 * Arrays of elements (as raw bits in a {@code long[]}: a float's bits, a byte, an index) drawn all at once from
 * jqwik's random source, for buffers of thousands to millions of elements. A jqwik list of per-element shrinkables
 * costs about a microsecond an element to draw, which made properties over GEMM-sized buffers far slower;
 * this draws the array in one pass and still shrinks: first ever smaller chunks (the whole array, its halves, quarters,
 * down to single elements) are set to the simplest element (0), then single elements to a simpler value. A sample
 * replays from jqwik's seed.
 */
public final class ElementArrays {
    private ElementArrays() {}

    /** How one element is drawn, what simpler value it shrinks to (itself if none), and its size for shrinking. */
    public record Kind(ToLongFunction<Random> draw, LongUnaryOperator simpler, LongUnaryOperator size) {}

    /** {@code n} elements of {@code kind}. */
    public static Arbitrary<long[]> of(Kind kind, long n) {
        int count = Math.toIntExact(n);
        return Arbitraries.fromGenerator(random -> {
            long[] bits = new long[count];
            for (int i = 0; i < count; i++) bits[i] = kind.draw().applyAsLong(random);
            return new Sample(kind, bits);
        });
    }

    /** Draws one float. */
    @FunctionalInterface
    public interface FloatDraw {
        float next(Random random);
    }

    /** Float elements (their bits) from {@code draw}: shrink to 0, and a finite non-whole value to its whole part. */
    public static Kind floats(FloatDraw draw) {
        return new Kind(
                r -> Float.floatToRawIntBits(draw.next(r)) & 0xffffffffL,
                ElementArrays::wholePart,
                ElementArrays::floatSize);
    }

    /** {@code n} floats from {@code draw}, as a float[]. */
    public static Arbitrary<float[]> floatArrays(FloatDraw draw, long n) {
        return of(floats(draw), n).map(ElementArrays::toFloats);
    }

    /** Whole numbers from {@code draw} (non-negative: indices, bytes, raw bits): shrink to 0, then to half. */
    public static Kind whole(ToLongFunction<Random> draw) {
        return new Kind(draw, v -> v / 2, v -> v == Long.MIN_VALUE ? Long.MAX_VALUE : Math.abs(v));
    }

    /** The floats whose bits {@code bits} holds (as {@link #floats} stores them). */
    public static float[] toFloats(long[] bits) {
        float[] out = new float[bits.length];
        for (int i = 0; i < out.length; i++) out[i] = Float.intBitsToFloat((int) bits[i]);
        return out;
    }

    private static long wholePart(long bits) {
        float v = Float.intBitsToFloat((int) bits);
        if (!Float.isFinite(v) || v == (long) v) return bits;
        return Float.floatToRawIntBits((float) (long) v) & 0xffffffffL;
    }

    private static long floatSize(long bits) {
        float v = Float.intBitsToFloat((int) bits);
        if (bits == 0) return 0;
        if (Float.isNaN(v)) return 1L << 42;
        if (Float.isInfinite(v)) return 1L << 41;
        return Math.min(1L << 40, Math.round(Math.abs((double) v) * 1e6) + 1);
    }

    /** A drawn array and the ways to make it simpler. Its value is the array itself (not copied): only read it. */
    private record Sample(Kind kind, long[] bits) implements Shrinkable<long[]> {
        @Override
        public long[] value() {
            return bits;
        }

        @Override
        public Stream<Shrinkable<long[]>> shrink() {
            int n = bits.length;
            Stream<Shrinkable<long[]>> chunks = IntStream.iterate(
                            n, len -> len >= 1, len -> len == 1 ? 0 : (len + 1) / 2)
                    .boxed()
                    .flatMap(len -> IntStream.iterate(0, i -> i < n, i -> i + len)
                            .filter(i -> !allZero(i, Math.min(n, i + len)))
                            .mapToObj(i -> zeroed(i, Math.min(n, i + len))));
            Stream<Shrinkable<long[]>> singles = IntStream.range(0, n)
                    .filter(i -> kind.simpler().applyAsLong(bits[i]) != bits[i])
                    .mapToObj(i -> {
                        long[] c = bits.clone();
                        c[i] = kind.simpler().applyAsLong(bits[i]);
                        return new Sample(kind, c);
                    });
            return Stream.concat(chunks, singles);
        }

        private boolean allZero(int from, int to) {
            for (int i = from; i < to; i++) if (bits[i] != 0) return false;
            return true;
        }

        private Shrinkable<long[]> zeroed(int from, int to) {
            long[] c = bits.clone();
            java.util.Arrays.fill(c, from, to, 0L);
            return new Sample(kind, c);
        }

        @Override
        public ShrinkingDistance distance() {
            long nonZero = 0, size = 0;
            for (long b : bits) {
                if (b != 0) nonZero++;
                long s = kind.size().applyAsLong(b);
                size = size > Long.MAX_VALUE - s ? Long.MAX_VALUE : size + s;
            }
            return ShrinkingDistance.of(nonZero, size);
        }
    }
}
