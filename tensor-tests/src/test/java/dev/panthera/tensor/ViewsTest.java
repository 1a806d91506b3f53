package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.testing.Shapes;
import dev.panthera.testing.TensorSpec;
import dev.panthera.testing.Tensors;
import dev.panthera.testing.Values;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Views share storage and read the right elements; copies happen only where strides leave no choice. */
class ViewsTest {

    /** F32 tensors of rank 2 to 4 (sizes 0 to 17) in any layout, with N(0, 1) values. */
    @Provide
    Arbitrary<TensorSpec> rank2to4() {
        return Tensors.of(DType.F32)
                .withShapes(Shapes.shapes(2, 4, 0, 17, 17L * 17 * 17 * 17))
                .withValues(Values.normal())
                .specs();
    }

    @Property(tries = 200)
    void transposeTwiceIsIdentityWithoutCopying(
            @ForAll("rank2to4") TensorSpec spec,
            @ForAll @IntRange(min = 0, max = 3) int pickA,
            @ForAll @IntRange(min = 0, max = 3) int pickB) {
        Tensor x = spec.tensor();
        int rank = spec.shape().rank();
        int a = pickA % rank, b = pickB % rank;
        Tensor y = x.transpose(a, b).transpose(a, b);
        assertSame(x.storage(), y.storage());
        assertEquals(x.layout(), y.layout());
        assertArrayEquals(Oracle.values(x), Oracle.values(y));
        // one transpose reads the swapped element
        Tensor t = x.transpose(a, b);
        for (long[] i : Oracle.indices(t.dims())) {
            long[] j = i.clone();
            j[a] = i[b];
            j[b] = i[a];
            assertEquals(x.get(j), t.get(i), 0.0);
        }
    }

    /**
     * A tensor to reshape, either N(0, 1) F64 values in any layout the kit draws or arange values permuted by
     * {@code perm}, and a target shape: its element count factorised, each prime factor multiplied into the target
     * dimension {@code slots} names.
     */
    record ReshapeCase(long[] shape, TensorSpec drawn, List<Integer> perm, int targetRank, List<Integer> slots) {
        Tensor tensor() {
            if (drawn != null) return drawn.tensor();
            Tensor base = Tensor.arange(0, Shape.of(shape).numel(), 1).reshape(shape);
            return base.permute(perm.stream().mapToInt(Integer::intValue).toArray());
        }

        long[] target(long n) {
            List<Long> f = ViewRuleOracleTest.primeFactors(n);
            long[] target = new long[targetRank];
            Arrays.fill(target, 1);
            for (int i = 0; i < f.size(); i++) target[slots.get(i)] *= f.get(i);
            return target;
        }

        @Override
        public String toString() {
            return (drawn != null ? drawn.toString() : "arange " + Arrays.toString(shape) + " permuted " + perm)
                    + ", target rank " + targetRank + ", factor slots " + slots;
        }
    }

    /** Shapes of rank 1 to 4 with sizes 1 to 17; a drawn tensor or a permuted arange, equally; targets of rank 1 to 4. */
    @Provide
    Arbitrary<ReshapeCase> reshapeCases() {
        return Cases.shape(1, 4).flatMap(shape -> {
            int factors =
                    ViewRuleOracleTest.primeFactors(Shape.of(shape).numel()).size();
            List<Integer> dims = new ArrayList<>();
            for (int i = 0; i < shape.length; i++) dims.add(i);
            Arbitrary<TensorSpec> drawn = Arbitraries.frequencyOf(
                    Tuple.of(1, Cases.anyLayout(DType.F64, shape)), Tuple.of(1, Arbitraries.just((TensorSpec) null)));
            Arbitrary<List<Integer>> target = Arbitraries.integers()
                    .between(1, 4)
                    .flatMap(rank -> Arbitraries.integers()
                            .between(0, rank - 1)
                            .list()
                            .ofSize(factors)
                            .map(slots -> {
                                List<Integer> out = new ArrayList<>(List.of(rank));
                                out.addAll(slots);
                                return out;
                            }));
            return Combinators.combine(drawn, Arbitraries.shuffle(dims), target)
                    .as((d, perm, t) -> new ReshapeCase(shape, d, perm, t.getFirst(), t.subList(1, t.size())));
        });
    }

    @Property(tries = 300)
    void reshapeRoundTripsAndViewsWhenStridesAllow(@ForAll("reshapeCases") ReshapeCase c) {
        Tensor v = c.tensor();
        long n = v.numel();
        long[] target = c.target(n);
        double[] expected = Oracle.values(v); // row-major values through get(): the meaning of reshape
        Tensor y = v.reshape(target);
        assertArrayEquals(target, y.dims());
        assertArrayEquals(expected, Oracle.values(y), "reshape keeps row-major order");
        assertArrayEquals(expected, Oracle.values(y.reshape(v.dims())), "round trip");
        if (v.isContiguous()) assertSame(v.storage(), y.storage(), "a contiguous reshape is a view");
        // view() succeeds exactly when reshape did not copy
        if (y.storage() == v.storage()) assertArrayEquals(expected, Oracle.values(v.view(target)));
        else assertThrows(IllegalArgumentException.class, () -> v.view(target));
    }

    @Test
    void viewOfATransposeThrowsAndReshapeCopies() {
        Tensor x = Tensor.arange(0, 6, 1).reshape(2, 3).t();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.view(6));
        assertTrue(e.getMessage().contains("view") && e.getMessage().contains("[3, 2]"), e.getMessage());
        Tensor y = x.reshape(6);
        assertNotSame(x.storage(), y.storage());
        assertArrayEquals(new long[] {0, 3, 1, 4, 2, 5}, y.toLongArray());
        // merging dims that are uniform in memory is still a view: [2,3,4] → transpose(0,1) → split the last dim
        Tensor base = Tensor.zeros(2, 3, 4);
        Tensor z = base.transpose(0, 1).reshape(3, 2, 2, 2);
        assertSame(base.storage(), z.storage(), "splitting a dim of a transposed view needs no copy");
    }

    /** A target shape, the source it expands from (leading dims dropped, some set to 1) and the source's values. */
    record ExpandCase(long[] target, int drop, TensorSpec x) {
        @Override
        public String toString() {
            return "target " + Arrays.toString(target) + ", drop " + drop + ", x " + x;
        }
    }

    @Provide
    Arbitrary<ExpandCase> expandCases() {
        return Cases.shape(1, 4)
                .flatMap(target -> Combinators.combine(
                                Arbitraries.of(false, true).list().ofSize(target.length),
                                Arbitraries.integers().between(0, target.length))
                        .flatAs((ones, drop) -> {
                            long[] small = target.clone();
                            for (int i = 0; i < small.length; i++) if (ones.get(i)) small[i] = 1;
                            long[] src = Arrays.copyOfRange(small, drop, small.length);
                            return Cases.contiguous(DType.F32, src).map(x -> new ExpandCase(target, drop, x));
                        }));
    }

    @Property(tries = 200)
    void expandIsStrideZeroAndBroadcastsLikeALoop(@ForAll("expandCases") ExpandCase c) {
        long[] target = c.target();
        int drop = c.drop();
        long[] src = c.x().shape().toArray();
        Tensor x = c.x().tensor();
        Tensor e = x.expand(target);
        assertSame(x.storage(), e.storage());
        for (int i = 0; i < target.length; i++) {
            int si = i - drop;
            if (si < 0 || (src[si] == 1 && target[i] != 1))
                assertEquals(0, e.layout().stride(i), "broadcast dim " + i + " has stride 0");
        }
        for (long[] i : Oracle.indices(target)) assertEquals(x.get(Oracle.broadcastIndex(src, i)), e.get(i), 0.0);
    }

    @Test
    void narrowSliceSelectAndTheirBounds() {
        Tensor x = Tensor.arange(0, 24, 1).reshape(2, 3, 4);
        assertArrayEquals(
                new long[] {1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22},
                x.narrow(2, 1, 2).toLongArray());
        assertArrayEquals(
                new long[] {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23},
                x.slice(-1, 1, 4, 2).toLongArray());
        assertArrayEquals(
                new long[] {3, 7, 11, 15, 19, 23},
                x.slice(2, -1, 4, 1).toLongArray(),
                "negative start counts from the end");
        assertArrayEquals(
                new long[] {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23},
                x.select(0, -1).toLongArray());
        assertEquals(0, x.slice(1, 5, 9, 1).numel(), "slices clamp like Python");
        assertThrows(IndexOutOfBoundsException.class, () -> x.narrow(1, 2, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> x.select(0, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> x.select(3, 0));
        assertThrows(IllegalArgumentException.class, () -> x.slice(0, 0, 2, 0));
        // writes through a view land in the base
        Tensor y = Tensor.zeros(3, 3);
        y.select(1, 1).copy_(Tensor.of(1f, 2f, 3f));
        assertArrayEquals(new float[] {0, 1, 0, 0, 2, 0, 0, 3, 0}, y.toFloatArray());
    }

    @Test
    void squeezeUnsqueezePermuteShapes() {
        Tensor x = Tensor.zeros(1, 3, 1, 2);
        assertArrayEquals(new long[] {3, 2}, x.squeeze().dims());
        assertArrayEquals(new long[] {3, 1, 2}, x.squeeze(0).dims());
        assertArrayEquals(new long[] {1, 3, 1, 2}, x.squeeze(1).dims(), "a non-1 dim is left alone");
        assertArrayEquals(new long[] {1, 3, 1, 2, 1}, x.unsqueeze(-1).dims());
        assertArrayEquals(new long[] {2, 1, 3, 1}, x.permute(3, 2, 1, 0).dims());
        assertThrows(IllegalArgumentException.class, () -> x.permute(0, 0, 1, 2));
        Tensor c = Tensor.zeros(4, 5);
        assertSame(c, c.contiguous(), "contiguous() does not copy contiguous data");
        assertNotSame(c.storage(), c.t().contiguous().storage(), "contiguous() copies a transpose");
    }
}
