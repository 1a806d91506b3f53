package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * What {@link Tensor#packedForMatmul()} promises on every backend (here the reference backend, which has no packed
 * form): the same values, shape and strides, read-only so that a packed form can never go stale, a snapshot of a
 * writable source, shared memory for a read-only one, refused for autograd leaves, and dead with its source.
 */
class PackedForMatmulTest {
    private static float[] iota(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = 0.25f * i - 1;
        return v;
    }

    @Test
    void sameValuesAndLayoutAndTheSameProducts() {
        Tensor w = Tensor.of(iota(12), 4, 3).t(); // a Linear's [out, in] used as [in, out]
        Tensor p = w.packedForMatmul();
        assertEquals(w.shape(), p.shape());
        assertArrayEquals(w.layout().strides(), p.layout().strides());
        assertArrayEquals(w.contiguous().toFloatArray(), p.contiguous().toFloatArray());
        Tensor x = Tensor.of(iota(9), 3, 3);
        assertArrayEquals(x.matmul(w).toFloatArray(), x.matmul(p).toFloatArray());
        assertTrue(p.isReadOnly());
        assertFalse(w.isReadOnly());
        assertSame(p, p.packedForMatmul(), "packing a packed weight is a no-op");
    }

    @Test
    void aWritableSourceIsSnapshotAndThePackedTensorRefusesWrites() {
        Tensor w = Tensor.of(iota(6), 2, 3);
        Tensor p = w.packedForMatmul();
        w.fill_(7);
        assertArrayEquals(iota(6), p.toFloatArray(), "later writes to the source do not reach the packed tensor");
        for (var write : new org.junit.jupiter.api.function.Executable[] {
            () -> p.fill_(1), () -> p.add_(1), () -> p.copy_(w), () -> p.mul_(w)
        }) {
            IllegalStateException e = assertThrows(IllegalStateException.class, write);
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
        }
        assertArrayEquals(iota(6), p.toFloatArray());
    }

    @Test
    void aReadOnlySourceIsSharedNotCopied() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(6 * 4L, 64);
            for (int i = 0; i < 6; i++) seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
            Tensor w =
                    new Tensor(Storage.wrap(seg.asReadOnly(), DType.F32, 6, arena), Layout.contiguous(Shape.of(2, 3)));
            assertTrue(w.isReadOnly());
            Tensor p = w.packedForMatmul();
            assertEquals(seg.address(), p.storage().segment().address(), "the mapped memory itself, no copy");
            assertThrows(IllegalStateException.class, () -> w.add_(1), "a read-only source refuses in-place ops");
        }
    }

    @Test
    void aFrozenSourceIsSharedNotCopiedAndRefusesWrites() {
        long[] heap = new long[3];
        MemorySegment seg = MemorySegment.ofArray(heap);
        for (int i = 0; i < 6; i++) seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
        Tensor w = Tensor.fromFrozenSegment(seg, DType.F32, Shape.of(2, 3), "test weights");
        assertTrue(w.isReadOnly());
        Tensor p = w.packedForMatmul();
        assertThrows(IllegalStateException.class, () -> w.add_(1), "a frozen source refuses in-place ops");
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, p.toFloatArray());
        seg.setAtIndex(ValueLayout.JAVA_FLOAT, 4, 40); // against the contract, to see that no copy was made
        assertEquals(40, p.toFloatArray()[4], "the frozen array itself, no copy");
    }

    @Test
    void autogradLeavesAreRefusedAndThePackedTensorCannotRequireGrad() {
        Tensor w = Tensor.of(iota(6), 2, 3).requiresGrad(true);
        IllegalStateException e = assertThrows(IllegalStateException.class, w::packedForMatmul);
        assertTrue(e.getMessage().contains("packedForMatmul") && e.getMessage().contains("requires grad"));
        Tensor p = w.detach().packedForMatmul();
        assertFalse(p.requiresGrad());
        assertThrows(IllegalStateException.class, () -> p.requiresGrad(true));
        Tensor x = Tensor.of(iota(4), 2, 2).requiresGrad(true);
        x.matmul(p).sum().backward(); // the gradient reaches x through the frozen weight: d(sum)/dx = rows sums of W
        float[] g = x.grad().toFloatArray(), v = iota(6);
        for (int i = 0; i < 2; i++)
            for (int r = 0; r < 2; r++) assertEquals(v[3 * r] + v[3 * r + 1] + v[3 * r + 2], g[2 * i + r], 0f);
    }

    @Test
    void badShapesAreRefusedNamingTheOp() {
        for (Tensor bad : new Tensor[] {Tensor.of(iota(3), 3), Tensor.zeros(DType.I32, Shape.of(2, 2))}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad::packedForMatmul);
            assertTrue(e.getMessage().startsWith("packedForMatmul"), e.getMessage());
        }
        Tensor empty = Tensor.zeros(0, 3).packedForMatmul();
        assertEquals(Shape.of(0, 3), empty.shape());
    }

    @Test
    void thePackedTensorDiesWithItsSource() {
        Tensor p;
        try (var scope = MemoryScope.open()) {
            Tensor w = Tensor.ones(3, 2).mul(2).name("w");
            p = w.packedForMatmul();
            assertEquals(12f, Tensor.ones(1, 3).matmul(p).sum().toFloatArray()[0]);
        }
        Tensor x = Tensor.ones(2, 3);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> x.matmul(p));
        assertTrue(e.getMessage().contains("'w'"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> p.storage().segment());
    }
}
