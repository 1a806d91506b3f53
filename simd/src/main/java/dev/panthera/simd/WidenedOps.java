package dev.panthera.simd;

import static dev.panthera.simd.FloatRows.atLeast1;
import static dev.panthera.simd.FloatRows.lastStride;
import static dev.panthera.simd.FloatRows.narrow;
import static dev.panthera.simd.FloatRows.rowLength;
import static dev.panthera.simd.FloatRows.rows;
import static dev.panthera.simd.FloatRows.widen;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.spi.Elements;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Elementwise ops, reductions, softmax and norms for F32, BF16 and F16 tensors of any layout, computed in F32 by the
 * row kernels: each source row is widened into a dense F32 scratch row (exact), the kernel runs on scratch rows, and
 * the result row is narrowed into place with round to nearest even ({@link FloatRows}). Scratch is a few rows per
 * call, never a converted copy of a tensor. Sums accumulate in double, as the reference does, so they round to the
 * same float except within a few double ulps of a rounding boundary.
 */
final class WidenedOps {
    private WidenedOps() {}

    private static final int ALIGN = 64;

    private static MemorySegment scratch(Arena arena, long floats) {
        return arena.allocate(Math.max(1, floats) * 4, ALIGN);
    }

    /** dst = op(src). */
    static void unary(UnaryOp op, Storage src, Layout sl, Storage dst, Layout dl) {
        Layout s1 = atLeast1(sl), d1 = atLeast1(dl);
        int n = rowLength(s1);
        if (n == 0 || s1.numel() == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = scratch(arena, n), y = scratch(arena, n);
            StridedCursor cs = new StridedCursor(rows(s1)), cd = new StridedCursor(rows(d1));
            long ss = lastStride(s1), ds = lastStride(d1);
            for (long r = 0, rowsN = s1.numel() / n; r < rowsN; r++) {
                widen(src.segment(), src.dtype(), cs.next(), ss, n, x, 0);
                FloatKernels.unaryRow(op, x, 0, y, 0, n);
                narrow(y, 0, n, dst.segment(), dst.dtype(), cd.next(), ds);
            }
        }
    }

    /** dst = a op b; comparisons write BOOL. Broadcast (stride 0) last dims are widened as one element. */
    static void binary(BinaryOp op, Storage a, Layout al, Storage b, Layout bl, Storage dst, Layout dl) {
        Layout a1 = atLeast1(al), b1 = atLeast1(bl), d1 = atLeast1(dl);
        int n = rowLength(d1);
        if (n == 0 || d1.numel() == 0) return;
        long sa = lastStride(a1), sb = lastStride(b1), sd = lastStride(d1);
        int va = sa == 0 ? 0 : 1, vb = sb == 0 ? 0 : 1;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = scratch(arena, n), y = scratch(arena, n), z = scratch(arena, n);
            MemorySegment mask = op.isComparison() ? arena.allocate(n) : null;
            StridedCursor ca = new StridedCursor(rows(a1)),
                    cb = new StridedCursor(rows(b1)),
                    cd = new StridedCursor(rows(d1));
            for (long r = 0, rowsN = d1.numel() / n; r < rowsN; r++) {
                widen(a.segment(), a.dtype(), ca.next(), sa, va == 0 ? 1 : n, x, 0);
                widen(b.segment(), b.dtype(), cb.next(), sb, vb == 0 ? 1 : n, y, 0);
                long dO = cd.next();
                if (!op.isComparison()) {
                    FloatKernels.binaryRow(op, x, 0, va, y, 0, vb, z, 0, n);
                    narrow(z, 0, n, dst.segment(), dst.dtype(), dO, sd);
                } else if (sd == 1) {
                    IndexKernels.compareRow(op, x, 0, va, y, 0, vb, dst.segment(), dO, n);
                } else {
                    IndexKernels.compareRow(op, x, 0, va, y, 0, vb, mask, 0, n);
                    for (int i = 0; i < n; i++)
                        dst.segment().set(ValueLayout.JAVA_BYTE, dO + i * sd, mask.get(ValueLayout.JAVA_BYTE, i));
                }
            }
        }
    }

    /**
     * SUM, MAX, MIN over any dims, ARGMAX/ARGMIN along one dim, with the reference's rules: sums in double rounded
     * once on store, MAX/MIN NaN if any element is NaN, the arg ops taking the first NaN or else the first extreme.
     * Each source row (the last dim) is widened once; a reduced last dim is reduced by the row kernels, a kept one is
     * combined element by element into its output row.
     */
    static void reduce(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
        Layout s1 = atLeast1(sl), d1 = atLeast1(dl);
        int last = s1.rank() - 1, n = rowLength(s1);
        boolean lastReduced = false;
        if (sl.rank() > 0) for (int d : dims) lastReduced |= d == last;
        boolean arg = op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN;
        boolean max = op == ReduceOp.MAX || op == ReduceOp.ARGMAX;
        int outN = Math.toIntExact(d1.numel());
        double[] acc = new double[outN];
        long[] at = new long[outN];
        Arrays.fill(acc, op == ReduceOp.SUM ? 0.0 : max ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY);
        Arrays.fill(at, -1);
        long[] ordinal = new long[s1.rank()]; // row-major strides of the output with the reduced dims zeroed
        for (int i = s1.rank() - 1, step = 1; i >= 0; i--) {
            ordinal[i] = step;
            step = Math.multiplyExact(step, Math.toIntExact(d1.shape().dim(i)));
        }
        if (sl.rank() > 0) for (int d : dims) ordinal[d] = 0;
        int argDim = dims.length == 1 ? dims[0] : -1;
        if (n > 0 && s1.numel() > 0) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment x = scratch(arena, n);
                Layout srcRows = rows(s1);
                StridedCursor cs = new StridedCursor(srcRows),
                        co = new StridedCursor(rows(new Layout(s1.shape(), ordinal, 0)));
                long ss = lastStride(s1);
                for (long r = 0, rowsN = srcRows.numel(); r < rowsN; r++) {
                    widen(src.segment(), src.dtype(), cs.next(), ss, n, x, 0);
                    int o = (int) co.next();
                    if (lastReduced) {
                        switch (op) {
                            case SUM -> acc[o] += IndexKernels.sumRow(x, 0, n);
                            case MAX, MIN -> acc[o] = extreme(acc[o], FloatKernels.extremeRow(x, 0, n, max), max);
                            case ARGMAX, ARGMIN -> at[o] = IndexKernels.argExtremeRow(x, 0, n, max);
                        }
                    } else {
                        long position = arg ? cs.position(argDim) : 0;
                        for (int j = 0; j < n; j++) {
                            double v = x.getAtIndex(ValueLayout.JAVA_FLOAT, j);
                            int q = o + j;
                            switch (op) {
                                case SUM -> acc[q] += v;
                                case MAX, MIN -> acc[q] = extreme(acc[q], v, max);
                                case ARGMAX, ARGMIN -> {
                                    if (at[q] < 0
                                            || (!Double.isNaN(acc[q])
                                                    && (Double.isNaN(v) || (max ? v > acc[q] : v < acc[q])))) {
                                        acc[q] = v;
                                        at[q] = position;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        StridedCursor cd = new StridedCursor(d1);
        for (int o = 0; o < outN; o++) {
            long di = cd.next();
            if (arg) Elements.setLong(dst.segment(), dst.dtype(), di, at[o]);
            else FloatRows.set(dst.segment(), dst.dtype(), di, (float) acc[o]);
        }
    }

    private static double extreme(double a, double b, boolean max) {
        if (Double.isNaN(a) || Double.isNaN(b)) return Double.NaN;
        return max ? Math.max(a, b) : Math.min(a, b);
    }

    /** Softmax (or log-softmax) along {@code dim}: a row at a time for the last dim, else [len, n] blocks of columns. */
    static void softmax(Storage src, Layout sl, int dim, boolean log, Storage dst, Layout dl) {
        if (sl.numel() == 0) return;
        int last = sl.rank() - 1, n = rowLength(sl);
        long ss = lastStride(sl), sd = lastStride(dl);
        try (Arena arena = Arena.ofConfined()) {
            if (dim == last) {
                MemorySegment x = scratch(arena, n), y = scratch(arena, n);
                StridedCursor cs = new StridedCursor(rows(sl)), cd = new StridedCursor(rows(dl));
                for (long r = 0, rowsN = sl.numel() / n; r < rowsN; r++) {
                    widen(src.segment(), src.dtype(), cs.next(), ss, n, x, 0);
                    SoftmaxRows.softmaxRow(x, 0, y, 0, n, log);
                    narrow(y, 0, n, dst.segment(), dst.dtype(), cd.next(), sd);
                }
                return;
            }
            int len = Math.toIntExact(sl.shape().dim(dim));
            long block = (long) len * n;
            MemorySegment x = scratch(arena, block), y = scratch(arena, block);
            float[] mx = new float[n], sm = new float[n];
            StridedCursor cs = new StridedCursor(rows(sl.select(dim, 0))),
                    cd = new StridedCursor(rows(dl.select(dim, 0)));
            for (long g = 0, groups = sl.numel() / block; g < groups; g++) {
                long so = cs.next(), dO = cd.next();
                for (int j = 0; j < len; j++)
                    widen(src.segment(), src.dtype(), so + j * sl.stride(dim), ss, n, x, (long) j * n);
                SoftmaxRows.softmaxColumns(x, 0, n, y, 0, n, len, n, log, mx, sm);
                for (int j = 0; j < len; j++)
                    narrow(y, (long) j * n, n, dst.segment(), dst.dtype(), dO + j * dl.stride(dim), sd);
            }
        }
    }

    /** Layer norm ({@code rms = false}) or RMS norm over the last dim; weight and bias (1-D, any stride) may be null. */
    static void norm(
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
        int n = rowLength(xl);
        if (n == 0 || xl.numel() == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = scratch(arena, n), ys = scratch(arena, n);
            MemorySegment ws = w == null ? null : scratch(arena, n), bs = b == null ? null : scratch(arena, n);
            if (w != null) widen(w.segment(), w.dtype(), wl.offset(), wl.stride(0), n, ws, 0);
            if (b != null) widen(b.segment(), b.dtype(), bl.offset(), bl.stride(0), n, bs, 0);
            StridedCursor cx = new StridedCursor(rows(xl)), cd = new StridedCursor(rows(dl));
            long sx = lastStride(xl), sd = lastStride(dl);
            for (long r = 0, rowsN = xl.numel() / n; r < rowsN; r++) {
                widen(x.segment(), x.dtype(), cx.next(), sx, n, xs, 0);
                FloatKernels.normRow(xs, 0, ws, 0, bs, 0, (float) eps, ys, 0, n, rms);
                narrow(ys, 0, n, dst.segment(), dst.dtype(), cd.next(), sd);
            }
        }
    }

    /** dst = src converted between F32, BF16 and F16 (or copied within one), a row at a time through F32. */
    static void convert(Storage src, Layout sl, Storage dst, Layout dl) {
        Layout s1 = atLeast1(sl), d1 = atLeast1(dl);
        int n = rowLength(s1);
        if (n == 0 || s1.numel() == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = scratch(arena, n);
            StridedCursor cs = new StridedCursor(rows(s1)), cd = new StridedCursor(rows(d1));
            long ss = lastStride(s1), sd = lastStride(d1);
            for (long r = 0, rowsN = s1.numel() / n; r < rowsN; r++) {
                widen(src.segment(), src.dtype(), cs.next(), ss, n, x, 0);
                narrow(x, 0, n, dst.segment(), dst.dtype(), cd.next(), sd);
            }
        }
    }

    /** True when {@code t} is one of the dtypes these paths compute in F32. */
    static boolean serves(DType... t) {
        return FloatRows.computedInF32(t);
    }
}
