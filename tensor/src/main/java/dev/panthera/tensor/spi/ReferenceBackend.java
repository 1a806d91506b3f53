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
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The scalar oracle: every kernel is a plain loop over strided elements that computes in double precision and
 * rounds once on store. Slow on purpose-free code paths, and the standard every other backend is tested against.
 */
public final class ReferenceBackend implements Backend, FusedKernels {
    /** The single instance. */
    public static final ReferenceBackend INSTANCE = new ReferenceBackend();

    private ReferenceBackend() {}

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public Storage allocate(DType dtype, long numel, Arena owner) {
        return Storage.allocate(dtype, numel, owner);
    }

    @Override
    public Storage allocateGcManaged(DType dtype, long numel) {
        return Storage.gcManaged(dtype, numel);
    }

    @Override
    public Storage allocateUninitialized(DType dtype, long numel, MemoryPool.Allocation allocation) {
        return Storage.pooledUninitialized(dtype, numel, allocation);
    }

    @Override
    public void copy(Storage src, Layout sl, Storage dst, Layout dl) {
        MemorySegment s = src.segment(), d = dst.segment();
        DType st = src.dtype(), dt = dst.dtype();
        StridedCursor cs = new StridedCursor(sl), cd = new StridedCursor(dl);
        long n = sl.numel();
        boolean integral = !st.isFloatingPoint(); // integer sources convert from their exact long value
        for (long i = 0; i < n; i++) {
            long si = cs.next(), di = cd.next();
            if (st == dt) {
                MemorySegment.copy(s, si * st.byteSize(), d, di * dt.byteSize(), st.byteSize());
            } else if (integral) {
                Elements.setLong(d, dt, di, Elements.getLong(s, st, si));
            } else {
                Elements.set(d, dt, di, Elements.get(s, st, si));
            }
        }
    }

    @Override
    public void fill(Storage dst, Layout dl, double value) {
        StridedCursor c = new StridedCursor(dl);
        for (long i = 0, n = dl.numel(); i < n; i++) Elements.set(dst.segment(), dst.dtype(), c.next(), value);
    }

    @Override
    public void unary(UnaryOp op, Storage src, Layout sl, Storage dst, Layout dl) {
        StridedCursor cs = new StridedCursor(sl), cd = new StridedCursor(dl);
        MemorySegment s = src.segment(), d = dst.segment();
        boolean exactLong = !src.dtype().isFloatingPoint() && !op.needsFloat(); // neg/abs/relu/sign of integers
        for (long i = 0, n = sl.numel(); i < n; i++) {
            if (exactLong) {
                Elements.setLong(
                        d, dst.dtype(), cd.next(), Scalars.unaryLong(op, Elements.getLong(s, src.dtype(), cs.next())));
                continue;
            }
            double x = Elements.get(s, src.dtype(), cs.next());
            Elements.set(d, dst.dtype(), cd.next(), Scalars.unary(op, x));
        }
    }

    @Override
    public void binary(BinaryOp op, Storage a, Layout al, Storage b, Layout bl, Storage dst, Layout dl) {
        StridedCursor ca = new StridedCursor(al), cb = new StridedCursor(bl), cd = new StridedCursor(dl);
        DType t = a.dtype();
        // integers (and BOOL comparisons) exactly in 64 bits, wrapping on store like Java's narrowing casts
        boolean exactLong = !t.isFloatingPoint() && op != BinaryOp.DIV && op != BinaryOp.POW;
        for (long i = 0, n = dl.numel(); i < n; i++) {
            long ia = ca.next(), ib = cb.next(), id = cd.next();
            if (exactLong) {
                long x = Elements.getLong(a.segment(), t, ia), y = Elements.getLong(b.segment(), t, ib);
                Elements.setLong(dst.segment(), dst.dtype(), id, Scalars.binaryLong(op, x, y));
            } else {
                double x = Elements.get(a.segment(), t, ia), y = Elements.get(b.segment(), b.dtype(), ib);
                Elements.set(dst.segment(), dst.dtype(), id, Scalars.binary(op, x, y));
            }
        }
    }

    @Override
    public void reduce(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
        if (!src.dtype().isFloatingPoint()) {
            reduceExact(op, src, sl, dims, dst, dl);
            return;
        }
        Shape shape = sl.shape();
        long outN = dl.numel();
        MemorySegment s = src.segment(), d = dst.segment();
        double[] acc = new double[Math.toIntExact(outN)];
        long[] arg = new long[acc.length];
        java.util.Arrays.fill(
                acc,
                switch (op) {
                    case SUM -> 0.0;
                    case MAX, ARGMAX -> Double.NEGATIVE_INFINITY;
                    case MIN, ARGMIN -> Double.POSITIVE_INFINITY;
                });
        java.util.Arrays.fill(arg, -1);
        // ct maps each source element to the ordinal of its output (row-major over dl's shape)
        StridedCursor cs = new StridedCursor(sl);
        StridedCursor ct = new StridedCursor(new Layout(shape, compactStrides(dl, dims), 0));
        int argDim = dims.length == 1 ? dims[0] : -1;
        for (long i = 0, n = sl.numel(); i < n; i++) {
            double x = Elements.get(s, src.dtype(), cs.next());
            int o = (int) ct.next();
            switch (op) {
                case SUM -> acc[o] += x;
                case MAX -> acc[o] = Double.isNaN(acc[o]) || Double.isNaN(x) ? Double.NaN : Math.max(acc[o], x);
                case MIN -> acc[o] = Double.isNaN(acc[o]) || Double.isNaN(x) ? Double.NaN : Math.min(acc[o], x);
                case ARGMAX, ARGMIN -> {
                    boolean better = arg[o] < 0
                            || (!Double.isNaN(acc[o])
                                    && (Double.isNaN(x) || (op == ReduceOp.ARGMAX ? x > acc[o] : x < acc[o])));
                    if (better) {
                        acc[o] = x;
                        arg[o] = cs.position(argDim);
                    }
                }
            }
        }
        StridedCursor cd = new StridedCursor(dl);
        for (int o = 0; o < acc.length; o++) {
            long di = cd.next();
            if (op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN) Elements.setLong(d, dst.dtype(), di, arg[o]);
            else Elements.set(d, dst.dtype(), di, acc[o]);
        }
    }

    /** Integer reductions in exact 64-bit arithmetic (a double accumulator loses integers past 2^53). */
    private static void reduceExact(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
        long[] acc = new long[Math.toIntExact(dl.numel())];
        long[] arg = new long[acc.length];
        java.util.Arrays.fill(
                acc,
                switch (op) {
                    case SUM -> 0L;
                    case MAX, ARGMAX -> Long.MIN_VALUE;
                    case MIN, ARGMIN -> Long.MAX_VALUE;
                });
        java.util.Arrays.fill(arg, -1);
        StridedCursor cs = new StridedCursor(sl);
        StridedCursor ct = new StridedCursor(new Layout(sl.shape(), compactStrides(dl, dims), 0));
        int argDim = dims.length == 1 ? dims[0] : -1;
        for (long i = 0, n = sl.numel(); i < n; i++) {
            long x = Elements.getLong(src.segment(), src.dtype(), cs.next());
            int o = (int) ct.next();
            switch (op) {
                case SUM -> acc[o] += x;
                case MAX -> acc[o] = Math.max(acc[o], x);
                case MIN -> acc[o] = Math.min(acc[o], x);
                case ARGMAX, ARGMIN -> {
                    if (arg[o] < 0 || (op == ReduceOp.ARGMAX ? x > acc[o] : x < acc[o])) {
                        acc[o] = x;
                        arg[o] = cs.position(argDim);
                    }
                }
            }
        }
        StridedCursor cd = new StridedCursor(dl);
        boolean isArg = op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN;
        for (int o = 0; o < acc.length; o++)
            Elements.setLong(dst.segment(), dst.dtype(), cd.next(), isArg ? arg[o] : acc[o]);
    }

    /** Row-major strides of dl's shape with the reduced dims zeroed: maps a source position to an output ordinal. */
    private static long[] compactStrides(Layout dl, int[] dims) {
        Shape out = dl.shape();
        long[] s = new long[out.rank()];
        long acc = 1;
        for (int i = s.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= out.dim(i);
        }
        for (int d : dims) s[d] = 0;
        return s;
    }

    @Override
    public void matmul(Storage a, Layout al, Storage b, Layout bl, Storage dst, Layout dl) {
        int r = al.rank();
        long m = al.shape().dim(r - 2),
                k = al.shape().dim(r - 1),
                n = bl.shape().dim(r - 1);
        long sam = al.stride(r - 2), sak = al.stride(r - 1), sbk = bl.stride(r - 2), sbn = bl.stride(r - 1);
        long sdm = dl.stride(r - 2), sdn = dl.stride(r - 1);
        StridedCursor ca = new StridedCursor(batchOf(al)),
                cb = new StridedCursor(batchOf(bl)),
                cd = new StridedCursor(batchOf(dl));
        long batches = batchOf(dl).numel();
        DType t = a.dtype();
        for (long bt = 0; bt < batches; bt++) {
            long ao = ca.next(), bo = cb.next(), dO = cd.next();
            for (long i = 0; i < m; i++) {
                for (long j = 0; j < n; j++) {
                    double sum = 0;
                    for (long p = 0; p < k; p++) {
                        sum += Elements.get(a.segment(), t, ao + i * sam + p * sak)
                                * Elements.get(b.segment(), b.dtype(), bo + p * sbk + j * sbn);
                    }
                    Elements.set(dst.segment(), dst.dtype(), dO + i * sdm + j * sdn, sum);
                }
            }
        }
    }

    /** The layout of the batch dims only (all but the last two), keeping the offset. */
    static Layout batchOf(Layout l) {
        return l.leading(l.rank() - 2);
    }

    /** The layout of all rows of {@code dim}: that dim set to size 1, so each element is the start of one row. */
    static Layout rowsOf(Layout l, int dim) {
        long[] d = l.shape().toArray();
        d[dim] = 1;
        return new Layout(Shape.of(d), l.strides(), l.offset());
    }

    @Override
    public FusedKernels fused() {
        return this;
    }

    /** Every kernel for every float dtype: this backend is the oracle the others are tested against. */
    @Override
    public boolean supports(Kernel kernel, DType dtype) {
        return dtype.isFloatingPoint();
    }

    /** The product, then the bias add, the residual add and the unary op, each this backend's primitive in place. */
    @Override
    public void matmulAdd(
            Storage a,
            Layout al,
            Storage b,
            Layout bl,
            Storage bias,
            Layout biasl,
            Storage res,
            Layout resl,
            UnaryOp act,
            Storage dst,
            Layout dl) {
        matmul(a, al, b, bl, dst, dl);
        if (bias != null) binary(BinaryOp.ADD, dst, dl, bias, biasl.expand("matmulAdd", dl.shape()), dst, dl);
        if (res != null) binary(BinaryOp.ADD, dst, dl, res, resl, dst, dl);
        if (act != null) unary(act, dst, dl, dst, dl);
    }

    @Override
    public void softmax(Storage src, Layout sl, int dim, boolean log, Storage dst, Layout dl) {
        ReferenceFused.softmax(src, sl, dim, log, dst, dl);
    }

    @Override
    public void layerNorm(
            Storage x, Layout xl, Storage w, Layout wl, Storage b, Layout bl, double eps, Storage dst, Layout dl) {
        ReferenceFused.norm(x, xl, w, wl, b, bl, eps, dst, dl, false);
    }

    @Override
    public void rmsNorm(Storage x, Layout xl, Storage w, Layout wl, double eps, Storage dst, Layout dl) {
        ReferenceFused.norm(x, xl, w, wl, null, null, eps, dst, dl, true);
    }

    @Override
    public void softmaxBackward(
            Storage out, Layout ol, Storage g, Layout gl, int dim, boolean log, Storage dx, Layout dxl) {
        ReferenceFused.softmaxBackward(out, ol, g, gl, dim, log, dx, dxl);
    }

    @Override
    public void siluBackward(Storage x, Layout xl, Storage g, Layout gl, Storage dx, Layout dxl) {
        ReferenceFused.siluBackward(x, xl, g, gl, dx, dxl);
    }

    @Override
    public void normBackward(
            Storage x,
            Layout xl,
            Storage w,
            Layout wl,
            Storage dy,
            Layout dyl,
            double eps,
            boolean rms,
            Storage dx,
            Layout dxl,
            Storage dw,
            Layout dwl,
            Storage db,
            Layout dbl) {
        ReferenceFused.normBackward(x, xl, w, wl, dy, dyl, eps, rms, dx, dxl, dw, dwl, db, dbl);
    }

    private static long indexAt(Storage index, long at, long bound, String op) {
        long v = Elements.getLong(index.segment(), index.dtype(), at);
        if (v < 0 || v >= bound)
            throw new IndexOutOfBoundsException(
                    op + ": index " + v + " is out of bounds for dimension of size " + bound);
        return v;
    }

    @Override
    public void indexSelect(Storage src, Layout sl, int dim, Storage index, Layout il, Storage dst, Layout dl) {
        long bound = sl.shape().dim(dim), sstride = sl.stride(dim);
        long[] picked = new long[Math.toIntExact(il.numel())];
        StridedCursor ci = new StridedCursor(il);
        for (int i = 0; i < picked.length; i++) picked[i] = indexAt(index, ci.next(), bound, "indexSelect");
        // walk dst; the source element shares every coordinate except dim
        Layout srcAtZero = new Layout(dl.shape(), withStride(sl.strides(), dim, 0), sl.offset());
        StridedCursor cs = new StridedCursor(srcAtZero), cd = new StridedCursor(dl);
        for (long i = 0, n = dl.numel(); i < n; i++) {
            long s0 = cs.next(), di = cd.next();
            long si = s0 + picked[(int) cd.position(dim)] * sstride;
            copyElement(src, si, dst, di);
        }
    }

    @Override
    public void indexAdd(Storage dst, Layout dl, int dim, Storage index, Layout il, Storage src, Layout sl) {
        long bound = dl.shape().dim(dim), dstride = dl.stride(dim);
        long[] picked = new long[Math.toIntExact(il.numel())];
        StridedCursor ci = new StridedCursor(il);
        for (int i = 0; i < picked.length; i++) picked[i] = indexAt(index, ci.next(), bound, "indexAdd");
        Layout dstAtZero = new Layout(sl.shape(), withStride(dl.strides(), dim, 0), dl.offset());
        StridedCursor cd = new StridedCursor(dstAtZero), cs = new StridedCursor(sl);
        for (long i = 0, n = sl.numel(); i < n; i++) {
            long d0 = cd.next(), si = cs.next();
            long di = d0 + picked[(int) cs.position(dim)] * dstride;
            addElement(src, si, dst, di);
        }
    }

    @Override
    public void gather(Storage src, Layout sl, int dim, Storage index, Layout il, Storage dst, Layout dl) {
        long bound = sl.shape().dim(dim), sstride = sl.stride(dim);
        Layout srcAtZero = new Layout(il.shape(), withStride(sl.strides(), dim, 0), sl.offset());
        StridedCursor cs = new StridedCursor(srcAtZero), ci = new StridedCursor(il), cd = new StridedCursor(dl);
        for (long i = 0, n = il.numel(); i < n; i++) {
            long s0 = cs.next(), ii = ci.next(), di = cd.next();
            copyElement(src, s0 + indexAt(index, ii, bound, "gather") * sstride, dst, di);
        }
    }

    @Override
    public void scatterAdd(Storage dst, Layout dl, int dim, Storage index, Layout il, Storage src, Layout sl) {
        long bound = dl.shape().dim(dim), dstride = dl.stride(dim);
        Layout dstAtZero = new Layout(il.shape(), withStride(dl.strides(), dim, 0), dl.offset());
        StridedCursor cd = new StridedCursor(dstAtZero), ci = new StridedCursor(il), cs = new StridedCursor(sl);
        for (long i = 0, n = il.numel(); i < n; i++) {
            long d0 = cd.next(), ii = ci.next(), si = cs.next();
            addElement(src, si, dst, d0 + indexAt(index, ii, bound, "scatterAdd") * dstride);
        }
    }

    @Override
    public void where(Storage c, Layout cl, Storage a, Layout al, Storage b, Layout bl, Storage dst, Layout dl) {
        StridedCursor cc = new StridedCursor(cl),
                ca = new StridedCursor(al),
                cb = new StridedCursor(bl),
                cd = new StridedCursor(dl);
        for (long i = 0, n = dl.numel(); i < n; i++) {
            long ic = cc.next(), ia = ca.next(), ib = cb.next(), id = cd.next();
            boolean take = Elements.getLong(c.segment(), c.dtype(), ic) != 0;
            if (take) copyElement(a, ia, dst, id);
            else copyElement(b, ib, dst, id);
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
        ReferenceFused.rope(x, xl, cos, cl, sin, sl, interleaved, dst, dl);
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
        ReferenceFused.attention(q, ql, k, kl, v, vl, null, null, causal, scale, dst, dl, null, null);
    }

    @Override
    public void attention(
            Storage q,
            Layout ql,
            Storage k,
            Layout kl,
            Storage v,
            Layout vl,
            Storage mask,
            Layout ml,
            boolean causal,
            double scale,
            Storage dst,
            Layout dl,
            Storage lse,
            Layout lsel) {
        ReferenceFused.attention(q, ql, k, kl, v, vl, mask, ml, causal, scale, dst, dl, lse, lsel);
    }

    @Override
    public void attentionBackward(
            Storage q,
            Layout ql,
            Storage k,
            Layout kl,
            Storage v,
            Layout vl,
            Storage mask,
            Layout ml,
            boolean causal,
            double scale,
            Storage out,
            Layout ol,
            Storage lse,
            Layout lsel,
            Storage dOut,
            Layout dol,
            Storage dq,
            Layout dql,
            Storage dk,
            Layout dkl,
            Storage dv,
            Layout dvl) {
        ReferenceFused.attentionBackward(
                q, ql, k, kl, v, vl, mask, ml, causal, scale, out, ol, lse, lsel, dOut, dol, dq, dql, dk, dkl, dv, dvl);
    }

    private static long[] withStride(long[] strides, int dim, long value) {
        strides[dim] = value;
        return strides;
    }

    private static void copyElement(Storage src, long si, Storage dst, long di) {
        int w = src.dtype().byteSize();
        MemorySegment.copy(src.segment(), si * w, dst.segment(), di * w, w);
    }

    private static void addElement(Storage src, long si, Storage dst, long di) {
        DType t = dst.dtype();
        if (t.isFloatingPoint()) {
            Elements.set(
                    dst.segment(),
                    t,
                    di,
                    Elements.get(dst.segment(), t, di) + Elements.get(src.segment(), src.dtype(), si));
        } else {
            Elements.setLong(
                    dst.segment(),
                    t,
                    di,
                    Elements.getLong(dst.segment(), t, di) + Elements.getLong(src.segment(), src.dtype(), si));
        }
    }
}
