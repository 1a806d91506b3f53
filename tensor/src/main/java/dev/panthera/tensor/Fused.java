package dev.panthera.tensor;

import dev.panthera.tensor.spi.FusedKernels;
import dev.panthera.tensor.spi.FusedKernels.Kernel;

/**
 * The fused ops — softmax and log-softmax, layer norm, RMS norm, RoPE and scaled dot-product attention — each
 * declared once: checks, then the backend's kernel when {@link FusedKernels#supports} offers it for the dtype, else
 * the composition from primitives in {@link Composed} (run without recording), and in both cases one {@link Op}
 * record whose analytic backward is in {@link FusedGradients}. So the kernel runs with and without gradients.
 */
final class Fused {
    private Fused() {}

    /** The kernels of {@code t}'s backend when they offer {@code kernel} for its dtype, else null. */
    static FusedKernels kernels(Tensor t, Kernel kernel) {
        FusedKernels f = t.backend().fused();
        return f != null && f.supports(kernel, t.dtype()) ? f : null;
    }

    private static boolean recording(Tensor... ts) {
        if (!Autograd.isGradEnabled()) return false;
        for (Tensor t : ts) if (t != null && t.requiresGrad()) return true;
        return false;
    }

    // ---------------------------------------------------------------- softmax

    static Tensor softmax(Tensor x, int dim, boolean log) {
        String name = log ? "logSoftmax" : "softmax";
        x.checkAlive(name);
        Tensor in = Ops.floatLike(x);
        int d = Shape.normalize(dim, in.rank(), name);
        if (in.rank() == 0) in = in.reshape(1);
        Tensor out;
        FusedKernels f = kernels(in, Kernel.SOFTMAX);
        if (f != null || in.numel() == 0) {
            out = Ops.output(in.dtype(), in.shape(), in.device());
            if (in.numel() > 0) f.softmax(in.storage(), in.layout(), d, log, out.storage(), out.layout());
        } else {
            try (Handle ng = Autograd.noGrad()) {
                out = Composed.softmax(in, d, log);
            }
        }
        Tensor r = out.record(new Op.Softmax(in, d, log));
        return x.rank() == 0 ? r.reshape() : r;
    }

    // ---------------------------------------------------------------- norms

    private static void checkNormParam(String op, Tensor x, Tensor p, String what) {
        if (p == null) return;
        p.checkAlive(op);
        Ops.sameDevice(op, x, p);
        if (p.rank() != 1 || p.size(0) != x.size(-1)) {
            throw new IllegalArgumentException(op + ": " + what + " of shape " + p.shape()
                    + " does not match the last dimension of input " + x.shape());
        }
    }

    private static void checkNormInput(String op, Tensor x) {
        x.checkAlive(op);
        if (x.rank() == 0)
            throw new IllegalArgumentException(op + ": input must have at least 1 dimension, got " + x.shape());
    }

    static Tensor layerNorm(Tensor x, Tensor w, Tensor b, double eps) {
        checkNormInput("layerNorm", x);
        checkNormParam("layerNorm", x, w, "weight");
        checkNormParam("layerNorm", x, b, "bias");
        Tensor in = Ops.floatLike(x);
        Tensor ww = w == null ? null : w.to(in.dtype()), bb = b == null ? null : b.to(in.dtype());
        Tensor out;
        FusedKernels f = kernels(in, Kernel.LAYER_NORM);
        if (f != null) {
            out = Ops.output(in.dtype(), in.shape(), in.device());
            f.layerNorm(
                    in.storage(),
                    in.layout(),
                    ww == null ? null : ww.storage(),
                    ww == null ? null : ww.layout(),
                    bb == null ? null : bb.storage(),
                    bb == null ? null : bb.layout(),
                    eps,
                    out.storage(),
                    out.layout());
        } else {
            try (Handle ng = Autograd.noGrad()) {
                out = Composed.layerNorm(in, ww, bb, eps);
            }
        }
        return out.record(new Op.LayerNorm(in, ww, bb, eps));
    }

    static Tensor rmsNorm(Tensor x, Tensor w, double eps) {
        checkNormInput("rmsNorm", x);
        checkNormParam("rmsNorm", x, w, "weight");
        Tensor in = Ops.floatLike(x);
        Tensor ww = w == null ? null : w.to(in.dtype());
        Tensor out;
        FusedKernels f = kernels(in, Kernel.RMS_NORM);
        if (f != null) {
            out = Ops.output(in.dtype(), in.shape(), in.device());
            f.rmsNorm(
                    in.storage(),
                    in.layout(),
                    ww == null ? null : ww.storage(),
                    ww == null ? null : ww.layout(),
                    eps,
                    out.storage(),
                    out.layout());
        } else {
            try (Handle ng = Autograd.noGrad()) {
                out = Composed.rmsNorm(in, ww, eps);
            }
        }
        return out.record(new Op.RmsNorm(in, ww, eps));
    }

    // ---------------------------------------------------------------- matmul with bias and residual

    /**
     * act(a·b + bias + residual), bias [N] and residual of the product's shape, either null, act null for none. The
     * backend's {@link Kernel#MATMUL_ADD} kernel takes an F32 product of [..., M, K] by a 2-D [K, N] (F32, or BF16/F16
     * weights as matmul takes them) when nothing records gradients; everything else is matmul, the adds and the unary
     * op composed, recorded as they are. Both give the same elements: the kernel rounds the product, the bias sum and
     * the residual sum as the separate ops do, and applies the backend's own unary kernel.
     */
    static Tensor matmulAdd(Tensor a, Tensor b, Tensor bias, Tensor residual, UnaryOp act) {
        a.checkAlive("matmulAdd");
        b.checkAlive("matmulAdd");
        Ops.sameDevice("matmulAdd", a, b);
        if (bias != null) {
            bias.checkAlive("matmulAdd");
            Ops.sameDevice("matmulAdd", a, bias);
            if (bias.rank() != 1 || b.rank() < 1 || bias.size(0) != b.size(-1))
                throw new IllegalArgumentException("matmulAdd: bias of shape " + bias.shape()
                        + " must be 1-D of the product's last dimension (" + a.shape() + " × " + b.shape() + ")");
        }
        if (residual != null) {
            residual.checkAlive("matmulAdd");
            Ops.sameDevice("matmulAdd", a, residual);
        }
        boolean fits = a.rank() >= 2 && b.rank() == 2 && a.size(-1) == b.size(0) && b.size(0) > 0;
        Shape shape = null;
        if (fits) {
            long[] od = a.dims();
            od[od.length - 1] = b.size(1);
            shape = Shape.of(od);
        }
        if (shape != null) checkResidual(residual, shape, a, b);
        FusedKernels f = kernels(a, Kernel.MATMUL_ADD);
        boolean weight = b.dtype() == DType.F32 || b.dtype() == DType.BF16 || b.dtype() == DType.F16;
        if (f == null
                || !fits
                || recording(a, b, bias, residual)
                || a.dtype() != DType.F32
                || !weight
                || (bias != null && bias.dtype() != DType.F32)
                || (residual != null && residual.dtype() != DType.F32)) {
            Tensor y = a.matmul(b);
            if (bias != null) y = y.add(bias);
            if (residual != null) {
                checkResidual(residual, y.shape(), a, b);
                y = y.add(residual);
            }
            return act == null ? y : Ops.unary(act, y);
        }
        if (shape.numel() == 0) return Ops.output(DType.F32, shape, a.device());
        long k = a.size(-1), n = b.size(1), rows = shape.numel() / n;
        Tensor x = a.reshape(rows, k), bb = bias == null ? null : bias.contiguous(), r = null;
        if (residual != null) {
            r = residual.reshape(rows, n);
            if (r.layout().stride(1) != 1) r = r.contiguous();
        }
        Tensor out = Ops.output(DType.F32, Shape.of(rows, n), a.device());
        f.matmulAdd(
                x.storage(),
                x.layout(),
                b.storage(),
                b.layout(),
                bb == null ? null : bb.storage(),
                bb == null ? null : bb.layout(),
                r == null ? null : r.storage(),
                r == null ? null : r.layout(),
                act,
                out.storage(),
                out.layout());
        return out.reshape(shape.toArray());
    }

    /** A residual (when given) must have the product's shape: matmulAdd does not broadcast it. */
    private static void checkResidual(Tensor residual, Shape product, Tensor a, Tensor b) {
        if (residual != null && !residual.shape().equals(product))
            throw new IllegalArgumentException("matmulAdd: residual of shape " + residual.shape()
                    + " must have the product's shape " + product + " (" + a.shape() + " × " + b.shape() + ")");
    }

    // ---------------------------------------------------------------- rope

    static Tensor rope(Tensor x, Tensor cos, Tensor sin, boolean interleaved) {
        x.checkAlive("rope");
        cos.checkAlive("rope");
        sin.checkAlive("rope");
        Ops.sameDevice("rope", x, cos);
        Ops.sameDevice("rope", x, sin);
        if (x.rank() < 2) throw new IllegalArgumentException("rope: input must be [..., seq, dim], got " + x.shape());
        long seq = x.size(-2), d = x.size(-1);
        if (d % 2 != 0) throw new IllegalArgumentException("rope: head dimension must be even, got " + x.shape());
        Shape want = Shape.of(seq, d / 2);
        if (!cos.shape().equals(want) || !sin.shape().equals(want)) {
            throw new IllegalArgumentException("rope: cos " + cos.shape() + " and sin " + sin.shape() + " must be "
                    + want + " for input " + x.shape());
        }
        Tensor xf = Ops.floatLike(x);
        Tensor c = cos.to(xf.dtype()), s = sin.to(xf.dtype());
        return rotate(xf, c, s, interleaved).record(new Op.Rope(xf, c, s, interleaved));
    }

    /** The rotation itself, unrecorded: the kernel when offered, else the composition (the backward calls it too). */
    static Tensor rotate(Tensor x, Tensor cos, Tensor sin, boolean interleaved) {
        FusedKernels f = kernels(x, Kernel.ROPE);
        if (f == null) {
            try (Handle ng = Autograd.noGrad()) {
                return Composed.rope(x, cos, sin, interleaved);
            }
        }
        Tensor out = Ops.output(x.dtype(), x.shape(), x.device());
        if (x.numel() > 0) {
            f.rope(
                    x.storage(),
                    x.layout(),
                    cos.storage(),
                    cos.layout(),
                    sin.storage(),
                    sin.layout(),
                    interleaved,
                    out.storage(),
                    out.layout());
        }
        return out;
    }

    // ---------------------------------------------------------------- attention

    static Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        String op = "scaledDotProductAttention";
        for (Tensor t : new Tensor[] {q, k, v}) t.checkAlive(op);
        Ops.sameDevice(op, q, k);
        Ops.sameDevice(op, q, v);
        if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4) {
            throw new IllegalArgumentException(op + ": q, k, v must be [batch, heads, seq, dim], got " + q.shape()
                    + ", " + k.shape() + ", " + v.shape());
        }
        long hq = q.size(1), hkv = k.size(1);
        if (k.size(0) != q.size(0)
                || v.size(0) != q.size(0)
                || v.size(1) != hkv
                || k.size(2) != v.size(2)
                || k.size(3) != q.size(3)
                || hkv == 0
                || hq % hkv != 0) {
            throw new IllegalArgumentException(op + ": incompatible q " + q.shape() + ", k " + k.shape() + ", v "
                    + v.shape()
                    + " (need equal batch, kv heads dividing query heads, equal key/value lengths and q/k head dims)");
        }
        DType t = Ops.promote(Ops.promote(q.dtype(), k.dtype()), v.dtype());
        if (!t.isFloatingPoint()) t = DType.F32;
        FusedKernels f;
        if (q.dtype() == t
                && (k.dtype() == DType.F16 || k.dtype() == DType.BF16)
                && v.dtype() == k.dtype()
                && !recording(q, k, v)
                && (f = kernels(q, Kernel.ATTENTION_HALF_KV)) != null) {
            // a half-precision KV cache read as it is: converting it would copy every cached position per call
            Tensor o = Ops.alloc(t, Shape.of(q.size(0), hq, q.size(2), v.size(3)), q.device());
            Tensor m = mask == null ? null : additiveMask(op, mask, t, Shape.of(q.size(0), hq, q.size(2), k.size(2)));
            if (o.numel() > 0)
                f.attention(
                        q.storage(),
                        q.layout(),
                        k.storage(),
                        k.layout(),
                        v.storage(),
                        v.layout(),
                        m == null ? null : m.storage(),
                        m == null ? null : m.layout(),
                        causal,
                        scale,
                        o.storage(),
                        o.layout(),
                        null,
                        null);
            return o;
        }
        Tensor qq = q.to(t), kk = k.to(t), vv = v.to(t);
        Shape scores = Shape.of(q.size(0), hq, q.size(2), k.size(2));
        Tensor m = mask == null ? null : additiveMask(op, mask, t, scores);
        boolean rec = recording(qq, kk, vv);
        if (rec && mask != null && mask.requiresGrad()) {
            throw new IllegalArgumentException(op + ": the mask " + mask.shape() + " requires grad, but attention "
                    + "gives no gradient to its mask");
        }
        Shape outShape = Shape.of(q.size(0), hq, q.size(2), v.size(3));
        Tensor o, lse = null;
        if ((rec || m != null) && (f = kernels(qq, Kernel.ATTENTION_MASK_LSE)) != null) {
            o = Ops.alloc(t, outShape, q.device());
            if (rec) lse = Ops.alloc(lseType(t), Shape.of(q.size(0), hq, q.size(2)), q.device());
            if (o.numel() > 0) {
                f.attention(
                        qq.storage(),
                        qq.layout(),
                        kk.storage(),
                        kk.layout(),
                        vv.storage(),
                        vv.layout(),
                        m == null ? null : m.storage(),
                        m == null ? null : m.layout(),
                        causal,
                        scale,
                        o.storage(),
                        o.layout(),
                        lse == null ? null : lse.storage(),
                        lse == null ? null : lse.layout());
            }
        } else if (m == null && (f = kernels(qq, Kernel.ATTENTION)) != null) {
            o = Ops.alloc(t, outShape, q.device());
            if (o.numel() > 0) {
                f.attention(
                        qq.storage(),
                        qq.layout(),
                        kk.storage(),
                        kk.layout(),
                        vv.storage(),
                        vv.layout(),
                        causal,
                        scale,
                        o.storage(),
                        o.layout());
            }
        } else {
            try (Handle ng = Autograd.noGrad()) {
                o = Composed.attention(qq, kk, vv, m, causal, scale);
            }
        }
        return o.record(new Op.Attention(qq, kk, vv, m, causal, scale, lse));
    }

    /** The dtype attention's log-sum-exp is kept in: F64 for F64 inputs, else F32. */
    static DType lseType(DType t) {
        return t == DType.F64 ? DType.F64 : DType.F32;
    }

    /**
     * A boolean mask (true: the key takes part, as in PyTorch) or an additive float mask as an additive mask of
     * dtype {@code t} broadcast to the scores' shape [B, Hq, Lq, Lk].
     */
    private static Tensor additiveMask(String op, Tensor mask, DType t, Shape scores) {
        mask.checkAlive(op);
        Shape s;
        try {
            s = Shape.broadcast(op, mask.shape(), scores);
        } catch (IllegalArgumentException e) {
            s = null;
        }
        if (s == null || !s.equals(scores)) {
            throw new IllegalArgumentException(
                    op + ": mask " + mask.shape() + " does not broadcast to the scores' shape " + scores);
        }
        Tensor add;
        try (Handle ng = Autograd.noGrad()) {
            add = mask.dtype() == DType.BOOL
                    ? Tensor.where(
                            mask,
                            Creation.full(t, 0, Shape.scalar(), mask.device()),
                            Creation.full(t, Double.NEGATIVE_INFINITY, Shape.scalar(), mask.device()))
                    : mask.detach().to(t);
        }
        return add.expand(scores.toArray());
    }
}
