package dev.panthera.cuda.backend;

import dev.panthera.cuda.Cublas;
import dev.panthera.cuda.CudaDataType;
import dev.panthera.cuda.Cudart;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Row-major batched matmul through column-major cuBLAS: C = A·B is computed as Cᵀ = Bᵀ·Aᵀ, so B is passed first.
 * An operand whose last two dims are row-major (unit column stride) goes in as N, one that is column-major (unit
 * row stride, e.g. a transposed view) as T, anything else is first copied contiguous. Batch dims must collapse to
 * one stride (stride 0 broadcasts); otherwise the operand is copied.
 */
final class Gemm {
    private Gemm() {}

    /** One matrix operand as cuBLAS sees it. */
    record Operand(MemorySegment pointer, boolean transposed, long ld, long batchStride) {}

    /**
     * How a (rows × cols) batched operand can be passed without a copy, or null when it must be copied.
     * {@code first} is the device address of the layout's first element (its offset already applied, in bytes);
     * ld and batch stride are in elements, as cuBLAS takes them.
     */
    static Operand plan(MemorySegment first, Layout l) {
        int r = l.rank();
        long rows = l.shape().dim(r - 2), cols = l.shape().dim(r - 1);
        long rs = l.stride(r - 2), cs = l.stride(r - 1);
        boolean transposed;
        long ld;
        if ((cs == 1 || cols == 1) && (rs >= cols || rows == 1)) {
            transposed = false;
            ld = Math.max(Math.max(rs, cols), 1);
        } else if ((rs == 1 || rows == 1) && (cs >= rows || cols == 1)) {
            transposed = true;
            ld = Math.max(Math.max(cs, rows), 1);
        } else {
            return null;
        }
        Long batchStride = batchStride(l);
        if (batchStride == null || ld > Integer.MAX_VALUE) return null;
        return new Operand(first, transposed, ld, batchStride);
    }

    /** How the view {@code l} of device storage {@code s} goes into cuBLAS without a copy, or null. */
    static Operand operand(CudaStorage s, Layout l) {
        return plan(s.pointer(l.offset()), l);
    }

    /** The single stride that walks all batch dims in order, 0 when they broadcast, null when none exists. */
    static Long batchStride(Layout l) {
        int r = l.rank();
        long stride = -1, expectNext = -1;
        for (int d = r - 3; d >= 0; d--) {
            long size = l.shape().dim(d), s = l.stride(d);
            if (size == 1) continue;
            if (stride < 0) {
                stride = s;
                expectNext = s * size;
            } else if (s == expectNext) {
                expectNext = s * size;
            } else if (s == 0 && stride == 0) {
                continue;
            } else {
                return null;
            }
        }
        return stride < 0 ? 0L : stride;
    }

    static long batchCount(Layout l) {
        long b = 1;
        for (int d = 0; d < l.rank() - 2; d++) b *= l.shape().dim(d);
        return b;
    }

    static void run(
            CudaBackend be, Arena a, CudaStorage x, Layout xl, CudaStorage y, Layout yl, CudaStorage dst, Layout dl) {
        DType t = dst.dtype();
        if (x.dtype() != t || y.dtype() != t) {
            throw new IllegalArgumentException(
                    "cuda matmul: dtypes differ: " + x.dtype() + " · " + y.dtype() + " -> " + t);
        }
        CudaDataType type = CudaBackend.gemmType(t);
        int r = xl.rank();
        long m = xl.shape().dim(r - 2),
                k = xl.shape().dim(r - 1),
                n = yl.shape().dim(r - 1);
        long batch = batchCount(dl);
        if (m == 0 || n == 0 || batch == 0) return;
        if (m > Integer.MAX_VALUE || n > Integer.MAX_VALUE || k > Integer.MAX_VALUE || batch > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException(
                    "cuda matmul: dimensions beyond int range: " + xl.shape() + " · " + yl.shape());
        }
        Operand pa = operand(x, xl);
        if (pa == null) pa = plan(be.contiguousFor(x, xl, a), Layout.contiguous(xl.shape()));
        Operand pb = operand(y, yl);
        if (pb == null) pb = plan(be.contiguousFor(y, yl, a), Layout.contiguous(yl.shape()));
        boolean direct = dl.isContiguous();
        CudaStorage target = direct ? dst : (CudaStorage) be.scratch(t, dl.numel(), a);
        MemorySegment c = target.pointer(direct ? dl.offset() : 0);
        if (k == 0) {
            Cudart.get().memsetAsync(c, 0, dl.numel() * t.byteSize(), be.streamHandle());
        } else {
            Cublas cublas = Cublas.get();
            int algo = Cublas.GEMM_DEFAULT;
            var compute = CudaBackend.computeType(t, be.tf32());
            if (batch == 1) {
                cublas.gemmEx(
                        be.cublasHandle(),
                        CudaBackend.op(pb.transposed()),
                        CudaBackend.op(pa.transposed()),
                        (int) n,
                        (int) m,
                        (int) k,
                        1f,
                        pb.pointer(),
                        type,
                        (int) pb.ld(),
                        pa.pointer(),
                        type,
                        (int) pa.ld(),
                        0f,
                        c,
                        type,
                        (int) n,
                        compute,
                        algo);
            } else {
                cublas.gemmStridedBatchedEx(
                        be.cublasHandle(),
                        CudaBackend.op(pb.transposed()),
                        CudaBackend.op(pa.transposed()),
                        (int) n,
                        (int) m,
                        (int) k,
                        1f,
                        pb.pointer(),
                        type,
                        (int) pb.ld(),
                        pb.batchStride(),
                        pa.pointer(),
                        type,
                        (int) pa.ld(),
                        pa.batchStride(),
                        0f,
                        c,
                        type,
                        (int) n,
                        m * n,
                        (int) batch,
                        compute,
                        algo);
            }
        }
        if (!direct) be.stridedCopy(target, Layout.contiguous(dl.shape()), dst, dl, a);
    }
}
