package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Factories, conversions to Java arrays, printing, and tensors past 2 GiB. */
class CreationTest {

    @Test
    void factories() {
        assertArrayEquals(new float[] {0, 0, 0, 0}, Tensor.zeros(2, 2).toFloatArray());
        assertArrayEquals(new float[] {1, 1, 1}, Tensor.ones(3).toFloatArray());
        assertArrayEquals(
                new double[] {2.5, 2.5}, Tensor.full(DType.F64, 2.5, 2).toDoubleArray());
        assertEquals(DType.I64, Tensor.arange(5).dtype());
        assertArrayEquals(new long[] {0, 1, 2, 3, 4}, Tensor.arange(5).toLongArray());
        assertArrayEquals(new long[] {10, 7, 4, 1}, Tensor.arange(10, 0, -3).toLongArray());
        assertArrayEquals(
                new float[] {0f, 0.5f, 1f, 1.5f}, Tensor.arange(0, 2, 0.5).toFloatArray());
        float[] ls = Tensor.linspace(-1, 1, 5).toFloatArray();
        assertArrayEquals(new float[] {-1f, -0.5f, 0f, 0.5f, 1f}, ls);
        assertEquals(1f, Tensor.linspace(0, 1, 7).toFloatArray()[6], 0f, "the last value is exactly end");
        assertArrayEquals(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, Tensor.eye(3).toFloatArray());
        assertEquals(3.0, Tensor.scalar(3).item());
        assertEquals(0, Tensor.scalar(3).rank());
        assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[] {1, 2, 3}, 2, 2));
    }

    @Test
    void seededRandomIsReproducible() {
        assertArrayEquals(
                Tensor.randn(Shape.of(5, 7), 11).toFloatArray(),
                Tensor.randn(Shape.of(5, 7), 11).toFloatArray());
        assertFalse(java.util.Arrays.equals(
                Tensor.randn(Shape.of(5, 7), 11).toFloatArray(),
                Tensor.randn(Shape.of(5, 7), 12).toFloatArray()));
        assertArrayEquals(
                Tensor.rand(Shape.of(9), 3).toFloatArray(),
                Tensor.rand(Shape.of(9), 3).toFloatArray());
        float[] u = Tensor.rand(Shape.of(100_000), 1).toFloatArray();
        for (float v : u) assertTrue(v >= 0 && v < 1);
        assertFalse(java.util.Arrays.equals(
                Tensor.rand(Shape.of(9), 3).toFloatArray(),
                Tensor.rand(Shape.of(9), 4).toFloatArray()));
        // uniform [0,1): mean 1/2 with sd sqrt(1/12/n) ≈ 0.00091 for n = 1e5, variance 1/12 with sd ≈ sqrt(1/180/n) ≈
        // 0.00024: 5 sigma
        double um = 0, uv = 0;
        for (float v : u) um += v;
        um /= u.length;
        for (float v : u) uv += (v - um) * (v - um);
        uv /= u.length - 1;
        assertEquals(0.5, um, 5 * 0.00091);
        assertEquals(1.0 / 12, uv, 5 * 0.00024);
        // randn: n = 1e5 samples; the sample mean has sd 1/sqrt(n) ≈ 0.0032 and the sample variance sd sqrt(2/n) ≈
        // 0.0045:
        // 5 sigma bounds
        float[] g = Tensor.randn(Shape.of(100_000), 2).toFloatArray();
        double mean = 0, var = 0;
        for (float v : g) mean += v;
        mean /= g.length;
        for (float v : g) var += (v - mean) * (v - mean);
        var /= g.length - 1;
        assertEquals(0, mean, 5 * 0.0032);
        assertEquals(1, var, 5 * 0.0045);
    }

    @Test
    void arraysRoundTrip() {
        float[] f = {1.5f, -2f, 3f, 4f, 5f, 6f};
        assertArrayEquals(f, Tensor.of(f, 2, 3).toFloatArray());
        assertArrayEquals(new double[] {1.5, -2, 3, 4, 5, 6}, Tensor.of(f, 2, 3).toDoubleArray());
        long[] l = {Long.MIN_VALUE, 0, Long.MAX_VALUE};
        assertArrayEquals(l, Tensor.of(l, 3).toLongArray());
        assertArrayEquals(new int[] {7, -8}, Tensor.of(new int[] {7, -8}, 2).toIntArray());
        assertArrayEquals(
                new long[] {1, 0, 1},
                Tensor.of(new boolean[] {true, false, true}, 3).toLongArray());
        assertArrayEquals(
                new long[] {2, 3},
                Tensor.of(new float[][] {{1, 2, 3}, {4, 5, 6}}).dims());
        assertEquals(6f, Tensor.of(new float[][] {{1, 2, 3}, {4, 5, 6}}).get(1, 2), 0f);
    }

    /** Part of a longer array, inside a scope (a reused pooled block) and outside; a range past the array is refused. */
    @Test
    void aTensorFromPartOfAnArray() {
        float[] a = {9, 1, 2, 3, 4, 5, 6, 9};
        assertArrayEquals(
                new float[] {1, 2, 3, 4, 5, 6}, Tensor.of(a, 1, Shape.of(2, 3)).toFloatArray());
        try (MemoryScope s = MemoryScope.open()) {
            Tensor.ones(8); // a block back in the pool when the next scope takes one
        }
        try (MemoryScope s = MemoryScope.open()) {
            assertArrayEquals(new float[] {2, 3}, Tensor.of(a, 2, Shape.of(2)).toFloatArray());
            assertEquals(0, Tensor.of(a, 8, Shape.of(0)).numel());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(a, 3, Shape.of(2, 3)));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("offset 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(a, -1, Shape.of(1)));
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(a, 9, Shape.of(0)));
    }

    @Test
    void zeroCopyFromSegment() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(6 * 4, 4);
            for (int i = 0; i < 6; i++) seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
            Tensor t = Tensor.fromSegment(seg, DType.F32, Shape.of(2, 3));
            assertEquals(5f, t.get(1, 2), 0f);
            seg.setAtIndex(ValueLayout.JAVA_FLOAT, 0, 42);
            assertEquals(42f, t.get(0, 0), 0f, "no copy");
            assertThrows(IllegalArgumentException.class, () -> Tensor.fromSegment(seg, DType.F32, Shape.of(7)));
        }
    }

    @Test
    void toStringLooksLikePyTorch() {
        assertEquals(
                "tensor([[1., 2.],\n        [3., 4.]], shape=[2, 2])",
                Tensor.of(new float[] {1, 2, 3, 4}, 2, 2).toString());
        assertEquals(
                "tensor([0.5000, 0.2500], shape=[2])", Tensor.of(0.5f, 0.25f).toString());
        assertEquals(
                "tensor([1, 2], shape=[2], dtype=I64)",
                Tensor.of(new long[] {1, 2}, 2).toString());
        assertEquals("tensor(3., shape=[])", Tensor.scalar(3).toString());
        assertEquals(
                "tensor([ true, false], shape=[2], dtype=BOOL)",
                Tensor.of(new boolean[] {true, false}, 2).toString());
        String big = Tensor.arange(2000).toString();
        // PyTorch's _tensor_str inserts the element " ..." and joins with ", ": torch.arange(2000) prints
        // tensor([   0,    1,    2,  ..., 1997, 1998, 1999]); rows elide to a "...," line
        assertEquals("tensor([   0,    1,    2,  ..., 1997, 1998, 1999], shape=[2000], dtype=I64)", big);
        assertEquals(
                "tensor([[   0.,    1.,    2.,  ...,  997.,  998.,  999.],\n"
                        + "        [1000., 1001., 1002.,  ..., 1997., 1998., 1999.]], shape=[2, 1000])",
                Tensor.arange(2000).reshape(2, 1000).to(DType.F32).toString());
        assertEquals(
                "tensor([[0., 0., 0.,  ..., 0., 0., 0.],\n        [0., 0., 0.,  ..., 0., 0., 0.],\n"
                        + "        [0., 0., 0.,  ..., 0., 0., 0.],\n        ...,\n        [0., 0., 0.,  ..., 0., 0., 0.],\n"
                        + "        [0., 0., 0.,  ..., 0., 0., 0.],\n        [0., 0., 0.,  ..., 0., 0., 0.]], shape=[40, 40])",
                Tensor.zeros(40, 40).toString());
        assertEquals(
                "tensor([1., 1., 1.,  ..., 1., 1., 1.], shape=[1001])",
                Tensor.ones(1001).toString(),
                "1001 > 1000 elides");
        String full = Tensor.ones(1000).toString();
        assertFalse(full.contains("..."), "1000 elements print in full");
        assertEquals(1000, full.split("1\\.", -1).length - 1, "every element printed");
        String nan = Tensor.of(Float.NaN, Float.POSITIVE_INFINITY, 1.5f).toString();
        assertEquals("tensor([   nan,    inf, 1.5000], shape=[3])", nan);
        assertTrue(Tensor.of(1e-6f, 1f).toString().contains("e-06"), "tiny values switch to scientific notation");
    }

    @Test
    void aTensorOverTwoGibibytesWorks() {
        long n = (1L << 31) + 17; // more elements than an int can index
        try (var scope = MemoryScope.open()) {
            Tensor t = Tensor.zeros(DType.I8, Shape.of(n));
            assertEquals(n, t.numel());
            Tensor tail = t.narrow(0, n - 3, 3);
            tail.copy_(Tensor.of(new long[] {5, 6, 7}, 3));
            assertArrayEquals(new long[] {5, 6, 7}, t.narrow(0, n - 3, 3).toLongArray());
            assertEquals(7, t.get(n - 1));
            assertEquals(0, t.get(n - 4));
            assertEquals(n - 1, t.reshape(-1, 1).size(0) - 1);
            // ops whose element offsets are past 2^31: views, elementwise, reductions, indexing with a long index
            assertArrayEquals(
                    new long[] {6, 7, 8},
                    t.narrow(0, n - 3, 3)
                            .add(Tensor.of(new int[] {1}, 1).to(DType.I8))
                            .toLongArray());
            assertEquals(2L, t.narrow(0, n - 3, 3).argmax().toLongArray()[0]);
            assertEquals(7.0, t.select(0, n - 1).item());
            assertEquals(7.0, t.slice(0, n - 1, n, 1).item());
            assertArrayEquals(
                    new long[] {7, 5},
                    t.indexSelect(0, Tensor.of(new long[] {n - 1, n - 3}, 2)).toLongArray());
            assertEquals(18L, t.narrow(0, n - 4, 4).sum().toLongArray()[0]);
        }
    }
}
