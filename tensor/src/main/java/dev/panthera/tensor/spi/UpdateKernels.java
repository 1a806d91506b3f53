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
    private static final int CHUNK = 2048;

    /** Per-thread heap buffers the dense path copies chunks into. */
    private static final ThreadLocal<float[][]> BUFFERS =
            ThreadLocal.withInitial(() -> new float[][] {new float[CHUNK], new float[CHUNK], new float[CHUNK]});

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
            dense(op, x, al.offset(), y, b == null ? 0 : bl.offset(), value, d, dl.offset(), n);
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

    /**
     * Dense F32: chunks are bulk-copied to the heap and updated by a loop specialised per op (the op's switch out of
     * the loop, no per-element segment checks); each element is still computed in float64 and rounded once, exactly
     * as {@link UpdateOp#apply} does.
     */
    private static void dense(
            UpdateOp op,
            MemorySegment x,
            long oa,
            MemorySegment y,
            long ob,
            double v,
            MemorySegment d,
            long od,
            long n) {
        float[][] buf = BUFFERS.get();
        float[] bd = buf[0], ba = buf[1], bb = buf[2];
        for (long from = 0; from < n; from += CHUNK) {
            int len = (int) Math.min(CHUNK, n - from);
            MemorySegment.copy(d, F32, (od + from) * Float.BYTES, bd, 0, len);
            MemorySegment.copy(x, F32, (oa + from) * Float.BYTES, ba, 0, len);
            if (op.usesB()) MemorySegment.copy(y, F32, (ob + from) * Float.BYTES, bb, 0, len);
            switch (op) {
                case ADD_SCALED -> {
                    for (int i = 0; i < len; i++) bd[i] = (float) (bd[i] + v * ba[i]);
                }
                case ADDCMUL -> {
                    for (int i = 0; i < len; i++) bd[i] = (float) (bd[i] + v * ba[i] * bb[i]);
                }
                case ADDCDIV -> {
                    for (int i = 0; i < len; i++) bd[i] = (float) (bd[i] + v * ba[i] / bb[i]);
                }
                case LERP -> {
                    // UpdateOp.LERP's two forms with the choice between them, which depends on v only, out of the loop
                    if (Math.abs(v) < 0.5) {
                        for (int i = 0; i < len; i++) bd[i] = (float) (bd[i] + v * ((double) ba[i] - bd[i]));
                    } else {
                        double w = 1 - v;
                        for (int i = 0; i < len; i++) bd[i] = (float) (ba[i] - ((double) ba[i] - bd[i]) * w);
                    }
                }
            }
            MemorySegment.copy(bd, 0, d, F32, (od + from) * Float.BYTES, len);
        }
    }
}
