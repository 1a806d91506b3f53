package dev.panthera.simd;

import static dev.panthera.simd.FloatRows.rowLength;
import static dev.panthera.simd.FloatRows.rows;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.MemorySegment;

/** F32 reductions over rows with a dense last dim, for the SIMD backend. */
final class DenseReductions {
    private DenseReductions() {}

    /**
     * SUM, MAX or MIN over dims that exclude the last: each source row is combined, as one vector row, into its output
     * row (the output's strides with the reduced dims set to 0 map a source row to it). The output starts at the
     * operation's identity (0, −∞, +∞); MAXIMUM/MINIMUM propagate NaN as the reference does.
     */
    static void leading(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
        int n = rowLength(sl);
        if (op != ReduceOp.SUM) // dl is contiguous
        IndexKernels.fillRow(
                    dst.segment(),
                    dl.offset(),
                    dl.numel(),
                    op == ReduceOp.MAX ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY);
        BinaryOp combine = switch (op) {
            case MAX -> BinaryOp.MAXIMUM;
            case MIN -> BinaryOp.MINIMUM;
            default -> BinaryOp.ADD;
        };
        long[] ds = dl.strides();
        for (int d : dims) ds[d] = 0;
        Layout target = rows(new Layout(sl.shape(), ds, dl.offset()));
        StridedCursor cs = new StridedCursor(rows(sl)), cd = new StridedCursor(target);
        for (long r = 0, rowsN = n == 0 ? 0 : sl.numel() / n; r < rowsN; r++) {
            long so = cs.next(), dO = cd.next();
            FloatKernels.binaryRow(combine, dst.segment(), dO, 1, src.segment(), so, 1, dst.segment(), dO, n);
        }
    }

    /**
     * SUM, MAX or MIN over the last dim together with others (everything, for {@code sum()}): each source row is reduced
     * on its own (a double-accumulated vector sum, or the NaN-aware vector extreme) and the row results are combined in
     * double, per output element, before one rounding to float, as the reference does. A row's output is found by
     * row-major ordinals over the output shape with the reduced dims' strides set to 0.
     */
    static void acrossRows(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
        int rank = sl.rank(), n = rowLength(sl);
        long[] ordinal = new long[rank];
        for (int i = rank - 1, acc = 1; i >= 0; i--) {
            ordinal[i] = acc;
            acc = Math.multiplyExact(acc, Math.toIntExact(dl.shape().dim(i)));
        }
        for (int d : dims) ordinal[d] = 0;
        double[] out = new double[Math.toIntExact(dl.numel())];
        boolean max = op == ReduceOp.MAX;
        if (op != ReduceOp.SUM) java.util.Arrays.fill(out, max ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY);
        Layout srcRows = rows(sl);
        StridedCursor cs = new StridedCursor(srcRows), co = new StridedCursor(rows(new Layout(sl.shape(), ordinal, 0)));
        MemorySegment s = src.segment();
        for (long r = 0, rowsN = srcRows.numel(); r < rowsN; r++) {
            long so = cs.next();
            int o = (int) co.next();
            if (op == ReduceOp.SUM) {
                out[o] += IndexKernels.sumRow(s, so, n);
            } else {
                double x = FloatKernels.extremeRow(s, so, n, max);
                out[o] = Double.isNaN(out[o]) || Double.isNaN(x)
                        ? Double.NaN
                        : max ? Math.max(out[o], x) : Math.min(out[o], x);
            }
        }
        StridedCursor cd = new StridedCursor(dl);
        for (double v : out)
            dst.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, cd.next(), (float) v);
    }
}
