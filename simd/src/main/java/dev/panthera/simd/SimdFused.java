package dev.panthera.simd;

import dev.panthera.simd.AttentionKernels.View4;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.spi.FusedKernels;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The SIMD backend's fused kernels: its own forward kernels (softmax, the norms, RoPE, attention) and, for F32,
 * attention with a mask and log-sum-exp, the attention backward and the norm backward on {@link FusedGradKernels}.
 * Views whose innermost stride is not 1 go to the backend's fallback (the reference), so these are never wrong where
 * not fast.
 */
final class SimdFused implements FusedKernels {
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final SimdBackend simd;

    SimdFused(SimdBackend simd) {
        this.simd = simd;
    }

    @Override
    public boolean supports(Kernel kernel, DType dtype) {
        return switch (kernel) {
            case SOFTMAX, LAYER_NORM, RMS_NORM, ROPE, ATTENTION -> dtype.isFloatingPoint();
            case ATTENTION_MASK_LSE,
                    ATTENTION_HALF_KV,
                    ATTENTION_BACKWARD,
                    NORM_BACKWARD,
                    SILU_BACKWARD,
                    SOFTMAX_BACKWARD,
                    MATMUL_ADD,
                    ADAMW -> dtype == DType.F32;
        };
    }

    /** {@link AdamWLanes}, in chunks on GEMM's threads. */
    @Override
    public void adamw(
            Storage p, long pAt, Storage g, long gAt, Storage m, long mAt, Storage v, long vAt, long n, AdamWStep s) {
        AdamWLanes.step(slice(p, pAt, n), slice(g, gAt, n), slice(m, mAt, n), slice(v, vAt, n), n, s);
    }

    /** n F32 elements of {@code s} from element {@code at}, checked against its segment. */
    private static MemorySegment slice(Storage s, long at, long n) {
        if (s.dtype() != DType.F32) throw new IllegalArgumentException("adamw: expected F32 storage, got " + s.dtype());
        return s.segment().asSlice(at * Float.BYTES, n * Float.BYTES);
    }

    /** The product through {@link Matmuls} with the bias and residual as its {@link GemmEpilogue}. */
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
        if (al.rank() != 2 || bl.rank() != 2 || !WidenedOps.serves(a.dtype(), b.dtype(), dst.dtype()))
            throw new IllegalArgumentException("matmulAdd: expected F32 [M, K] × [K, N] (F32/BF16/F16), got "
                    + a.dtype() + " " + al.shape() + " × " + b.dtype() + " " + bl.shape());
        if ((bias != null && (bias.dtype() != DType.F32 || biasl.rank() != 1 || biasl.stride(0) != 1))
                || (res != null && (res.dtype() != DType.F32 || resl.rank() != 2 || resl.stride(1) != 1)))
            throw new IllegalArgumentException("matmulAdd: bias and residual must be F32 with unit stride along N, got "
                    + (bias == null ? "no bias" : bias.dtype() + " " + biasl) + " and "
                    + (res == null ? "no residual" : res.dtype() + " " + resl));
        GemmEpilogue e = bias == null && res == null && act == null
                ? null
                : new GemmEpilogue(
                        bias == null ? null : bias.segment(),
                        bias == null ? 0 : biasl.offset(),
                        res == null ? null : res.segment(),
                        res == null ? 0 : resl.offset(),
                        res == null ? 0 : Math.toIntExact(resl.stride(0)),
                        act);
        Matmuls.matmul(a, al, b, bl, dst, dl, e);
    }

    @Override
    public void softmax(Storage src, Layout sl, int dim, boolean log, Storage dst, Layout dl) {
        simd.softmax(src, sl, dim, log, dst, dl);
    }

    @Override
    public void layerNorm(
            Storage x, Layout xl, Storage w, Layout wl, Storage b, Layout bl, double eps, Storage dst, Layout dl) {
        simd.layerNorm(x, xl, w, wl, b, bl, eps, dst, dl);
    }

    @Override
    public void rmsNorm(Storage x, Layout xl, Storage w, Layout wl, double eps, Storage dst, Layout dl) {
        simd.rmsNorm(x, xl, w, wl, eps, dst, dl);
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
        simd.rope(x, xl, cos, cl, sin, sl, interleaved, dst, dl);
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
        simd.attention(q, ql, k, kl, v, vl, causal, scale, dst, dl);
    }

    /** F32 queries and output with keys and values of one 16-bit dtype (ATTENTION_HALF_KV's operands). */
    private static boolean halfKv(Storage q, Storage k, Storage v, Storage dst) {
        return q.dtype() == DType.F32
                && dst.dtype() == DType.F32
                && k.dtype() == v.dtype()
                && (k.dtype() == DType.F16 || k.dtype() == DType.BF16);
    }

    private static boolean denseF32(Storage[] ss, Layout[] ls) {
        for (int i = 0; i < ss.length; i++) {
            if (ss[i] == null) continue;
            if (ss[i].dtype() != DType.F32) return false;
            Layout l = ls[i];
            if (l != null
                    && l.rank() > 0
                    && l.stride(l.rank() - 1) != 1
                    && l.shape().dim(l.rank() - 1) > 1) return false;
        }
        return true;
    }

    private static View4 view(Storage s, Layout l) {
        return new View4(s.segment(), l.offset(), l.stride(0), l.stride(1), l.stride(2));
    }

    private static FusedGradKernels.Mask mask(Storage m, Layout ml) {
        if (m == null) return null;
        return new FusedGradKernels.Mask(
                m.segment(), ml.offset(), ml.stride(0), ml.stride(1), ml.stride(2), ml.stride(3));
    }

    private static FusedGradKernels.Rows rows(Storage s, Layout l) {
        if (s == null) return null;
        return new FusedGradKernels.Rows(s.segment(), l.offset(), l.stride(0), l.stride(1), l.stride(2));
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
        if (lse == null && halfKv(q, k, v, dst) && (mask == null || mask.dtype() == DType.F32)) {
            // a half-precision KV cache, with a mask (the padded rows of a batch) or none: read in place in a decode
            // step, else widened a kv head at a time; a mask is added to the scores either way
            if (!DecodeAttention.halfKvDecode(q, ql, k, kl, v, vl, mask(mask, ml), (float) scale, dst, dl))
                WidenedAttention.attention(q, ql, k, kl, v, vl, mask(mask, ml), causal, scale, dst, dl);
            return;
        }
        if (!denseF32(new Storage[] {q, k, v, dst, mask, lse}, new Layout[] {ql, kl, vl, dl, null, null})) {
            simd.fallbackFused().attention(q, ql, k, kl, v, vl, mask, ml, causal, scale, dst, dl, lse, lsel);
            return;
        }
        if (mask == null) {
            // the output from the same kernel as without gradients, so recording does not change a single bit of it;
            // the log-sum-exp from that kernel where it has it, else from the scores once more
            if (!simd.attention(q, ql, k, kl, v, vl, causal, scale, dst, dl, rows(lse, lsel)) && lse != null) {
                FusedGradKernels.logSumExp(
                        view(q, ql),
                        view(k, kl),
                        null,
                        rows(lse, lsel),
                        dim(ql, 0),
                        dim(ql, 1),
                        dim(kl, 1),
                        dim(ql, 2),
                        dim(kl, 2),
                        dim(ql, 3),
                        causal,
                        (float) scale);
            }
            return;
        }
        if (lse == null) {
            // inference with a mask (padding, say): the blocked kernel of the unmasked path, the mask added to each
            // block of scores
            AttentionKernels.attention(
                    view(q, ql),
                    view(k, kl),
                    view(v, vl),
                    mask(mask, ml),
                    null,
                    view(dst, dl),
                    dim(ql, 0),
                    dim(ql, 1),
                    dim(kl, 1),
                    dim(ql, 2),
                    dim(kl, 2),
                    dim(ql, 3),
                    dim(vl, 3),
                    causal,
                    (float) scale);
            return;
        }
        FusedGradKernels.attention(
                view(q, ql),
                view(k, kl),
                view(v, vl),
                mask(mask, ml),
                view(dst, dl),
                rows(lse, lsel),
                dim(ql, 0),
                dim(ql, 1),
                dim(kl, 1),
                dim(ql, 2),
                dim(kl, 2),
                dim(ql, 3),
                dim(vl, 3),
                causal,
                (float) scale);
    }

    private static int dim(Layout l, int d) {
        return Math.toIntExact(l.shape().dim(d));
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
        Storage[] all = {q, k, v, out, dOut, dq, dk, dv, mask, lse};
        Layout[] layouts = {ql, kl, vl, ol, dol, dql, dkl, dvl, null, null};
        if (!denseF32(all, layouts) || dq == null || dk == null || dv == null) {
            simd.fallbackFused()
                    .attentionBackward(
                            q, ql, k, kl, v, vl, mask, ml, causal, scale, out, ol, lse, lsel, dOut, dol, dq, dql, dk,
                            dkl, dv, dvl);
            return;
        }
        FusedGradKernels.attentionBackward(
                view(q, ql),
                view(k, kl),
                view(v, vl),
                mask(mask, ml),
                view(out, ol),
                rows(lse, lsel),
                view(dOut, dol),
                view(dq, dql),
                view(dk, dkl),
                view(dv, dvl),
                dim(ql, 0),
                dim(ql, 1),
                dim(kl, 1),
                dim(ql, 2),
                dim(kl, 2),
                dim(ql, 3),
                dim(vl, 3),
                causal,
                (float) scale);
    }

    @Override
    public void softmaxBackward(
            Storage out, Layout ol, Storage g, Layout gl, int dim, boolean log, Storage dx, Layout dxl) {
        int last = ol.rank() - 1;
        if (dim != last
                || !denseF32(new Storage[] {out, g, dx}, new Layout[] {ol, gl, dxl})
                || ol.stride(last) != 1
                || gl.stride(last) != 1
                || dxl.stride(last) != 1) {
            simd.fallbackFused().softmaxBackward(out, ol, g, gl, dim, log, dx, dxl);
            return;
        }
        BinaryRowLoop.run(
                out.segment(),
                ol.leading(last),
                g.segment(),
                gl.leading(last),
                dx.segment(),
                dxl.leading(last),
                dim(ol, last),
                FusedGradKernels.SOFTMAX_BACKWARD_FLOPS,
                (o, oo, gs, go, d, dO, n) -> FusedGradKernels.softmaxBackwardRow(o, oo, gs, go, d, dO, n, log));
    }

    @Override
    public void siluBackward(Storage x, Layout xl, Storage g, Layout gl, Storage dx, Layout dxl) {
        if (!denseF32(new Storage[] {x, g, dx}, new Layout[] {xl, gl, dxl}) || xl.rank() == 0) {
            simd.fallbackFused().siluBackward(x, xl, g, gl, dx, dxl);
            return;
        }
        int last = xl.rank() - 1;
        BinaryRowLoop.run(
                x.segment(),
                xl.leading(last),
                g.segment(),
                gl.leading(last),
                dx.segment(),
                dxl.leading(last),
                dim(xl, last),
                FusedGradKernels.SILU_BACKWARD_FLOPS,
                FusedGradKernels::siluBackwardRow);
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
        Storage[] all = {x, w, dy, dx, dw, db};
        Layout[] layouts = {xl, wl, dyl, dxl, dwl, dbl};
        if (!denseF32(all, layouts)) {
            simd.fallbackFused().normBackward(x, xl, w, wl, dy, dyl, eps, rms, dx, dxl, dw, dwl, db, dbl);
            return;
        }
        int last = xl.rank() - 1, n = dim(xl, last);
        float[] gw = dw == null ? null : new float[n], gb = db == null ? null : new float[n];
        StridedCursor cx = new StridedCursor(xl.leading(last)),
                cy = new StridedCursor(dyl.leading(last)),
                cd = new StridedCursor(dxl.leading(last));
        for (long r = 0, rows = n == 0 ? 0 : xl.numel() / n; r < rows; r++) {
            FusedGradKernels.normBackwardRow(
                    x.segment(),
                    cx.next(),
                    w == null ? null : w.segment(),
                    w == null ? 0 : wl.offset(),
                    dy.segment(),
                    cy.next(),
                    (float) eps,
                    rms,
                    dx.segment(),
                    cd.next(),
                    n,
                    gw,
                    gb);
        }
        for (int i = 0; i < n; i++) {
            if (dw != null) dw.segment().setAtIndex(FL, dwl.offset() + i * dwl.stride(0), gw[i]);
            if (db != null) db.segment().setAtIndex(FL, dbl.offset() + i * dbl.stride(0), gb[i]);
        }
    }
}
