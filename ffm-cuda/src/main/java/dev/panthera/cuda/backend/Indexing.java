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

/** gather / scatterAdd / indexAdd (F32 data, I32 or I64 indices) through the "indexing" kernels. */
final class Indexing {
    private Indexing() {}

    static void run(
            CudaBackend be,
            KernelModules kernels,
            CudaStream stream,
            Arena a,
            String op,
            String kernel,
            int dim,
            CudaStorage first,
            Layout firstLayout,
            CudaStorage index,
            Layout il,
            CudaStorage second,
            Layout secondLayout,
            Layout iterated,
            Layout shapeOwner) {
        if (first.dtype() != DType.F32 || second.dtype() != DType.F32) {
            throw new UnsupportedOperationException(
                    "cuda " + op + ": the CUDA kernels take F32, got " + first.dtype() + "/" + second.dtype());
        }
        if (index.dtype() != DType.I64 && index.dtype() != DType.I32) {
            throw new IllegalArgumentException("cuda " + op + ": index must be I32 or I64, got " + index.dtype());
        }
        int d = Shape.normalize(dim, shapeOwner.rank(), op);
        long n = iterated.numel();
        if (n == 0) return;
        CudaStorage bad = (CudaStorage) be.scratch(DType.I64, 1, a);
        kernels.launch(
                "indexing",
                kernel,
                (int) Math.min((n + 255) / 256, 1 << 19),
                256,
                0,
                stream.handle(),
                d,
                StridedArg.of(a, firstLayout),
                first.pointer(0),
                StridedArg.of(a, il),
                index.pointer(0),
                index.dtype() == DType.I64 ? 1 : 0,
                StridedArg.of(a, secondLayout),
                second.pointer(0),
                n,
                bad.pointer(0));
        MemorySegment flag = a.allocate(ValueLayout.JAVA_LONG);
        Cudart.get().memcpyAsync(flag, bad.pointer(0), 8, CudaMemcpyKind.DEVICE_TO_HOST, stream.handle());
        stream.synchronize();
        long b = flag.get(ValueLayout.JAVA_LONG, 0);
        if (b != 0) {
            throw new IndexOutOfBoundsException("cuda " + op + ": an index at element " + (b - 1) + " is outside [0, "
                    + shapeOwner.shape().dim(d) + ") along dim " + d + " of " + shapeOwner.shape());
        }
    }
}
