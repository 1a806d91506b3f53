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
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
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

    private static int[] permutation(Random r, int n) {
        List<Integer> p = new ArrayList<>();
        for (int i = 0; i < n; i++) p.add(i);
        Collections.shuffle(p, r);
        return p.stream().mapToInt(Integer::intValue).toArray();
    }

    @Property(tries = 300)
    void reshapeRoundTripsAndViewsWhenStridesAllow(@ForAll long seed) {
        Random r = new Random(seed);
        long[] shape = Seeded.shape(r, 1, 4);
        Tensor base = Tensor.arange(0, Shape.of(shape).numel(), 1).reshape(shape);
        Tensor v = r.nextBoolean() ? Seeded.random(r, shape, DType.F64) : base.permute(permutation(r, shape.length));
        long n = v.numel();
        // a random factorisation of n
        List<Long> f = new ArrayList<>();
        long m = n;
        for (long p = 2; p <= m; p++)
            while (m % p == 0) {
                f.add(p);
                m /= p;
            }
        Collections.shuffle(f, r);
        long[] target = new long[1 + r.nextInt(4)];
        Arrays.fill(target, 1);
        for (long p : f) target[r.nextInt(target.length)] *= p;
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

    @Property(tries = 200)
    void expandIsStrideZeroAndBroadcastsLikeALoop(@ForAll long seed) {
        Random r = new Random(seed);
        long[] target = Seeded.shape(r, 1, 4);
        long[] small = target.clone();
        for (int i = 0; i < small.length; i++) if (r.nextBoolean()) small[i] = 1;
        int drop = r.nextInt(small.length + 1);
        long[] src = Arrays.copyOfRange(small, drop, small.length);
        Tensor x = Seeded.normal(r, src, DType.F32);
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
