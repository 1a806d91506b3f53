package dev.panthera.simd;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.FusedKernels;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The Vector API backend. F32 work whose innermost dimension is dense (stride 1, or stride 0 for a broadcast operand)
 * runs row by row on {@link FloatKernels} and {@link IndexKernels}: elementwise ops, comparisons into BOOL,
 * {@code where}, softmax along any dim (a leading dim a vector of columns at a time), norms, SUM/MAX/MIN over any
 * set of dims, argmax/argmin along the last dim; matmul goes to {@link Sgemm}, attention and RoPE to
 * {@link AttentionKernels}. Conversions between F32 and BF16, F16 or F64 run on {@link Conversions}. Gathers and
 * scatter-adds along the last dim, index-adds of dense rows along dim 0 and index-selects of rows run as direct
 * loops over the segments; fills of a dense block or of dense rows are vector stores or byte copies for every dtype.
 * <p>
 * F32 views whose innermost dimension is strided (transposes, stepped or banded columns) take one contiguous copy
 * ({@link Strided}) for elementwise ops, last-dim softmax, norms and reductions: inputs are gathered into a dense
 * temporary, outputs computed into one and scattered into place.
 * <p>
 * Delegated to the reference backend, so this backend is never wrong where it is not fast: other dtypes (except
 * same-dtype copies, the conversions above, fills, index-selects, I32 {@code where} and gathers of 4- or 8-byte
 * elements), comparisons, {@code where} and fills with a strided innermost dimension, softmax over a leading dim of
 * a view whose innermost dimension is strided, argmax/argmin along other dims, gather and scatter-add along other
 * dims, index-add along other dims or onto non-dense rows, and matmuls whose operands are not BLAS matrices.
 */
public final class SimdBackend implements Backend, FusedKernels {
    private static final ReferenceBackend REF = ReferenceBackend.INSTANCE;
    private final SimdFused fused = new SimdFused(this);

    /** This backend's forward kernels below plus the training kernels of {@link SimdFused}. */
    @Override
    public FusedKernels fused() {
        return fused;
    }

    @Override
    public String name() {
        return "simd";
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public Storage allocate(DType dtype, long numel, Arena owner) {
        return Storage.allocate(dtype, numel, owner);
    }

    /** Row starts: the layout without its last dimension. */
    private static Layout rows(Layout l) {
        return l.leading(l.rank() - 1);
    }

    private static long lastStride(Layout l) {
        return l.rank() == 0 ? 1 : l.stride(l.rank() - 1);
    }

    private static int rowLength(Layout l) {
        return l.rank() == 0 ? 1 : Math.toIntExact(l.shape().dim(l.rank() - 1));
    }

    private static boolean f32(Storage... s) {
        for (Storage x : s) if (x.dtype() != DType.F32) return false;
        return true;
    }

    @Override
    public void copy(Storage src, Layout sl, Storage dst, Layout dl) {
        if (src.dtype() == dst.dtype() && sl.rank() > 0 && lastStride(sl) == 1 && lastStride(dl) == 1) {
            long w = src.dtype().byteSize(), n = rowLength(sl);
            StridedCursor cs = new StridedCursor(rows(sl)), cd = new StridedCursor(rows(dl));
            for (long r = 0, rowsN = n == 0 ? 0 : sl.numel() / n; r < rowsN; r++) {
                MemorySegment.copy(src.segment(), cs.next() * w, dst.segment(), cd.next() * w, n * w);
            }
            return;
        }
        RowConversion conversion = conversion(src.dtype(), dst.dtype());
        if (conversion != null && sl.rank() > 0 && lastStride(sl) == 1 && lastStride(dl) == 1) {
            int n = rowLength(sl);
            StridedCursor cs = new StridedCursor(rows(sl)), cd = new StridedCursor(rows(dl));
            for (long r = 0, rowsN = n == 0 ? 0 : sl.numel() / n; r < rowsN; r++) {
                conversion.row(src.segment(), cs.next(), dst.segment(), cd.next(), n);
            }
            return;
        }
        REF.copy(src, sl, dst, dl);
    }

    /** One row of n elements converted from one dtype to another; offsets in elements. */
    private interface RowConversion {
        void row(MemorySegment src, long so, MemorySegment dst, long dO, int n);
    }

    /** The {@link Conversions} row kernel for a dtype pair, or null for pairs left to the reference. */
    private static RowConversion conversion(DType from, DType to) {
        if (from == DType.BF16 && to == DType.F32) return Conversions::bf16ToF32;
        if (from == DType.F32 && to == DType.BF16) return Conversions::f32ToBf16;
        if (from == DType.F16 && to == DType.F32) return Conversions::f16ToF32;
        if (from == DType.F32 && to == DType.F16) return Conversions::f32ToF16;
        if (from == DType.F32 && to == DType.F64) return Conversions::f32ToF64;
        if (from == DType.F64 && to == DType.F32) return Conversions::f64ToF32;
        return null;
    }

    /**
     * A dense block (contiguous layout) or rows with a dense last dim: zeros as byte fills of any dtype (a value whose
     * conversion has all bits 0), F32 by broadcast vector stores, other dtypes by writing the first element as the
     * reference does and doubling copies of it. A strided or broadcast last dim goes to the reference.
     */
    @Override
    public void fill(Storage dst, Layout dl, double value) {
        DType t = dst.dtype();
        boolean zero = Double.doubleToRawLongBits(value) == 0 || (!t.isFloatingPoint() && value == 0);
        boolean dense = dl.isContiguous();
        if (dl.numel() == 0 || (!dense && lastStride(dl) != 1)) {
            REF.fill(dst, dl, value);
            return;
        }
        MemorySegment s = dst.segment();
        int w = t.byteSize();
        long n = dense ? dl.numel() : rowLength(dl);
        StridedCursor cr = new StridedCursor(
                dense ? new Layout(dev.panthera.tensor.Shape.scalar(), new long[0], dl.offset()) : rows(dl));
        for (long r = 0, rowsN = dense ? 1 : dl.numel() / n; r < rowsN; r++) {
            long o = cr.next();
            if (zero) {
                s.asSlice(o * w, n * w).fill((byte) 0);
            } else if (t == DType.F32) {
                IndexKernels.fillRow(s, o, n, (float) value);
            } else {
                dev.panthera.tensor.spi.Elements.set(s, t, o, value);
                IndexKernels.repeat(s, o * w, w, n * w);
            }
        }
    }

    @Override
    public void unary(UnaryOp op, Storage src, Layout sl, Storage dst, Layout dl) {
        if (f32(src, dst) && sl.rank() > 0 && (lastStride(sl) != 1 || lastStride(dl) != 1)) {
            try (Arena tmp = Arena.ofConfined()) {
                Strided in = Strided.dense(src, sl, tmp, false), out = Strided.output(dst, dl, tmp);
                unary(op, in.storage(), in.layout(), out.storage(), out.layout());
                out.copyOut(dst, dl);
            }
            return;
        }
        if (!f32(src, dst) || sl.rank() == 0 || lastStride(sl) != 1 || lastStride(dl) != 1) {
            REF.unary(op, src, sl, dst, dl);
            return;
        }
        int n = rowLength(sl);
        StridedCursor cs = new StridedCursor(rows(sl)), cd = new StridedCursor(rows(dl));
        for (long r = 0, rowsN = n == 0 ? 0 : sl.numel() / n; r < rowsN; r++) {
            FloatKernels.unaryRow(op, src.segment(), cs.next(), dst.segment(), cd.next(), n);
        }
    }

    @Override
    public void binary(BinaryOp op, Storage a, Layout al, Storage b, Layout bl, Storage dst, Layout dl) {
        long sa = lastStride(al), sb = lastStride(bl);
        boolean rowsOk = dl.rank() > 0 && (sa == 0 || sa == 1) && (sb == 0 || sb == 1) && lastStride(dl) == 1;
        if (op.isComparison() && rowsOk && f32(a, b) && dst.dtype() == DType.BOOL) {
            int n = rowLength(dl);
            StridedCursor ca = new StridedCursor(rows(al)),
                    cb = new StridedCursor(rows(bl)),
                    cd = new StridedCursor(rows(dl));
            for (long r = 0, rowsN = n == 0 ? 0 : dl.numel() / n; r < rowsN; r++) {
                IndexKernels.compareRow(
                        op,
                        a.segment(),
                        ca.next(),
                        (int) sa,
                        b.segment(),
                        cb.next(),
                        (int) sb,
                        dst.segment(),
                        cd.next(),
                        n);
            }
            return;
        }
        if (!op.isComparison() && f32(a, b, dst) && dl.rank() > 0 && !rowsOk) {
            try (Arena tmp = Arena.ofConfined()) {
                Strided x = Strided.dense(a, al, tmp, true),
                        y = Strided.dense(b, bl, tmp, true),
                        out = Strided.output(dst, dl, tmp);
                binary(op, x.storage(), x.layout(), y.storage(), y.layout(), out.storage(), out.layout());
                out.copyOut(dst, dl);
            }
            return;
        }
        if (op.isComparison() || !f32(a, b, dst) || !rowsOk) {
            REF.binary(op, a, al, b, bl, dst, dl);
            return;
        }
        int n = rowLength(dl);
        StridedCursor ca = new StridedCursor(rows(al)),
                cb = new StridedCursor(rows(bl)),
                cd = new StridedCursor(rows(dl));
        for (long r = 0, rowsN = n == 0 ? 0 : dl.numel() / n; r < rowsN; r++) {
            FloatKernels.binaryRow(
                    op,
                    a.segment(),
                    ca.next(),
                    (int) sa,
                    b.segment(),
                    cb.next(),
                    (int) sb,
                    dst.segment(),
                    cd.next(),
                    n);
        }
    }

    @Override
    public void reduce(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
        if (src.dtype() == DType.F32 && sl.rank() > 0 && lastStride(sl) != 1 && sl.numel() > 0) {
            try (Arena tmp = Arena.ofConfined()) {
                Strided in = Strided.dense(src, sl, tmp, false);
                reduce(op, in.storage(), in.layout(), dims, dst, dl);
            }
            return;
        }
        int last = sl.rank() - 1;
        boolean lastOnly = dims.length == 1 && dims[0] == last;
        boolean keepsLast = true;
        for (int d : dims) if (d == last) keepsLast = false;
        boolean elementwise = op == ReduceOp.SUM || op == ReduceOp.MAX || op == ReduceOp.MIN;
        if (elementwise && keepsLast && last >= 0 && f32(src, dst) && lastStride(sl) == 1 && dl.isContiguous()) {
            reduceLeading(op, src, sl, dims, dst, dl);
            return;
        }
        boolean arg = op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN;
        if (arg
                && lastOnly
                && src.dtype() == DType.F32
                && dst.dtype() == DType.I64
                && lastStride(sl) == 1
                && rowLength(sl) > 0) {
            int n = rowLength(sl);
            StridedCursor cs = new StridedCursor(rows(sl)), cd = new StridedCursor(rows(dl));
            for (long r = 0, rowsN = sl.numel() / n; r < rowsN; r++) {
                long so = cs.next(), dO = cd.next();
                dst.segment()
                        .setAtIndex(
                                java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED,
                                dO,
                                IndexKernels.argExtremeRow(src.segment(), so, n, op == ReduceOp.ARGMAX));
            }
            return;
        }
        if (elementwise && !keepsLast && !lastOnly && f32(src, dst) && lastStride(sl) == 1) {
            reduceRows(op, src, sl, dims, dst, dl);
            return;
        }
        if (!lastOnly
                || !f32(src, dst)
                || lastStride(sl) != 1
                || (op != ReduceOp.SUM && op != ReduceOp.MAX && op != ReduceOp.MIN)) {
            REF.reduce(op, src, sl, dims, dst, dl);
            return;
        }
        int n = rowLength(sl);
        StridedCursor cs = new StridedCursor(rows(sl)), cd = new StridedCursor(rows(dl));
        for (long r = 0, rowsN = sl.numel() / Math.max(n, 1); r < rowsN && n > 0; r++) {
            long so = cs.next(), dO = cd.next();
            float v = op == ReduceOp.SUM
                    ? FloatKernels.sumRow(src.segment(), so, n)
                    : FloatKernels.extremeRow(src.segment(), so, n, op == ReduceOp.MAX);
            dst.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, dO, v);
        }
    }

    /**
     * SUM, MAX or MIN over dims that exclude the last: each source row is combined, as one vector row, into its output
     * row (the output's strides with the reduced dims set to 0 map a source row to it). The output starts at the
     * operation's identity (0, −∞, +∞); MAXIMUM/MINIMUM propagate NaN as the reference does.
     */
    private static void reduceLeading(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
        int n = rowLength(sl);
        if (op != ReduceOp.SUM)
            REF.fill(dst, dl, op == ReduceOp.MAX ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY);
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
    private static void reduceRows(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
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

    @Override
    public void matmul(Storage a, Layout al, Storage b, Layout bl, Storage dst, Layout dl) {
        int r = al.rank();
        if (!f32(a, b, dst) || !dl.isContiguous()) {
            REF.matmul(a, al, b, bl, dst, dl);
            return;
        }
        int m = Math.toIntExact(al.shape().dim(r - 2)),
                k = Math.toIntExact(al.shape().dim(r - 1)),
                n = Math.toIntExact(bl.shape().dim(r - 1));
        Operand pa = Operand.of(al, m, k), pb = Operand.of(bl, k, n);
        if (pa == null || pb == null) { // neither row- nor column-major in the last two dims
            REF.matmul(a, al, b, bl, dst, dl);
            return;
        }
        Layout ba = batch(al), bb = batch(bl), bd = batch(dl);
        StridedCursor ca = new StridedCursor(ba), cb = new StridedCursor(bb), cd = new StridedCursor(bd);
        for (long i = 0, nb = bd.numel(); i < nb; i++) {
            Sgemm.sgemm(
                    pa.trans,
                    pb.trans,
                    m,
                    n,
                    k,
                    1f,
                    a.segment(),
                    ca.next(),
                    pa.ld,
                    b.segment(),
                    cb.next(),
                    pb.ld,
                    0f,
                    dst.segment(),
                    cd.next(),
                    n);
        }
    }

    /** How a [rows, cols] matrix view maps to BLAS arguments. */
    private record Operand(boolean trans, int ld) {
        static Operand of(Layout l, int rows, int cols) {
            int r = l.rank();
            long sr = l.stride(r - 2), sc = l.stride(r - 1);
            if ((cols == 1 || sc == 1) && (rows == 1 || sr >= Math.max(cols, 1))) {
                return new Operand(false, Math.toIntExact(rows == 1 ? Math.max(cols, 1) : sr));
            }
            if ((rows == 1 || sr == 1) && (cols == 1 || sc >= Math.max(rows, 1))) {
                return new Operand(true, Math.toIntExact(cols == 1 ? Math.max(rows, 1) : sc));
            }
            return null; // broadcast (stride 0) or otherwise strided: not a BLAS matrix
        }
    }

    private static Layout batch(Layout l) {
        return l.leading(l.rank() - 2);
    }

    @Override
    public void softmax(Storage src, Layout sl, int dim, boolean log, Storage dst, Layout dl) {
        if (dim == sl.rank() - 1 && f32(src, dst) && (lastStride(sl) != 1 || lastStride(dl) != 1)) {
            try (Arena tmp = Arena.ofConfined()) {
                Strided in = Strided.dense(src, sl, tmp, false), out = Strided.output(dst, dl, tmp);
                softmax(in.storage(), in.layout(), dim, log, out.storage(), out.layout());
                out.copyOut(dst, dl);
            }
            return;
        }
        if (dim != sl.rank() - 1 && f32(src, dst) && lastStride(sl) == 1 && lastStride(dl) == 1 && sl.numel() > 0) {
            // along a leading dim: the rows that differ only in that index, a vector of columns at a time
            int n = rowLength(sl), len = Math.toIntExact(sl.shape().dim(dim));
            float[] mx = new float[n], sm = new float[n];
            StridedCursor cs = new StridedCursor(rows(sl.select(dim, 0))),
                    cd = new StridedCursor(rows(dl.select(dim, 0)));
            for (long g = 0, groups = sl.numel() / ((long) n * len); g < groups; g++) {
                FloatKernels.softmaxColumns(
                        src.segment(),
                        cs.next(),
                        sl.stride(dim),
                        dst.segment(),
                        cd.next(),
                        dl.stride(dim),
                        len,
                        n,
                        log,
                        mx,
                        sm);
            }
            return;
        }
        if (dim != sl.rank() - 1 || !f32(src, dst) || lastStride(sl) != 1 || lastStride(dl) != 1) {
            REF.softmax(src, sl, dim, log, dst, dl);
            return;
        }
        int n = rowLength(sl);
        StridedCursor cs = new StridedCursor(rows(sl)), cd = new StridedCursor(rows(dl));
        for (long r = 0, rowsN = n == 0 ? 0 : sl.numel() / n; r < rowsN; r++) {
            FloatKernels.softmaxRow(src.segment(), cs.next(), dst.segment(), cd.next(), n, log);
        }
    }

    @Override
    public void layerNorm(
            Storage x, Layout xl, Storage w, Layout wl, Storage b, Layout bl, double eps, Storage dst, Layout dl) {
        norm(x, xl, w, wl, b, bl, eps, dst, dl, false);
    }

    @Override
    public void rmsNorm(Storage x, Layout xl, Storage w, Layout wl, double eps, Storage dst, Layout dl) {
        norm(x, xl, w, wl, null, null, eps, dst, dl, true);
    }

    private void norm(
            Storage x,
            Layout xl,
            Storage w,
            Layout wl,
            Storage b,
            Layout bl,
            double eps,
            Storage dst,
            Layout dl,
            boolean rms) {
        if (f32(x, dst) && xl.rank() > 0 && (lastStride(xl) != 1 || lastStride(dl) != 1)) {
            try (Arena tmp = Arena.ofConfined()) {
                Strided in = Strided.dense(x, xl, tmp, false), out = Strided.output(dst, dl, tmp);
                norm(in.storage(), in.layout(), w, wl, b, bl, eps, out.storage(), out.layout(), rms);
                out.copyOut(dst, dl);
            }
            return;
        }
        boolean ok = f32(x, dst)
                && lastStride(xl) == 1
                && lastStride(dl) == 1
                && (w == null || (w.dtype() == DType.F32 && wl.stride(0) == 1))
                && (b == null || (b.dtype() == DType.F32 && bl.stride(0) == 1));
        if (!ok) {
            if (rms) REF.rmsNorm(x, xl, w, wl, eps, dst, dl);
            else REF.layerNorm(x, xl, w, wl, b, bl, eps, dst, dl);
            return;
        }
        int n = rowLength(xl);
        StridedCursor cx = new StridedCursor(rows(xl)), cd = new StridedCursor(rows(dl));
        for (long r = 0, rowsN = n == 0 ? 0 : xl.numel() / n; r < rowsN; r++) {
            FloatKernels.normRow(
                    x.segment(),
                    cx.next(),
                    w == null ? null : w.segment(),
                    w == null ? 0 : wl.offset(),
                    b == null ? null : b.segment(),
                    b == null ? 0 : bl.offset(),
                    (float) eps,
                    dst.segment(),
                    cd.next(),
                    n,
                    rms);
        }
    }

    @Override
    public void rope(
            Storage x,
            Layout xl,
            Storage cos,
            Layout cl,
            Storage sin,
            Layout sl,
            boolean interleaved,
            Storage dst,
            Layout dl) {
        if (!f32(x, cos, sin, dst)
                || lastStride(xl) != 1
                || lastStride(dl) != 1
                || !cl.isContiguous()
                || !sl.isContiguous()) {
            REF.rope(x, xl, cos, cl, sin, sl, interleaved, dst, dl);
            return;
        }
        int r = xl.rank(), d = rowLength(xl);
        long seq = xl.shape().dim(r - 2), half = d / 2;
        StridedCursor cx = new StridedCursor(rows(xl)), cd = new StridedCursor(rows(dl));
        for (long row = 0, n = xl.numel() / Math.max(d, 1); row < n && d > 0; row++) {
            long p = row % seq; // rows run over [..., seq] in row-major order
            AttentionKernels.ropeRow(
                    x.segment(),
                    cx.next(),
                    cos.segment(),
                    cl.offset() + p * half,
                    sin.segment(),
                    sl.offset() + p * half,
                    dst.segment(),
                    cd.next(),
                    d,
                    interleaved);
        }
    }

    @Override
    public void attention(
            Storage q,
            Layout ql,
            Storage k,
            Layout kl,
            Storage v,
            Layout vl,
            boolean causal,
            double scale,
            Storage dst,
            Layout dl) {
        if (!f32(q, k, v, dst)
                || lastStride(ql) != 1
                || lastStride(kl) != 1
                || lastStride(vl) != 1
                || lastStride(dl) != 1) {
            REF.attention(q, ql, k, kl, v, vl, causal, scale, dst, dl);
            return;
        }
        AttentionKernels.attention(
                view(q, ql),
                view(k, kl),
                view(v, vl),
                view(dst, dl),
                Math.toIntExact(ql.shape().dim(0)),
                Math.toIntExact(ql.shape().dim(1)),
                Math.toIntExact(kl.shape().dim(1)),
                Math.toIntExact(ql.shape().dim(2)),
                Math.toIntExact(kl.shape().dim(2)),
                Math.toIntExact(ql.shape().dim(3)),
                Math.toIntExact(vl.shape().dim(3)),
                causal,
                (float) scale);
    }

    private static AttentionKernels.View4 view(Storage s, Layout l) {
        return new AttentionKernels.View4(s.segment(), l.offset(), l.stride(0), l.stride(1), l.stride(2));
    }

    /** Row gathers along dim 0 with a dense last dim (embedding lookups) copy whole rows; the rest goes to the reference. */
    @Override
    public void indexSelect(Storage s, Layout sl, int dim, Storage i, Layout il, Storage d, Layout dl) {
        if (dim != 0 || sl.rank() != 2 || lastStride(sl) != 1 || !dl.isContiguous()) {
            REF.indexSelect(s, sl, dim, i, il, d, dl);
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
    @Override
    public void indexAdd(Storage d, Layout dl, int dim, Storage i, Layout il, Storage s, Layout sl) {
        if (dim != 0
                || !f32(d, s)
                || !intIndex(i)
                || il.rank() != 1
                || dl.rank() == 0
                || !denseRows(dl)
                || !denseRows(sl)
                || dl.numel() / Math.max(dl.shape().dim(0), 1) > Integer.MAX_VALUE) {
            REF.indexAdd(d, dl, dim, i, il, s, sl);
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
    @Override
    public void gather(Storage s, Layout sl, int dim, Storage i, Layout il, Storage d, Layout dl) {
        int w = s.dtype().byteSize(), last = sl.rank() - 1;
        if (dim != last || last < 0 || (w != 4 && w != 8) || !intIndex(i)) {
            REF.gather(s, sl, dim, i, il, d, dl);
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
    @Override
    public void scatterAdd(Storage d, Layout dl, int dim, Storage i, Layout il, Storage s, Layout sl) {
        int last = dl.rank() - 1;
        if (dim != last || last < 0 || !f32(d, s) || !intIndex(i)) {
            REF.scatterAdd(d, dl, dim, i, il, s, sl);
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
    @Override
    public void where(Storage c, Layout cl, Storage a, Layout al, Storage b, Layout bl, Storage d, Layout dl) {
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
            REF.where(c, cl, a, al, b, bl, d, dl);
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
}
