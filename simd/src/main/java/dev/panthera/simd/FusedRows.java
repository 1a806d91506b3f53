package dev.panthera.simd;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Device;
import java.lang.foreign.MemorySegment;

/**
 * Elementwise steps over F32 rows in memory segments (heap or native; offsets in elements), for layers that apply them
 * while copying a product out of their own arrays instead of as tensor ops of their own: a quantized layer's output
 * gated (SwiGLU) or added to the residual stream. Each runs the row kernels the tensor ops run on this backend
 * ({@link FloatKernels}' SiLU, product and sum rows), so the bits are theirs.
 */
public final class FusedRows {
    private FusedRows() {}

    /**
     * dst[dO + i] = silu(g[go + i])·u[uo + i] for i &lt; n: the bits of {@code g.silu().mul(u)}. dst may be g's
     * elements themselves (the same offset of the same memory); it must not overlap u's.
     */
    public static void siluMul(MemorySegment g, long go, MemorySegment u, long uo, MemorySegment dst, long dO, int n) {
        check("siluMul", g, go, n);
        check("siluMul", u, uo, n);
        check("siluMul", dst, dO, n);
        FloatKernels.siluRow(g, go, dst, dO, n);
        FloatKernels.mulRow(dst, dO, u, uo, dst, dO, n);
    }

    /** dst[dO + i] = a[ao + i] + b[bo + i] for i &lt; n: the bits of {@code a.add(b)}. dst may be a's or b's elements themselves. */
    public static void add(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment dst, long dO, int n) {
        check("add", a, ao, n);
        check("add", b, bo, n);
        check("add", dst, dO, n);
        FloatKernels.addRow(a, ao, b, bo, dst, dO, n);
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
