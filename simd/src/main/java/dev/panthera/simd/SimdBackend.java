package dev.panthera.simd;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.FusedKernels;
import dev.panthera.tensor.spi.PackedOperand;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The Vector API backend. What it serves itself, for every layout (strided, transposed, broadcast, offset views,
 * rank 0 and size-0 dims), is listed by {@link #claims}; everything else goes to one {@link #fallback()} backend (the
 * reference), so this backend is never wrong where it is not fast.
 * <ul>
 *   <li>F32, BF16 and F16 (all computed in F32, 16-bit results rounded to nearest even on store): unary and binary
 *       ops (comparisons into BOOL), reductions (SUM/MAX/MIN over any dims, ARGMAX/ARGMIN into I64), softmax and
 *       log-softmax along any dim, layer and RMS norm, matmul (F32 activations × BF16/F16 weights included, the
 *       weights widened in registers), RoPE and attention. Dense F32 rows run straight on {@link FloatKernels},
 *       {@link IndexKernels}, {@link Sgemm} and {@link AttentionKernels}; other dtypes and layouts are widened a row,
 *       block or head at a time ({@link WidenedOps}, {@link Matmuls}, {@link WidenedAttention}).</li>
 *   <li>Copies within one dtype and between F32, BF16 and F16, index-selects and gathers of every dtype (I32/I64
 *       indices) along any dim, and {@code where} (BOOL condition) of every dtype: row copies or vector blends where
 *       rows are dense, element copies otherwise.</li>
 *   <li>Fills of every dtype and layout; index-adds and scatter-adds of F32, BF16 and F16 along any dim (vector rows
 *       where rows are dense F32, rows widened through F32 or element loops otherwise).</li>
 *   <li>Partly, by layout: conversions between F32 and F64 with dense last dims.</li>
 * </ul>
 * I32 and I64 unary ops that keep integers, binary ops (not DIV or POW, which have float results) and reductions
 * run on {@link IntOps}.
 * F64 arithmetic is left to the reference, which computes in double.
 */
public final class SimdBackend implements Backend, FusedKernels {
    private final Backend fallback;
    private final FusedKernels fallbackFused;
    private final SimdFused fused = new SimdFused(this);

    /** The backend, with the reference backend for what it does not serve. */
    public SimdBackend() {
        this(ReferenceBackend.INSTANCE);
    }

    /** The backend with {@code fallback} for what it does not serve (tests pass a counting one). */
    SimdBackend(Backend fallback) {
        this.fallback = java.util.Objects.requireNonNull(fallback, "simd backend: fallback");
        FusedKernels f = fallback.fused();
        this.fallbackFused = f != null ? f : ReferenceBackend.INSTANCE;
    }

    /** This backend's forward kernels below plus the training kernels of {@link SimdFused}. */
    @Override
    public FusedKernels fused() {
        return fused;
    }

    /** On GEMM's threads, as {@link Sgemm#parallelRanges} runs its loops (one index per unit of alignment). */
    @Override
    public void parallelRanges(int total, long work, Range body) {
        Sgemm.parallelRanges(total, work, 1, body::run);
    }

    /** Where every op this backend does not serve goes. */
    Backend fallback() {
        return fallback;
    }

    /** Where every fused kernel call this backend does not serve goes: the fallback's fused kernels. */
    FusedKernels fallbackFused() {
        return fallbackFused;
    }

    /**
     * Whether this backend serves the SPI method {@code op} (its Java name) for storages of these dtypes, in argument
     * order, whatever their layouts: the float ops above for F32/BF16/F16 operands (a BOOL or I64 destination where
     * the op writes one), and the integer ops of {@link IntOps} (binary ops other than DIV and POW).
     */
    static boolean claims(String op, DType... dtypes) {
        return switch (op) {
            case "unary", "binary", "reduce", "matmul", "softmax", "layerNorm", "rmsNorm", "rope", "attention" ->
                floatClaim(dtypes) || IntOps.claims(op, dtypes);
            case "copy" -> dtypes.length == 2 && (dtypes[0] == dtypes[1] || FloatRows.computedInF32(dtypes));
            case "where" ->
                dtypes.length == 4 && dtypes[0] == DType.BOOL && dtypes[1] == dtypes[3] && dtypes[2] == dtypes[3];
            case "fill" -> true;
            case "indexAdd", "scatterAdd" ->
                dtypes.length == 3
                        && FloatRows.computedInF32(dtypes[0])
                        && dtypes[2] == dtypes[0]
                        && (dtypes[1] == DType.I32 || dtypes[1] == DType.I64);
            case "indexSelect", "gather" ->
                dtypes.length == 3 && dtypes[0] == dtypes[2] && (dtypes[1] == DType.I32 || dtypes[1] == DType.I64);
            default -> false;
        };
    }

    private static boolean floatClaim(DType... dtypes) {
        boolean anyFloat = false;
        for (DType t : dtypes) {
            if (t.isFloatingPoint()) {
                if (!FloatRows.computedInF32(t)) return false;
                anyFloat = true;
            } else if (t != DType.BOOL && t != DType.I64) {
                return false;
            }
        }
        return anyFloat;
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

    @Override
    public Storage allocateGcManaged(DType dtype, long numel) {
        return Storage.gcManaged(dtype, numel);
    }

    @Override
    public Storage allocateUninitialized(DType dtype, long numel, MemoryPool.Allocation allocation) {
        return Storage.pooledUninitialized(dtype, numel, allocation);
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
        if (src.dtype() == dst.dtype()) IndexOps.copyElements(src, sl, dst, dl); // bits moved, NaN payloads kept
        else if (WidenedOps.serves(src.dtype(), dst.dtype())) WidenedOps.convert(src, sl, dst, dl);
        else fallback.copy(src, sl, dst, dl);
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
        if (dl.numel() == 0) return;
        if (!dense && lastStride(dl) != 1) { // the first element converted as the reference does, its bytes copied
            StridedCursor c = new StridedCursor(dl);
            long first = c.next(), w = t.byteSize();
            dev.panthera.tensor.spi.Elements.set(dst.segment(), t, first, value);
            for (long k = 1, n = dl.numel(); k < n; k++)
                MemorySegment.copy(dst.segment(), first * w, dst.segment(), c.next() * w, w);
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
        if (!f32(src, dst) || sl.rank() == 0 || lastStride(sl) != 1 || lastStride(dl) != 1) {
            if (WidenedOps.serves(src.dtype(), dst.dtype())) WidenedOps.unary(op, src, sl, dst, dl);
            else if (!op.needsFloat() && IntOps.claims("unary", src.dtype(), dst.dtype()))
                IntOps.unary(op, src, sl, dst, dl);
            else fallback.unary(op, src, sl, dst, dl);
            return;
        }
        int n = rowLength(sl);
        MemorySegment s = src.segment(), d = dst.segment();
        // about 20 flops an element for the transcendental ops (GELU's erfc, exp, tanh) that make a split pay
        RowLoop.run(
                n == 0 ? 0 : sl.numel() / n,
                20L * n,
                rows(sl),
                rows(dl),
                new MemorySegment[] {s, d},
                (so, dO) -> FloatKernels.unaryRow(op, s, so, d, dO, n));
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
        if (op.isComparison() || !f32(a, b, dst) || !rowsOk) {
            boolean floats = WidenedOps.serves(a.dtype(), b.dtype())
                    && (op.isComparison() ? dst.dtype() == DType.BOOL : WidenedOps.serves(dst.dtype()));
            if (floats) WidenedOps.binary(op, a, al, b, bl, dst, dl);
            else if (IntOps.serves(op) && IntOps.claims("binary", a.dtype(), b.dtype(), dst.dtype()))
                IntOps.binary(op, a, al, b, bl, dst, dl);
            else fallback.binary(op, a, al, b, bl, dst, dl);
            return;
        }
        BinaryRowLoop.run(
                op,
                a.segment(),
                rows(al),
                (int) sa,
                b.segment(),
                rows(bl),
                (int) sb,
                dst.segment(),
                rows(dl),
                rowLength(dl));
    }

    @Override
    public void reduce(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
        if (sl.rank() == 0 || lastStride(sl) != 1 || !f32(src)) {
            reduceWidened(op, src, sl, dims, dst, dl);
            return;
        }
        int last = sl.rank() - 1;
        boolean lastOnly = dims.length == 1 && dims[0] == last;
        boolean keepsLast = true;
        for (int d : dims) if (d == last) keepsLast = false;
        boolean elementwise = op == ReduceOp.SUM || op == ReduceOp.MAX || op == ReduceOp.MIN;
        if (elementwise && keepsLast && last >= 0 && f32(src, dst) && lastStride(sl) == 1 && dl.isContiguous()) {
            DenseReductions.leading(op, src, sl, dims, dst, dl);
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
            DenseReductions.acrossRows(op, src, sl, dims, dst, dl);
            return;
        }
        if (!lastOnly
                || !f32(src, dst)
                || lastStride(sl) != 1
                || (op != ReduceOp.SUM && op != ReduceOp.MAX && op != ReduceOp.MIN)) {
            reduceWidened(op, src, sl, dims, dst, dl);
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

    private void reduceWidened(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
        boolean arg = op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN;
        if (WidenedOps.serves(src.dtype()) && (arg ? dst.dtype() == DType.I64 : WidenedOps.serves(dst.dtype())))
            WidenedOps.reduce(op, src, sl, dims, dst, dl);
        else if (IntOps.claims("reduce", src.dtype(), dst.dtype())) IntOps.reduce(op, src, sl, dims, dst, dl);
        else fallback.reduce(op, src, sl, dims, dst, dl);
    }

    @Override
    public void matmul(Storage a, Layout al, Storage b, Layout bl, Storage dst, Layout dl) {
        if (WidenedOps.serves(a.dtype(), b.dtype(), dst.dtype())) Matmuls.matmul(a, al, b, bl, dst, dl);
        else fallback.matmul(a, al, b, bl, dst, dl);
    }

    /** The GEMM panels of a constant weight, read by {@link #matmul} for M ≥ 8 ({@link PackedPanels}). */
    @Override
    public PackedOperand packMatmulOperand(Storage b, Layout layout) {
        return Matmuls.pack(b, layout);
    }

    @Override
    public void softmax(Storage src, Layout sl, int dim, boolean log, Storage dst, Layout dl) {
        if (dim != sl.rank() - 1 && f32(src, dst) && lastStride(sl) == 1 && lastStride(dl) == 1 && sl.numel() > 0) {
            // along a leading dim: the rows that differ only in that index, a vector of columns at a time
            int n = rowLength(sl), len = Math.toIntExact(sl.shape().dim(dim));
            float[] mx = new float[n], sm = new float[n];
            StridedCursor cs = new StridedCursor(rows(sl.select(dim, 0))),
                    cd = new StridedCursor(rows(dl.select(dim, 0)));
            for (long g = 0, groups = sl.numel() / ((long) n * len); g < groups; g++) {
                SoftmaxRows.softmaxColumns(
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
            if (WidenedOps.serves(src.dtype(), dst.dtype())) WidenedOps.softmax(src, sl, dim, log, dst, dl);
            else fallbackFused.softmax(src, sl, dim, log, dst, dl);
            return;
        }
        int n = rowLength(sl);
        MemorySegment s = src.segment(), d = dst.segment();
        // a max pass, an exp-and-sum pass and a scaling pass over the row: about 20 flops an element with the exp;
        // the rows (a language model's [tokens, vocab] logits) split over GEMM's threads as the unary ops' do
        RowLoop.run(
                n == 0 ? 0 : sl.numel() / n,
                20L * n,
                rows(sl),
                rows(dl),
                new MemorySegment[] {s, d},
                (so, dO) -> SoftmaxRows.softmaxRow(s, so, d, dO, n, log));
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
        boolean ok = f32(x, dst)
                && lastStride(xl) == 1
                && lastStride(dl) == 1
                && (w == null || (w.dtype() == DType.F32 && wl.stride(0) == 1))
                && (b == null || (b.dtype() == DType.F32 && bl.stride(0) == 1));
        if (!ok
                && WidenedOps.serves(x.dtype(), dst.dtype())
                && (w == null || WidenedOps.serves(w.dtype()))
                && (b == null || WidenedOps.serves(b.dtype()))) {
            WidenedOps.norm(x, xl, w, wl, b, bl, eps, dst, dl, rms);
            return;
        }
        if (!ok) {
            if (rms) fallbackFused.rmsNorm(x, xl, w, wl, eps, dst, dl);
            else fallbackFused.layerNorm(x, xl, w, wl, b, bl, eps, dst, dl);
            return;
        }
        int n = rowLength(xl);
        MemorySegment xs = x.segment(), ds = dst.segment();
        MemorySegment ws = w == null ? null : w.segment(), bs = b == null ? null : b.segment();
        long wo = w == null ? 0 : wl.offset(), bo = b == null ? 0 : bl.offset();
        float e = (float) eps;
        // three passes over the row (sum, squared deviations, normalise): about 8 flops an element
        RowLoop.run(
                n == 0 ? 0 : xl.numel() / n,
                8L * n,
                rows(xl),
                rows(dl),
                new MemorySegment[] {xs, ds, ws, bs},
                (xo, dO) -> FloatKernels.normRow(xs, xo, ws, wo, bs, bo, e, ds, dO, n, rms));
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
            if (WidenedOps.serves(x.dtype(), cos.dtype(), sin.dtype(), dst.dtype()))
                WidenedAttention.rope(x, xl, cos, cl, sin, sl, interleaved, dst, dl);
            else fallbackFused.rope(x, xl, cos, cl, sin, sl, interleaved, dst, dl);
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
        attention(q, ql, k, kl, v, vl, causal, scale, dst, dl, null);
    }

    /**
     * {@link #attention}, also writing each query row's log-sum-exp into {@code lse} (F32 rows, may be null) where
     * the kernel that computes the output has it; returns whether it did (false: the caller computes it).
     */
    boolean attention(
            Storage q,
            Layout ql,
            Storage k,
            Layout kl,
            Storage v,
            Layout vl,
            boolean causal,
            double scale,
            Storage dst,
            Layout dl,
            FusedGradKernels.Rows lse) {
        if (DecodeAttention.halfKvDecode(q, ql, k, kl, v, vl, null, (float) scale, dst, dl)) return false;
        if (!f32(q, k, v, dst)
                || lastStride(ql) != 1
                || lastStride(kl) != 1
                || lastStride(vl) != 1
                || lastStride(dl) != 1) {
            if (WidenedOps.serves(q.dtype(), k.dtype(), v.dtype(), dst.dtype()))
                WidenedAttention.attention(q, ql, k, kl, v, vl, null, causal, scale, dst, dl);
            else fallbackFused.attention(q, ql, k, kl, v, vl, causal, scale, dst, dl);
            return false;
        }
        return AttentionKernels.attention(
                view(q, ql),
                view(k, kl),
                view(v, vl),
                null,
                lse,
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

    @Override
    public void indexSelect(Storage s, Layout sl, int dim, Storage i, Layout il, Storage d, Layout dl) {
        IndexOps.indexSelect(fallback, s, sl, dim, i, il, d, dl);
    }

    @Override
    public void indexAdd(Storage d, Layout dl, int dim, Storage i, Layout il, Storage s, Layout sl) {
        IndexOps.indexAdd(fallback, d, dl, dim, i, il, s, sl);
    }

    @Override
    public void gather(Storage s, Layout sl, int dim, Storage i, Layout il, Storage d, Layout dl) {
        IndexOps.gather(fallback, s, sl, dim, i, il, d, dl);
    }

    @Override
    public void scatterAdd(Storage d, Layout dl, int dim, Storage i, Layout il, Storage s, Layout sl) {
        IndexOps.scatterAdd(fallback, d, dl, dim, i, il, s, sl);
    }

    @Override
    public void where(Storage c, Layout cl, Storage a, Layout al, Storage b, Layout bl, Storage d, Layout dl) {
        IndexOps.where(fallback, c, cl, a, al, b, bl, d, dl);
    }
}
