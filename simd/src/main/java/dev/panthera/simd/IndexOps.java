package dev.panthera.simd;

import static dev.panthera.simd.FloatRows.lastStride;
import static dev.panthera.simd.FloatRows.rowLength;
import static dev.panthera.simd.FloatRows.rows;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.MemorySegment;

/**
 * The SIMD backend's index ops: row copies for index-selects, vector row adds for index-adds, direct loops for
 * gathers and scatter-adds, byte masks and blends for {@code where}. What a method does not serve goes to
 * {@code fallback}.
 */
final class IndexOps {
    private IndexOps() {}

    private static boolean f32(Storage... s) {
        for (Storage x : s) if (x.dtype() != DType.F32) return false;
        return true;
    }

    /** Row gathers along dim 0 with a dense last dim (embedding lookups) copy whole rows; the rest goes to the reference. */
    static void indexSelect(
            Backend fallback, Storage s, Layout sl, int dim, Storage i, Layout il, Storage d, Layout dl) {
        if (dim != 0 || sl.rank() != 2 || lastStride(sl) != 1 || !dl.isContiguous()) {
            if (!intIndex(i) || s.dtype() != d.dtype()) {
                fallback.indexSelect(s, sl, dim, i, il, d, dl);
                return;
            }
            // every index checked before anything is written, as the reference does
            long bound = sl.shape().dim(dim);
            long[] picked = new long[Math.toIntExact(il.numel())];
            StridedCursor ci = new StridedCursor(il);
            for (int k = 0; k < picked.length; k++)
                picked[k] =
                        IndexKernels.checkedIndex(i.segment(), i.dtype() == DType.I64, ci.next(), bound, "indexSelect");
            for (int k = 0; k < picked.length; k++) copyElements(s, sl.select(dim, picked[k]), d, dl.select(dim, k));
            return;
        }
        long rows = sl.shape().dim(0), w = s.dtype().byteSize(), n = sl.shape().dim(1);
        StridedCursor ci = new StridedCursor(il);
        for (long k = 0, m = il.numel(); k < m; k++) {
            long row = dev.panthera.tensor.spi.Elements.getLong(i.segment(), i.dtype(), ci.next());
            if (row < 0 || row >= rows)
                throw new IndexOutOfBoundsException(
                        "indexSelect: index " + row + " is out of bounds for dimension of size " + rows);
            MemorySegment.copy(
                    s.segment(), (sl.offset() + row * sl.stride(0)) * w, d.segment(), (dl.offset() + k * n) * w, n * w);
        }
    }

    private static boolean intIndex(Storage i) {
        return i.dtype() == DType.I64 || i.dtype() == DType.I32;
    }

    /** True when dims 1.. of {@code l} are one dense block (each dim-0 slice is a contiguous row). */
    private static boolean denseRows(Layout l) {
        long expected = 1;
        for (int i = l.rank() - 1; i >= 1; i--) {
            long d = l.shape().dim(i);
            if (d != 1 && l.stride(i) != expected) return false;
            expected *= d;
        }
        return true;
    }

    /**
     * F32 along dim 0 with dense rows (the embedding backward: dst [V, D], src [N, D]) adds whole rows as vectors,
     * src row k into dst row index[k] in order of k; every index is checked first, as the reference does, so an
     * out-of-range index leaves dst untouched. Other dims and dtypes go to the reference.
     */
    static void indexAdd(Backend fallback, Storage d, Layout dl, int dim, Storage i, Layout il, Storage s, Layout sl) {
        if (dim != 0
                || !f32(d, s)
                || !intIndex(i)
                || il.rank() != 1
                || dl.rank() == 0
                || !denseRows(dl)
                || !denseRows(sl)
                || dl.numel() / Math.max(dl.shape().dim(0), 1) > Integer.MAX_VALUE) {
            if (intIndex(i) && s.dtype() == d.dtype() && FloatRows.computedInF32(d.dtype()))
                indexAddRows(d, dl, dim, i, il, s, sl);
            else fallback.indexAdd(d, dl, dim, i, il, s, sl);
            return;
        }
        long bound = dl.shape().dim(0);
        int n = Math.toIntExact(
                sl.shape().dim(0) == 0 ? 0 : sl.numel() / sl.shape().dim(0));
        long[] picked = new long[Math.toIntExact(il.numel())];
        boolean i64 = i.dtype() == DType.I64;
        for (int k = 0; k < picked.length; k++)
            picked[k] = IndexKernels.checkedIndex(i.segment(), i64, il.offset() + k * il.stride(0), bound, "indexAdd");
        for (int k = 0; k < picked.length && n > 0; k++) {
            long dO = dl.offset() + picked[k] * dl.stride(0), so = sl.offset() + k * sl.stride(0);
            FloatKernels.binaryRow(BinaryOp.ADD, d.segment(), dO, 1, s.segment(), so, 1, d.segment(), dO, n);
        }
    }

    /**
     * Along the last dim with an I32/I64 index and 4- or 8-byte elements: direct loops per row over the segments
     * (any strides), each index checked in row-major order with the reference's exception. Other dims go to it.
     */
    static void gather(Backend fallback, Storage s, Layout sl, int dim, Storage i, Layout il, Storage d, Layout dl) {
        int w = s.dtype().byteSize(), last = sl.rank() - 1;
        if (!intIndex(i) || s.dtype() != d.dtype()) {
            fallback.gather(s, sl, dim, i, il, d, dl);
            return;
        }
        if (dim != last || (w != 4 && w != 8)) {
            gatherElements(s, sl, dim, i, il, d, dl);
            return;
        }
        long n = il.shape().dim(last), bound = sl.shape().dim(last);
        Layout srcRows = rows(new Layout(il.shape(), sl.strides(), sl.offset())), idxRows = rows(il);
        StridedCursor cs = new StridedCursor(srcRows),
                ci = new StridedCursor(idxRows),
                cd = new StridedCursor(rows(dl));
        for (long r = 0, rowsN = idxRows.numel(); r < rowsN; r++) {
            IndexKernels.gatherRow(
                    w,
                    s.segment(),
                    cs.next(),
                    sl.stride(last),
                    bound,
                    i.segment(),
                    i.dtype() == DType.I64,
                    ci.next(),
                    il.stride(last),
                    d.segment(),
                    cd.next(),
                    dl.stride(last),
                    n);
        }
    }

    /**
     * F32 along the last dim with an I32/I64 index: direct loops per row (any strides), adding in the reference's
     * order and checking each index as it is reached. Other dims and dtypes go to the reference.
     */
    static void scatterAdd(
            Backend fallback, Storage d, Layout dl, int dim, Storage i, Layout il, Storage s, Layout sl) {
        int last = dl.rank() - 1;
        if (dim != last || last < 0 || !f32(d, s) || !intIndex(i)) {
            if (intIndex(i) && s.dtype() == d.dtype() && FloatRows.computedInF32(d.dtype()))
                scatterAddElements(d, dl, dim, i, il, s, sl);
            else fallback.scatterAdd(d, dl, dim, i, il, s, sl);
            return;
        }
        long n = il.shape().dim(last), bound = dl.shape().dim(last);
        Layout dstRows = rows(new Layout(il.shape(), dl.strides(), dl.offset())), idxRows = rows(il);
        StridedCursor cd = new StridedCursor(dstRows),
                ci = new StridedCursor(idxRows),
                cs = new StridedCursor(rows(sl));
        for (long r = 0, rowsN = idxRows.numel(); r < rowsN; r++) {
            IndexKernels.scatterAddRow(
                    d.segment(),
                    cd.next(),
                    dl.stride(last),
                    bound,
                    i.segment(),
                    i.dtype() == DType.I64,
                    ci.next(),
                    il.stride(last),
                    s.segment(),
                    cs.next(),
                    sl.stride(last),
                    n);
        }
    }

    /**
     * BOOL condition with F32 (or I32) operands whose last dims are dense or broadcast (stride 1 or 0) into a dense
     * last dim: byte masks widened to the element lanes and a blend per vector. Everything else goes to the reference.
     */
    static void where(
            Backend fallback, Storage c, Layout cl, Storage a, Layout al, Storage b, Layout bl, Storage d, Layout dl) {
        long sc = lastStride(cl), sa = lastStride(al), sb = lastStride(bl);
        DType t = d.dtype();
        boolean ok = c.dtype() == DType.BOOL
                && (t == DType.F32 || t == DType.I32)
                && a.dtype() == t
                && b.dtype() == t
                && dl.rank() > 0
                && lastStride(dl) == 1
                && (sc == 0 || sc == 1)
                && (sa == 0 || sa == 1)
                && (sb == 0 || sb == 1);
        if (!ok) {
            if (c.dtype() == DType.BOOL && a.dtype() == t && b.dtype() == t) whereElements(c, cl, a, al, b, bl, d, dl);
            else fallback.where(c, cl, a, al, b, bl, d, dl);
            return;
        }
        int n = rowLength(dl);
        StridedCursor cc = new StridedCursor(rows(cl)),
                ca = new StridedCursor(rows(al)),
                cb = new StridedCursor(rows(bl)),
                cd = new StridedCursor(rows(dl));
        for (long r = 0, rowsN = n == 0 ? 0 : dl.numel() / n; r < rowsN; r++) {
            IndexKernels.whereRow(
                    c.segment(),
                    cc.next(),
                    (int) sc,
                    a.segment(),
                    ca.next(),
                    (int) sa,
                    b.segment(),
                    cb.next(),
                    (int) sb,
                    d.segment(),
                    cd.next(),
                    n);
        }
    }

    /**
     * Index-add along any dim for F32, BF16 and F16, any layouts: every index checked first (as the reference does),
     * then for k in order the source slice k added to the destination slice index[k], a row at a time in F32 (a float
     * sum of two floats rounds as the reference's double sum rounded to float does).
     */
    private static void indexAddRows(Storage d, Layout dl, int dim, Storage i, Layout il, Storage s, Layout sl) {
        long bound = dl.shape().dim(dim);
        long[] picked = new long[Math.toIntExact(il.numel())];
        StridedCursor ci = new StridedCursor(il);
        for (int k = 0; k < picked.length; k++)
            picked[k] = IndexKernels.checkedIndex(i.segment(), i.dtype() == DType.I64, ci.next(), bound, "indexAdd");
        if (picked.length == 0) return;
        Layout first = FloatRows.atLeast1(sl.select(dim, 0));
        int n = rowLength(first);
        if (n == 0 || first.numel() == 0) return;
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment x = arena.allocate(n * 4L, 64), y = arena.allocate(n * 4L, 64);
            for (int k = 0; k < picked.length; k++) {
                Layout ds = FloatRows.atLeast1(dl.select(dim, picked[k])), ss = FloatRows.atLeast1(sl.select(dim, k));
                StridedCursor cd = new StridedCursor(rows(ds)), cs = new StridedCursor(rows(ss));
                for (long r = 0, rowsN = ss.numel() / n; r < rowsN; r++) {
                    long dO = cd.next();
                    FloatRows.widen(d.segment(), d.dtype(), dO, lastStride(ds), n, x, 0);
                    FloatRows.widen(s.segment(), s.dtype(), cs.next(), lastStride(ss), n, y, 0);
                    FloatKernels.binaryRow(BinaryOp.ADD, x, 0, 1, y, 0, 1, x, 0, n);
                    FloatRows.narrow(x, 0, n, d.segment(), d.dtype(), dO, lastStride(ds));
                }
            }
        }
    }

    /** Scatter-add along any dim for F32, BF16 and F16, element by element in the reference's order, in F32. */
    private static void scatterAddElements(Storage d, Layout dl, int dim, Storage i, Layout il, Storage s, Layout sl) {
        long bound = dl.shape().dim(dim), step = dl.stride(dim);
        long[] strides = dl.strides();
        strides[dim] = 0;
        StridedCursor cd = new StridedCursor(new Layout(il.shape(), strides, dl.offset())),
                ci = new StridedCursor(il),
                cs = new StridedCursor(sl);
        boolean i64 = i.dtype() == DType.I64;
        for (long k = 0, n = il.numel(); k < n; k++) {
            long d0 = cd.next(), at = ci.next(), si = cs.next();
            long di = d0 + IndexKernels.checkedIndex(i.segment(), i64, at, bound, "scatterAdd") * step;
            float v = FloatRows.get(d.segment(), d.dtype(), di) + FloatRows.get(s.segment(), s.dtype(), si);
            FloatRows.set(d.segment(), d.dtype(), di, v);
        }
    }

    /** {@code where} element by element for any one dtype and any layouts: the chosen element's bytes are copied. */
    private static void whereElements(
            Storage c, Layout cl, Storage a, Layout al, Storage b, Layout bl, Storage d, Layout dl) {
        long w = d.dtype().byteSize();
        StridedCursor cc = new StridedCursor(cl),
                ca = new StridedCursor(al),
                cb = new StridedCursor(bl),
                cd = new StridedCursor(dl);
        for (long k = 0, n = dl.numel(); k < n; k++) {
            long ic = cc.next(), ia = ca.next(), ib = cb.next(), id = cd.next();
            boolean take = c.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, ic) != 0;
            if (take) MemorySegment.copy(a.segment(), ia * w, d.segment(), id * w, w);
            else MemorySegment.copy(b.segment(), ib * w, d.segment(), id * w, w);
        }
    }

    /** dst = src element by element within one dtype, any layouts of one shape (rank 0 included). */
    static void copyElements(Storage src, Layout sl, Storage dst, Layout dl) {
        Layout s1 = FloatRows.atLeast1(sl), d1 = FloatRows.atLeast1(dl);
        long w = src.dtype().byteSize(), n = rowLength(s1), ss = lastStride(s1), sd = lastStride(d1);
        if (n == 0 || s1.numel() == 0) return;
        StridedCursor cs = new StridedCursor(rows(s1)), cd = new StridedCursor(rows(d1));
        for (long r = 0, rowsN = s1.numel() / n; r < rowsN; r++) {
            long so = cs.next(), dO = cd.next();
            if (ss == 1 && sd == 1) {
                MemorySegment.copy(src.segment(), so * w, dst.segment(), dO * w, n * w);
            } else {
                for (long j = 0; j < n; j++)
                    MemorySegment.copy(src.segment(), (so + j * ss) * w, dst.segment(), (dO + j * sd) * w, w);
            }
        }
    }

    /**
     * Gather along any dim, element by element: dst at each index position takes the source element that shares
     * every coordinate but {@code dim}, where it takes the index's value (checked as it is reached, as the reference).
     */
    private static void gatherElements(Storage s, Layout sl, int dim, Storage i, Layout il, Storage d, Layout dl) {
        long bound = sl.shape().dim(dim), step = sl.stride(dim), w = s.dtype().byteSize();
        long[] strides = sl.strides();
        strides[dim] = 0;
        StridedCursor cs = new StridedCursor(new Layout(il.shape(), strides, sl.offset())),
                ci = new StridedCursor(il),
                cd = new StridedCursor(dl);
        boolean i64 = i.dtype() == DType.I64;
        for (long k = 0, n = il.numel(); k < n; k++) {
            long s0 = cs.next(), at = ci.next(), di = cd.next();
            long idx = IndexKernels.checkedIndex(i.segment(), i64, at, bound, "gather");
            MemorySegment.copy(s.segment(), (s0 + idx * step) * w, d.segment(), di * w, w);
        }
    }
}
