package dev.panthera.cuda.backend;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Shape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** How matmul operands map onto cuBLAS arguments (pure Java; no GPU needed), and the provider on a GPU-less machine. */
class GemmPlanTest {
    @Test
    void rowMajorOperandGoesInUntransposedWithItsRowStride() {
        Layout l = Layout.contiguous(Shape.of(3, 5));
        Gemm.Operand o = Gemm.plan(null, l);
        assertFalse(o.transposed());
        assertEquals(5, o.ld());
        assertEquals(0, o.batchStride());
    }

    @Test
    void transposedViewGoesInTransposedWithoutACopy() {
        Layout t = Layout.contiguous(Shape.of(5, 3)).transpose(0, 1); // 3x5 view, strides (1, 3)
        Gemm.Operand o = Gemm.plan(null, t);
        assertTrue(o.transposed());
        assertEquals(3, o.ld());
    }

    @Test
    void narrowedColumnsKeepTheParentRowStride() {
        Layout l = Layout.contiguous(Shape.of(4, 10)).narrow(1, 2, 5);
        Gemm.Operand o = Gemm.plan(null, l);
        assertFalse(o.transposed());
        assertEquals(10, o.ld());
    }

    /** A fake device storage at a non-zero address; nothing is dereferenced. */
    static CudaStorage fakeStorage(long address, DType t, long numel) {
        return new CudaStorage(MemorySegment.ofAddress(address), t, Device.cuda(0), numel, null, null);
    }

    @Test
    void aViewWithAnOffsetPointsAtItsFirstElementInBytes() {
        long base = 0x10_0000;
        for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            CudaStorage s = fakeStorage(base, t, 4 * 10);
            Layout narrowed = Layout.contiguous(Shape.of(4, 10)).narrow(1, 3, 5); // offset 3
            Gemm.Operand o = Gemm.operand(s, narrowed);
            assertEquals(base + 3L * t.byteSize(), o.pointer().address(), t + " narrow");
            Layout row = Layout.contiguous(Shape.of(3, 2, 5)).select(0, 2); // one batch: offset 20
            Gemm.Operand b = Gemm.operand(fakeStorage(base, t, 30), row);
            assertEquals(base + 20L * t.byteSize(), b.pointer().address(), t + " select");
        }
    }

    @Test
    void stepSlicedColumnsNeedACopy() {
        Layout l = Layout.contiguous(Shape.of(4, 10)).slice(1, 0, 10, 2);
        assertNull(Gemm.plan(null, l));
    }

    @Test
    void batchStridesCollapseBroadcastOrFail() {
        assertEquals(12L, Gemm.batchStride(Layout.contiguous(Shape.of(2, 7, 3, 4))));
        Layout broadcast = new Layout(Shape.of(2, 7, 3, 4), new long[] {0, 0, 4, 1}, 0);
        assertEquals(0L, Gemm.batchStride(broadcast));
        Layout permuted = Layout.contiguous(Shape.of(7, 2, 3, 4)).permute(1, 0, 2, 3);
        assertNull(Gemm.batchStride(permuted));
        assertNull(Gemm.plan(null, permuted));
        assertEquals(0L, Gemm.batchStride(Layout.contiguous(Shape.of(1, 1, 3, 4))));
        assertEquals(14L * 12, Gemm.batchCount(Layout.contiguous(Shape.of(2, 7, 3, 4))) * 12);
    }

    @Test
    void stridedStructMatchesTheKernelLayout() {
        try (Arena a = Arena.ofConfined()) {
            Layout l = Layout.contiguous(Shape.of(2, 3, 4)).transpose(0, 2).narrow(0, 1, 2);
            var s = StridedArg.of(a, l);
            assertEquals(144, s.byteSize());
            assertEquals(3, s.get(ValueLayout.JAVA_INT, 0));
            assertEquals(l.offset(), s.get(ValueLayout.JAVA_LONG, 8));
            for (int d = 0; d < 3; d++) {
                assertEquals(l.shape().dim(d), s.get(ValueLayout.JAVA_LONG, 16 + 8L * d));
                assertEquals(l.stride(d), s.get(ValueLayout.JAVA_LONG, 16 + 64 + 8L * d));
            }
            Layout rank9 = Layout.contiguous(Shape.of(1, 1, 1, 1, 1, 1, 1, 1, 2));
            assertThrows(UnsupportedOperationException.class, () -> StridedArg.of(a, rank9));
        }
    }

    @Test
    void providerIsFoundByServiceLoader() {
        boolean found = false;
        for (var p : java.util.ServiceLoader.load(dev.panthera.tensor.spi.BackendProvider.class)) {
            if (p.name().equals("cuda")) {
                found = true;
                assertEquals(dev.panthera.tensor.Device.Kind.CUDA, p.deviceKind());
            }
        }
        assertTrue(found, "META-INF/services does not list CudaBackendProvider");
    }

    @Test
    void providerSaysUnavailableWithoutThrowingOnAGpuLessMachine() {
        org.junit.jupiter.api.Assumptions.assumeFalse(
                dev.panthera.cuda.CudaProbe.probe().ok(), "a GPU is present");
        assertFalse(new CudaBackendProvider().isAvailable());
    }
}
