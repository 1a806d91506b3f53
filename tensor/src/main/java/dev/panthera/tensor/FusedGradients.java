package dev.panthera.tensor;

import dev.panthera.tensor.spi.FusedKernels;
import dev.panthera.tensor.spi.FusedKernels.Kernel;

/**
 * The analytic backwards of the fused ops, called from {@link Gradients}' switch (so under no-grad). Each runs the
 * backend's backward kernel when offered and otherwise the same formula written with primitive ops; neither
 * differentiates through the forward's composition.
 */
final class FusedGradients {
    private FusedGradients() {}

    /**
     * Softmax: s∘(g − Σ g∘s); log-softmax: g − exp(out)·Σ g; along the last dim in one kernel where the backend has
     * it, else in primitive ops.
     */
    static Tensor softmax(Op.Softmax s, Tensor g, Tensor out) {
        // the kernel along the last dim (a language model's [tokens, vocab] log-probabilities), with g made
        // contiguous (a broadcast gradient, such as a mean's, would otherwise send it down a strided path)
        FusedKernels f = s.dim() == out.rank() - 1 ? Fused.kernels(out, Kernel.SOFTMAX_BACKWARD) : null;
        if (f == null) {
            int[] d = {s.dim()};
            return s.log()
                    ? g.sub(out.exp().mul(g.sum(d, true)))
                    : out.mul(g.sub(g.mul(out).sum(d, true)));
        }
        Tensor gg = g.to(out.dtype()).contiguous();
        Tensor dx = Ops.alloc(out.dtype(), out.shape(), out.device());
        if (out.numel() > 0)
            f.softmaxBackward(
                    out.storage(),
                    out.layout(),
                    gg.storage(),
                    gg.layout(),
                    s.dim(),
                    s.log(),
                    dx.storage(),
                    dx.layout());
        return dx;
    }

    /**
     * SiLU: g·σ(x)·(1 + x·(1 − σ(x))), in one pass where the backend has the kernel, else the same expression in
     * primitive ops (six passes).
     */
    static Tensor silu(Tensor x, Tensor g) {
        FusedKernels f = Fused.kernels(x, Kernel.SILU_BACKWARD);
        if (f == null) {
            Tensor s = x.sigmoid();
            return g.mul(s.mul(x.mul(s.neg().add(1)).add(1)));
        }
        Tensor gg = g.to(x.dtype()).contiguous(); // a broadcast gradient would otherwise take a strided path
        Tensor dx = Ops.alloc(x.dtype(), x.shape(), x.device());
        if (x.numel() > 0)
            f.siluBackward(x.storage(), x.layout(), gg.storage(), gg.layout(), dx.storage(), dx.layout());
        return dx;
    }

    /** Gradients of layer norm (x, then weight and bias where present, as in {@code Op.inputs()}). */
    static Tensor[] layerNorm(Op.LayerNorm ln, Tensor g) {
        Tensor[] r = norm(ln.x(), ln.weight(), ln.bias() != null, ln.eps(), false, g);
        return compact(r[0], r[1], r[2], ln.weight() != null, ln.bias() != null);
    }

    static Tensor[] rmsNorm(Op.RmsNorm rn, Tensor g) {
        Tensor[] r = norm(rn.x(), rn.weight(), false, rn.eps(), true, g);
        return rn.weight() == null ? new Tensor[] {r[0]} : new Tensor[] {r[0], r[1]};
    }

    /** {dx, dw or null, db or null} of a norm over the last dimension. */
    private static Tensor[] norm(Tensor x, Tensor w, boolean bias, double eps, boolean rms, Tensor g) {
        FusedKernels f = Fused.kernels(x, Kernel.NORM_BACKWARD);
        if (f == null) return composedNorm(x, w, bias, eps, rms, g);
        long n = x.size(-1);
        Tensor gg = g.to(x.dtype());
        Tensor dx = Ops.alloc(x.dtype(), x.shape(), x.device());
        Tensor dw = w == null ? null : Ops.alloc(x.dtype(), Shape.of(n), x.device());
        Tensor db = bias ? Ops.alloc(x.dtype(), Shape.of(n), x.device()) : null;
        if (x.numel() > 0) {
            f.normBackward(
                    x.storage(),
                    x.layout(),
                    w == null ? null : w.storage(),
                    w == null ? null : w.layout(),
                    gg.storage(),
                    gg.layout(),
                    eps,
                    rms,
                    dx.storage(),
                    dx.layout(),
                    dw == null ? null : dw.storage(),
                    dw == null ? null : dw.layout(),
                    db == null ? null : db.storage(),
                    db == null ? null : db.layout());
        }
        return new Tensor[] {dx, dw, db};
    }

    /** The norm backward of {@link FusedKernels#normBackward} written with primitive ops. */
    private static Tensor[] composedNorm(Tensor x, Tensor w, boolean bias, double eps, boolean rms, Tensor g) {
        int[] last = {-1};
        Tensor xc = rms ? x : x.sub(x.mean(last, true));
        Tensor rstd = xc.mul(xc).mean(last, true).add(eps).rsqrt();
        Tensor xhat = xc.mul(rstd);
        Tensor gh = w == null ? g : g.mul(w);
        Tensor inner = rms ? gh : gh.sub(gh.mean(last, true));
        Tensor dx = inner.sub(xhat.mul(gh.mul(xhat).mean(last, true))).mul(rstd);
        Tensor dw = w == null ? null : Gradients.sumTo(g.mul(xhat), w.shape());
        Tensor db = bias ? Gradients.sumTo(g, Shape.of(x.size(-1))) : null;
        return new Tensor[] {dx, dw, db};
    }

    /** Gradient array aligned with {@code Op.inputs()}, which omits null weight/bias. */
    private static Tensor[] compact(Tensor gx, Tensor gw, Tensor gb, boolean hasW, boolean hasB) {
        if (hasW && hasB) return new Tensor[] {gx, gw, gb};
        if (hasW) return new Tensor[] {gx, gw};
        if (hasB) return new Tensor[] {gx, gb};
        return new Tensor[] {gx};
    }

    /**
     * RoPE: the rotation is orthogonal, so dx is g rotated by −θ (the forward kernel with −sin). For the tables,
     * with pairs (a, b) of x and (g_a, g_b) of g: dcos = Σ g_a·a + g_b·b and dsin = Σ g_b·a − g_a·b over the leading
     * dims.
     */
    static Tensor[] rope(Op.Rope r, Tensor g) {
        Tensor gx = r.x().requiresGrad() ? Fused.rotate(g, r.cos(), r.sin().neg(), r.interleaved()) : null;
        Tensor gc = null, gs = null;
        if (r.cos().requiresGrad() || r.sin().requiresGrad()) {
            Tensor[] x = Composed.pairs(r.x(), r.interleaved()), d = Composed.pairs(g, r.interleaved());
            gc = Gradients.sumTo(d[0].mul(x[0]).add(d[1].mul(x[1])), r.cos().shape());
            gs = Gradients.sumTo(d[1].mul(x[0]).sub(d[0].mul(x[1])), r.sin().shape());
        }
        return new Tensor[] {gx, gc, gs};
    }

    /**
     * Attention, flash-attention style: the probabilities are recomputed from q, k and the forward's per-row
     * log-sum-exp, never kept; each kv head's gradient sums its group of query heads without repeating k or v.
     */
    static Tensor[] attention(Op.Attention a, Tensor g, Tensor out) {
        Tensor q = a.q(), k = a.k(), v = a.v(), m = a.mask();
        FusedKernels f = Fused.kernels(q, Kernel.ATTENTION_BACKWARD);
        if (f == null) return composedAttention(a, g, out);
        Tensor lse = a.lse() != null ? a.lse() : logSumExp(a);
        Tensor gg = g.to(q.dtype());
        Tensor dq = Ops.alloc(q.dtype(), q.shape(), q.device()),
                dk = Ops.alloc(k.dtype(), k.shape(), k.device()),
                dv = Ops.alloc(v.dtype(), v.shape(), v.device());
        if (out.numel() > 0) {
            f.attentionBackward(
                    q.storage(),
                    q.layout(),
                    k.storage(),
                    k.layout(),
                    v.storage(),
                    v.layout(),
                    m == null ? null : m.storage(),
                    m == null ? null : m.layout(),
                    a.causal(),
                    a.scale(),
                    out.storage(),
                    out.layout(),
                    lse.storage(),
                    lse.layout(),
                    gg.storage(),
                    gg.layout(),
                    dq.storage(),
                    dq.layout(),
                    dk.storage(),
                    dk.layout(),
                    dv.storage(),
                    dv.layout());
        }
        return new Tensor[] {dq, dk, dv};
    }

    /** The per-row log-sum-exp of the scores [B, Hq, Lq], for a forward that did not write it. */
    private static Tensor logSumExp(Op.Attention a) {
        Tensor q = a.q();
        Tensor s = Composed.groupedScores(q, a.k(), a.mask(), a.causal(), a.scale());
        Tensor max = s.max(new int[] {-1}, true);
        Tensor safe = Tensor.where(max.eq(Double.NEGATIVE_INFINITY), Tensor.zeros(q.dtype(), Shape.scalar()), max);
        Tensor lse = s.sub(safe).exp().sum(new int[] {-1}, true).log().add(safe);
        return lse.reshape(q.size(0), q.size(1), q.size(2)).to(Fused.lseType(q.dtype()));
    }

    /** The backward of {@link FusedKernels#attentionBackward} written with primitive ops on grouped heads. */
    private static Tensor[] composedAttention(Op.Attention a, Tensor g, Tensor out) {
        Tensor q = a.q(), k = a.k(), v = a.v();
        if (out.numel() == 0
                || k.size(2) == 0) { // nothing depends on the inputs (a row that sees no key has no gradient)
            return new Tensor[] {
                Ops.alloc(q.dtype(), q.shape(), q.device()),
                Ops.alloc(k.dtype(), k.shape(), k.device()),
                Ops.alloc(v.dtype(), v.shape(), v.device())
            };
        }
        long hkv = k.size(1);
        Tensor p = Composed.softmax(Composed.groupedScores(q, k, a.mask(), a.causal(), a.scale()), -1, false);
        Tensor g5 = Composed.grouped(g, hkv), o5 = Composed.grouped(out, hkv);
        Tensor delta = g5.mul(o5).sum(new int[] {-1}, true);
        // a row that sees no key has NaN probabilities and output: it gets no gradient, as in the kernels
        Tensor zero = Creation.full(p.dtype(), 0, Shape.scalar(), p.device());
        p = Tensor.where(p.ne(p), zero, p);
        delta = Tensor.where(delta.ne(delta), zero, delta);
        int[] group = {2};
        Tensor dv = p.transpose(-1, -2).matmul(g5).sum(group, false);
        Tensor dp = g5.matmul(v.unsqueeze(2).transpose(-1, -2));
        Tensor ds = p.mul(dp.sub(delta)).mul(a.scale());
        Tensor dq = ds.matmul(k.unsqueeze(2)).reshape(q.dims());
        Tensor dk = ds.transpose(-1, -2).matmul(Composed.grouped(q, hkv)).sum(group, false);
        return new Tensor[] {dq, dk, dv};
    }
}
