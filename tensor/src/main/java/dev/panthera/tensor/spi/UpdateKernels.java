package dev.panthera.tensor.spi;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UpdateOp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * CPU kernels of {@link UpdateOp}: one pass over the destination, each element computed in float64 from its old value
 * and the operands and rounded once to the destination's dtype. Dense F32 takes a direct loop.
 */
public final class UpdateKernels {
    private UpdateKernels() {}

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** dst ← op(dst, a, b, value); layouts share dst's shape; b may be null when the op does not use it. */
    public static void run(
            UpdateOp op, Storage a, Layout al, Storage b, Layout bl, double value, Storage dst, Layout dl) {
        long n = dl.numel();
        if (n == 0) return;
        MemorySegment d = dst.segment(), x = a.segment(), y = b == null ? null : b.segment();
        DType t = dst.dtype();
        boolean dense = t == DType.F32
                && a.dtype() == t
                && dl.isContiguous()
                && al.isContiguous()
                && (b == null || (b.dtype() == t && bl.isContiguous()));
        if (dense) {
            long od = dl.offset(), oa = al.offset(), ob = b == null ? 0 : bl.offset();
            for (long i = 0; i < n; i++) {
                double xb = y == null ? 0 : y.getAtIndex(F32, ob + i);
                double r = op.apply(d.getAtIndex(F32, od + i), x.getAtIndex(F32, oa + i), xb, value);
                d.setAtIndex(F32, od + i, (float) r);
            }
            return;
        }
        StridedCursor cd = new StridedCursor(dl), ca = new StridedCursor(al);
        StridedCursor cb = b == null ? null : new StridedCursor(bl);
        for (long i = 0; i < n; i++) {
            long id = cd.next();
            double xb = cb == null ? 0 : Elements.get(y, b.dtype(), cb.next());
            double r = op.apply(Elements.get(d, t, id), Elements.get(x, a.dtype(), ca.next()), xb, value);
            Elements.set(d, t, id, r);
        }
    }
}
