package dev.panthera.cuda.backend;

import dev.panthera.cuda.CudaMemcpyKind;
import dev.panthera.cuda.CudaStream;
import dev.panthera.cuda.Cudart;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Shape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** index_select along dim 0 (embedding lookup) for any dtype; an out-of-range index throws after the launch. */
final class Embedding {
    private Embedding() {}

    static void run(
            CudaBackend be,
            KernelModules kernels,
            CudaStream stream,
            Arena a,
            CudaStorage src,
            Layout sl,
            int dim,
            CudaStorage index,
            Layout il,
            CudaStorage dst,
            Layout dl) {
        int d = Shape.normalize(dim, sl.rank(), "indexSelect");
        if (d != 0)
            throw new UnsupportedOperationException(
                    "cuda indexSelect: only dim 0 (embedding lookup) is implemented, got dim " + dim);
        if (index.dtype() != DType.I64 && index.dtype() != DType.I32) {
            throw new IllegalArgumentException("cuda indexSelect: index must be I32 or I64, got " + index.dtype());
        }
        long nIndex = il.numel(), vocab = sl.shape().dim(0);
        if (nIndex == 0) return;
        long rowBytes = (vocab == 0 ? 0 : sl.numel() / vocab) * src.dtype().byteSize();
        MemorySegment table = be.contiguousFor(src, sl, a);
        MemorySegment idx = be.contiguousFor(index, il, a);
        boolean direct = dl.isContiguous();
        CudaStorage target = direct ? dst : (CudaStorage) be.scratch(dst.dtype(), dl.numel(), a);
        CudaStorage bad = (CudaStorage) be.scratch(DType.I64, 1, a);
        kernels.launch(
                "embedding",
                index.dtype() == DType.I64 ? "embedding_i64" : "embedding_i32",
                (int) Math.min(nIndex, 1 << 20),
                128,
                0,
                stream.handle(),
                table,
                idx,
                target.pointer(direct ? dl.offset() : 0),
                nIndex,
                rowBytes,
                vocab,
                bad.pointer(0));
        MemorySegment flag = a.allocate(ValueLayout.JAVA_LONG);
        Cudart.get().memcpyAsync(flag, bad.pointer(0), 8, CudaMemcpyKind.DEVICE_TO_HOST, stream.handle());
        stream.synchronize();
        long b = flag.get(ValueLayout.JAVA_LONG, 0);
        if (b != 0) {
            throw new IndexOutOfBoundsException("cuda indexSelect: index at position " + (b - 1) + " is outside [0, "
                    + vocab + ") for " + sl.shape());
        }
        if (!direct) be.stridedCopy(target, Layout.contiguous(dl.shape()), dst, dl, a);
    }
}
