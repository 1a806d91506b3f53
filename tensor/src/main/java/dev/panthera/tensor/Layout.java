package dev.panthera.tensor;

import java.util.Arrays;

/**
 * Where the elements of a tensor sit in its storage: a shape, strides in elements (not bytes) and an element offset.
 * Every view (transpose, permute, narrow, select, expand, reshape of a contiguous block) is a new layout over the
 * same storage; nothing is copied. Immutable.
 */
public final class Layout {
    private final Shape shape;
    private final long[] strides;
    private final long offset;

    public Layout(Shape shape, long[] strides, long offset) {
        if (strides.length != shape.rank()) {
            throw new IllegalArgumentException("Layout: " + strides.length + " strides for shape " + shape);
        }
        if (offset < 0) throw new IllegalArgumentException("Layout: negative offset " + offset);
        this.shape = shape;
        this.strides = strides.clone();
        this.offset = offset;
    }

    /** The row-major contiguous layout of {@code shape} at offset 0. */
    public static Layout contiguous(Shape shape) {
        return new Layout(shape, contiguousStrides(shape), 0);
    }

    static long[] contiguousStrides(Shape shape) {
        long[] s = new long[shape.rank()];
        long acc = 1;
        for (int i = s.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(shape.dim(i), 1);
        }
        return s;
    }

    public Shape shape() {
        return shape;
    }

    public int rank() {
        return shape.rank();
    }

    public long[] strides() {
        return strides.clone();
    }

    public long stride(int dim) {
        return strides[Shape.normalize(dim, rank(), "stride")];
    }

    public long offset() {
        return offset;
    }

    public long numel() {
        return shape.numel();
    }

    /** True when elements are row-major and dense (size-1 dimensions may have any stride). */
    public boolean isContiguous() {
        long expected = 1;
        for (int i = rank() - 1; i >= 0; i--) {
            long d = shape.dim(i);
            if (d != 1 && strides[i] != expected) return false;
            expected *= d;
        }
        return true;
    }

    /** The smallest and largest element index this layout touches (for bounds checks); {-1,-1} when empty. */
    public long[] span() {
        if (numel() == 0) return new long[] {-1, -1};
        long lo = offset, hi = offset;
        for (int i = 0; i < rank(); i++) {
            long ext = (shape.dim(i) - 1) * strides[i];
            if (ext >= 0) hi += ext;
            else lo += ext;
        }
        return new long[] {lo, hi};
    }

    /** Storage index of the element at the given multi-index. */
    public long indexOf(long... idx) {
        if (idx.length != rank())
            throw new IllegalArgumentException("index of rank " + idx.length + " for shape " + shape);
        long o = offset;
        for (int i = 0; i < idx.length; i++) {
            long d = shape.dim(i);
            if (idx[i] < 0 || idx[i] >= d)
                throw new IndexOutOfBoundsException(
                        "index " + Arrays.toString(idx) + " out of bounds for shape " + shape);
            o += idx[i] * strides[i];
        }
        return o;
    }

    /**
     * The layout of the first {@code dims} dimensions only, same offset: each of its elements is where one
     * sub-block (a row for {@code rank-1}, a matrix for {@code rank-2}) of this layout starts.
     */
    public Layout leading(int dims) {
        if (dims < 0 || dims > rank())
            throw new IllegalArgumentException("leading: " + dims + " dims of a rank-" + rank() + " layout");
        long[] d = new long[dims], s = new long[dims];
        for (int i = 0; i < dims; i++) {
            d[i] = shape.dim(i);
            s[i] = strides[i];
        }
        return new Layout(Shape.of(d), s, offset);
    }

    /** Dimensions reordered: result dim i is this layout's dim {@code perm[i]}. */
    public Layout permute(int... perm) {
        int r = rank();
        if (perm.length != r)
            throw new IllegalArgumentException("permute: " + perm.length + " dims given for shape " + shape);
        boolean[] seen = new boolean[r];
        long[] d = new long[r], s = new long[r];
        for (int i = 0; i < r; i++) {
            int p = Shape.normalize(perm[i], r, "permute");
            if (seen[p])
                throw new IllegalArgumentException(
                        "permute: dimension " + p + " repeated in " + Arrays.toString(perm) + " for shape " + shape);
            seen[p] = true;
            d[i] = shape.dim(p);
            s[i] = strides[p];
        }
        return new Layout(Shape.of(d), s, offset);
    }

    /** Dimensions {@code a} and {@code b} swapped. */
    public Layout transpose(int a, int b) {
        int r = rank();
        int[] perm = new int[r];
        for (int i = 0; i < r; i++) perm[i] = i;
        int x = Shape.normalize(a, r, "transpose"), y = Shape.normalize(b, r, "transpose");
        perm[x] = y;
        perm[y] = x;
        return permute(perm);
    }

    /** Elements {@code start, start+step, ...} below {@code end} along {@code dim}. */
    public Layout slice(int dim, long start, long end, long step) {
        int d = Shape.normalize(dim, rank(), "slice");
        long n = shape.dim(d);
        if (step <= 0) throw new IllegalArgumentException("slice: step must be positive, got " + step);
        if (start < 0) start += n;
        if (end < 0) end += n;
        start = Math.max(0, Math.min(start, n));
        end = Math.max(start, Math.min(end, n));
        long len = (end - start + step - 1) / step;
        long[] dims = shape.toArray();
        dims[d] = len;
        long[] s = strides.clone();
        s[d] = strides[d] * step;
        return new Layout(Shape.of(dims), s, len == 0 ? offset : offset + start * strides[d]);
    }

    /** {@code length} elements from {@code start} along {@code dim}; out-of-range bounds throw. */
    public Layout narrow(int dim, long start, long length) {
        int d = Shape.normalize(dim, rank(), "narrow");
        long n = shape.dim(d);
        if (start < 0 || length < 0 || start + length > n) {
            throw new IndexOutOfBoundsException("narrow: start " + start + " length " + length
                    + " out of range for dimension " + d + " of shape " + shape);
        }
        long[] dims = shape.toArray();
        dims[d] = length;
        return new Layout(Shape.of(dims), strides, offset + start * strides[d]);
    }

    /** Dimension {@code dim} removed by fixing it at {@code index}. */
    public Layout select(int dim, long index) {
        int d = Shape.normalize(dim, rank(), "select");
        long n = shape.dim(d);
        long i = index < 0 ? index + n : index;
        if (i < 0 || i >= n)
            throw new IndexOutOfBoundsException(
                    "select: index " + index + " out of range for dimension " + d + " of shape " + shape);
        long[] dims = new long[rank() - 1], s = new long[rank() - 1];
        for (int k = 0, j = 0; k < rank(); k++) {
            if (k == d) continue;
            dims[j] = shape.dim(k);
            s[j++] = strides[k];
        }
        return new Layout(Shape.of(dims), s, offset + i * strides[d]);
    }

    /** A size-1 dimension inserted at {@code dim} (0..rank). */
    public Layout unsqueeze(int dim) {
        int r = rank();
        int d = dim < 0 ? dim + r + 1 : dim;
        if (d < 0 || d > r)
            throw new IndexOutOfBoundsException("unsqueeze: dimension " + dim + " out of range for rank " + r);
        long[] dims = new long[r + 1], s = new long[r + 1];
        for (int k = 0, j = 0; k <= r; k++) {
            if (k == d) {
                dims[k] = 1;
                s[k] = j < r ? strides[j] * shape.dim(j) : 1;
            } else {
                dims[k] = shape.dim(j);
                s[k] = strides[j++];
            }
        }
        return new Layout(Shape.of(dims), s, offset);
    }

    /** Broadcast to {@code target} (NumPy rules): new leading dims and size-1 dims get stride 0. */
    public Layout expand(String op, Shape target) {
        int r = target.rank(), lead = r - rank();
        if (lead < 0) throw new IllegalArgumentException(op + ": cannot expand shape " + shape + " to " + target);
        long[] s = new long[r];
        for (int i = 0; i < r; i++) {
            if (i < lead) {
                s[i] = 0;
                continue;
            }
            long have = shape.dim(i - lead), want = target.dim(i);
            if (have == want) s[i] = strides[i - lead];
            else if (have == 1) s[i] = 0;
            else
                throw new IllegalArgumentException(op + ": cannot expand shape " + shape + " to " + target
                        + " (dimension " + i + ": " + have + " vs " + want + ")");
        }
        return new Layout(target, s, offset);
    }

    /**
     * The same elements with a new shape, without copying, or {@code null} when the strides do not allow it (then the
     * caller copies). Follows PyTorch's view rule: dimensions may be split or merged only where memory is uniform.
     */
    public Layout reshapeView(Shape target) {
        if (target.numel() != numel()) {
            throw new IllegalArgumentException(
                    "reshape: shape " + shape + " (" + numel() + " elements) cannot become " + target);
        }
        // an empty tensor addresses no element, so any shape of it is a view (PyTorch's computeStride says the same)
        if (isContiguous() || target.numel() == 0) return new Layout(target, contiguousStrides(target), offset);
        // walk groups of old dims that merge into groups of new dims (PyTorch's computeStride)
        long[] oldD = shape.toArray(), oldS = strides;
        long[] newD = target.toArray(), newS = new long[newD.length];
        int viewD = newD.length - 1;
        long chunkBase = oldS.length == 0 ? 1 : oldS[oldS.length - 1];
        long tensorNumel = 1, viewNumel = 1;
        for (int tensorD = oldD.length - 1; tensorD >= 0; tensorD--) {
            tensorNumel *= oldD[tensorD];
            if (tensorD == 0 || (oldD[tensorD - 1] != 1 && oldS[tensorD - 1] != tensorNumel * chunkBase)) {
                while (viewD >= 0 && (viewNumel < tensorNumel || newD[viewD] == 1)) {
                    newS[viewD] = viewNumel * chunkBase;
                    viewNumel *= newD[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (tensorD > 0) {
                    chunkBase = oldS[tensorD - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        if (viewD != -1) return null;
        return new Layout(target, newS, offset);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Layout l
                && l.shape.equals(shape)
                && Arrays.equals(l.strides, strides)
                && l.offset == offset;
    }

    @Override
    public int hashCode() {
        return shape.hashCode() * 31 + Arrays.hashCode(strides) + Long.hashCode(offset);
    }

    @Override
    public String toString() {
        return "Layout" + shape + " strides=" + Arrays.toString(strides) + " offset=" + offset;
    }
}
