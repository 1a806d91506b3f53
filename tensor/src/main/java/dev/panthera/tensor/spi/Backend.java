package dev.panthera.tensor.spi;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.UpdateOp;
import java.lang.foreign.Arena;

/**
 * What a backend implements: a few primitive kernels over (storage, layout) pairs. {@code Tensor} does all shape
 * work (broadcasting, dtype promotion, views, validation) before it calls in, so a backend receives:
 * <ul>
 *   <li>source layouts that may be any strided view (including stride 0 for broadcast dimensions);</li>
 *   <li>destination storage freshly allocated by {@link #allocate}, with a layout of the same shape (contiguous
 *       unless the method says otherwise);</li>
 *   <li>dtypes already agreed: sources and destination share one dtype except where the method says otherwise.</li>
 * </ul>
 * Fused kernels (softmax, the norms, RoPE, attention and their backwards) are not part of this contract: a backend
 * that has them returns them from {@link #fused()}, and tensor composes those ops from these primitives for one that
 * does not. The scalar {@link ReferenceBackend} is the oracle every other backend is tested against.
 */
public interface Backend {
    /** A short name ("reference", "simd", "cuda"). */
    String name();

    /** The device whose storage this backend reads and writes. */
    Device device();

    /** Zero-filled storage for {@code numel} elements, released when {@code owner} closes. */
    Storage allocate(DType dtype, long numel, Arena owner);

    /**
     * Zero-filled storage for a tensor made outside any {@link dev.panthera.tensor.MemoryScope}, released by the
     * garbage collector once unreachable. CPU backends serve small ones from per-thread slabs
     * ({@link Storage#gcManaged}).
     */
    default Storage allocateGcManaged(DType dtype, long numel) {
        return allocate(dtype, numel, Arena.ofAuto());
    }

    /** The caching allocator scoped tensors of this device draw from; every CPU backend shares the host pool. */
    default MemoryPool memoryPool() {
        return MemoryPool.host();
    }

    /**
     * Zero-filled storage for {@code numel} elements over a block of {@link #memoryPool()}; it reports dead (and its
     * memory may belong to another tensor) once {@code allocation} is released.
     */
    default Storage allocate(DType dtype, long numel, MemoryPool.Allocation allocation) {
        return Storage.pooled(dtype, numel, allocation);
    }

    /**
     * As {@link #allocate(DType, long, MemoryPool.Allocation)}, for an op's output that its kernel overwrites whole:
     * the contents are unspecified. This default zero-fills; the CPU backends skip the fill of a reused block.
     */
    default Storage allocateUninitialized(DType dtype, long numel, MemoryPool.Allocation allocation) {
        return allocate(dtype, numel, allocation);
    }

    /** dst = src elementwise; layouts have equal shapes; dtypes may differ (then this converts, see DType docs). */
    void copy(Storage src, Layout srcLayout, Storage dst, Layout dstLayout);

    /** Every element of the (possibly strided) destination set to {@code value} converted to its dtype. */
    void fill(Storage dst, Layout dstLayout, double value);

    /**
     * dst ← op(dst, a, b, value) in place ({@link UpdateOp}: x + v·a, x + v·a·b, x + v·a/b, lerp); a and b (null when
     * the op does not use it) are laid out in dst's shape with dst's floating-point dtype. CPU storage runs
     * {@link UpdateKernels}; other devices compose {@link #binary} kernels through temporaries unless they override
     * this.
     */
    default void update(
            UpdateOp op,
            Storage a,
            Layout aLayout,
            Storage b,
            Layout bLayout,
            double value,
            Storage dst,
            Layout dstLayout) {
        if (dst.device().kind() == Device.Kind.CPU) {
            UpdateKernels.run(op, a, aLayout, b, bLayout, value, dst, dstLayout);
            return;
        }
        Shape shape = dstLayout.shape();
        Layout dense = Layout.contiguous(shape);
        try (Arena tmp = Arena.ofConfined()) {
            Storage v = allocate(dst.dtype(), 1, tmp);
            Layout vl = Layout.contiguous(Shape.scalar()).expand("update", shape);
            Storage t = allocate(dst.dtype(), shape.numel(), tmp);
            fill(v, Layout.contiguous(Shape.scalar()), value);
            switch (op) {
                case ADD_SCALED -> {
                    binary(BinaryOp.MUL, a, aLayout, v, vl, t, dense);
                }
                case ADDCMUL, ADDCDIV -> {
                    binary(op == UpdateOp.ADDCMUL ? BinaryOp.MUL : BinaryOp.DIV, a, aLayout, b, bLayout, t, dense);
                    binary(BinaryOp.MUL, t, dense, v, vl, t, dense);
                }
                case LERP -> {
                    binary(BinaryOp.SUB, a, aLayout, dst, dstLayout, t, dense);
                    binary(BinaryOp.MUL, t, dense, v, vl, t, dense);
                }
            }
            binary(BinaryOp.ADD, dst, dstLayout, t, dense, dst, dstLayout);
        }
    }

    /** dst = op(src). Float-only ops receive float dtypes. */
    void unary(UnaryOp op, Storage src, Layout srcLayout, Storage dst, Layout dstLayout);

    /** dst = a op b, all three layouts of one shape; comparisons write BOOL into dst. */
    void binary(BinaryOp op, Storage a, Layout aLayout, Storage b, Layout bLayout, Storage dst, Layout dstLayout);

    /**
     * Reduction of {@code src} over {@code dims} into {@code dst}, whose layout has the source's rank with the reduced
     * dims of size 1. ARGMAX/ARGMIN get exactly one dim and write I64 indices along it (first occurrence wins; NaN
     * counts as the maximum and the minimum, as in PyTorch).
     */
    void reduce(ReduceOp op, Storage src, Layout srcLayout, int[] dims, Storage dst, Layout dstLayout);

    /**
     * dst[..., m, n] = Σ_k a[..., m, k]·b[..., k, n]; all rank ≥ 2 with identical batch dims (possibly stride 0).
     * Either all three share one dtype, or a and dst are F32 and b is BF16 or F16 (activations × 16-bit weights):
     * then b's elements are widened to F32 as they are read, never converted as a whole.
     */
    void matmul(Storage a, Layout aLayout, Storage b, Layout bLayout, Storage dst, Layout dstLayout);

    /**
     * dst = src with dimension {@code dim} indexed by the 1-D integer {@code index} (I32 or I64); an index out of
     * range throws IndexOutOfBoundsException.
     */
    void indexSelect(
            Storage src, Layout srcLayout, int dim, Storage index, Layout indexLayout, Storage dst, Layout dstLayout);

    /** dst[..., index[i], ...] += src[..., i, ...] along {@code dim}; dst may be any layout (it is updated in place). */
    void indexAdd(
            Storage dst, Layout dstLayout, int dim, Storage index, Layout indexLayout, Storage src, Layout srcLayout);

    /** dst[i][j][k] = src[i][index[i][j][k]][k] for dim 1 (and likewise for any dim); index has dst's shape. */
    void gather(
            Storage src, Layout srcLayout, int dim, Storage index, Layout indexLayout, Storage dst, Layout dstLayout);

    /** dst[i][index[i][j][k]][k] += src[i][j][k] for dim 1 (and likewise); index has src's shape; dst in place. */
    void scatterAdd(
            Storage dst, Layout dstLayout, int dim, Storage index, Layout indexLayout, Storage src, Layout srcLayout);

    /** dst = condition ? a : b; condition is BOOL, all layouts of one shape. */
    void where(
            Storage condition,
            Layout conditionLayout,
            Storage a,
            Layout aLayout,
            Storage b,
            Layout bLayout,
            Storage dst,
            Layout dstLayout);

    /**
     * This backend's packed form of the constant matmul operand {@code b} (a weight [K, N] with {@code layout}, any
     * strides, F32/BF16/F16), for {@link #matmul} calls whose b is a {@link PackedStorage} holding it; null (the
     * default) when the backend has none, and then the weight is read as it is. Called once per weight by
     * {@code Tensor.packedForMatmul()}, whose values never change afterwards.
     */
    default PackedOperand packMatmulOperand(Storage b, Layout layout) {
        return null;
    }

    /** This backend's fused kernels, or null when it has none (tensor then composes every fused op). */
    default FusedKernels fused() {
        return null;
    }

    /** The indices [from, to) of one part of a {@link #parallelRanges} loop. */
    @FunctionalInterface
    interface Range {
        void run(int from, int to);
    }

    /**
     * Runs {@code body} over [0, total) in contiguous ranges on the host threads this backend's own kernels use, the
     * calling thread among them, and returns when all are done: for host loops written outside the backend (an
     * optimizer's one-pass update) that should share those threads. {@code work} is the loop's total work in flops;
     * a backend keeps a loop below its own hand-off threshold on the calling thread. Ranges may run concurrently and
     * in any order, so each index must write memory of its own. The default runs the whole loop on this thread.
     */
    default void parallelRanges(int total, long work, Range body) {
        if (total < 0) throw new IllegalArgumentException("parallelRanges: total " + total);
        body.run(0, total);
    }
}
