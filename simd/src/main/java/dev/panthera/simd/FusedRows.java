package dev.panthera.simd;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Device;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise steps over F32 rows in memory segments (heap or native; offsets in elements), for layers that apply them
 * while copying a product out of their own arrays instead of as tensor ops of their own: a quantized layer's output
 * gated (SwiGLU) or added to the residual stream. Each computes what the tensor ops compute on this backend, bit for
 * bit: the SiLU of {@code Tensor.silu} and one rounded product or sum per element.
 */
public final class FusedRows {
    private FusedRows() {}

    private static final VectorSpecies<Float> F = Lanes.F;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /**
     * dst[dO + i] = silu(g[go + i])·u[uo + i] for i &lt; n: the bits of {@code g.silu().mul(u)}. dst may be g's
     * elements themselves (the same offset of the same memory); it must not overlap u's.
     */
    public static void siluMul(MemorySegment g, long go, MemorySegment u, long uo, MemorySegment dst, long dO, int n) {
        check("siluMul", g, go, n);
        check("siluMul", u, uo, n);
        check("siluMul", dst, dO, n);
        FloatKernels.siluRow(g, go, dst, dO, n);
        int i = 0;
        for (; i + F.length() <= n; i += F.length())
            FloatVector.fromMemorySegment(F, dst, (dO + i) * 4, NO)
                    .mul(FloatVector.fromMemorySegment(F, u, (uo + i) * 4, NO))
                    .intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromMemorySegment(F, dst, (dO + i) * 4, NO, m)
                    .mul(FloatVector.fromMemorySegment(F, u, (uo + i) * 4, NO, m))
                    .intoMemorySegment(dst, (dO + i) * 4, NO, m);
        }
    }

    /** dst[dO + i] = a[ao + i] + b[bo + i] for i &lt; n: the bits of {@code a.add(b)}. dst may be a's or b's elements themselves. */
    public static void add(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment dst, long dO, int n) {
        check("add", a, ao, n);
        check("add", b, bo, n);
        check("add", dst, dO, n);
        int i = 0;
        for (; i + F.length() <= n; i += F.length())
            FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO)
                    .add(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO))
                    .intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO, m)
                    .add(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO, m))
                    .intoMemorySegment(dst, (dO + i) * 4, NO, m);
        }
    }

    /**
     * Whether the tensor ops of this thread's CPU device run on this backend, whose bits these kernels reproduce (under
     * another backend, {@code Backends.use}, a caller that promises the tensor ops' bits composes the ops instead).
     */
    public static boolean matchTensorOps() {
        return Backends.forDevice(Device.CPU) instanceof SimdBackend;
    }

    /** Elements [at, at + n) of {@code seg} as floats: a clear error instead of a read outside it. */
    private static void check(String op, MemorySegment seg, long at, int n) {
        if (n < 0 || at < 0 || at + (long) n > seg.byteSize() / 4)
            throw new IndexOutOfBoundsException("FusedRows." + op + ": elements [" + at + ", " + (at + (long) n)
                    + ") of a segment of " + seg.byteSize() / 4 + " floats");
    }
}
