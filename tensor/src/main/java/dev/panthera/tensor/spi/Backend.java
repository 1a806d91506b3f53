package dev.panthera.tensor.spi;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UnaryOp;
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

    /** dst = src elementwise; layouts have equal shapes; dtypes may differ (then this converts, see DType docs). */
    void copy(Storage src, Layout srcLayout, Storage dst, Layout dstLayout);

    /** Every element of the (possibly strided) destination set to {@code value} converted to its dtype. */
    void fill(Storage dst, Layout dstLayout, double value);

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

    /** dst[..., m, n] = Σ_k a[..., m, k]·b[..., k, n]; all rank ≥ 2 with identical batch dims (possibly stride 0). */
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

    /** This backend's fused kernels, or null when it has none (tensor then composes every fused op). */
    default FusedKernels fused() {
        return null;
    }
}
