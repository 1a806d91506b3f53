package dev.panthera.tensor;

import java.util.List;

/**
 * Each fused op composed from primitive ops: the fallback for a backend without the kernel, and (differentiated
 * through the primitives' own rules) the independent check of the fused ops' analytic backwards in tests. Inputs
 * are already validated and of one float dtype.
 */
final class Composed {
    private Composed() {}

    /** exp(x − max) / Σ exp(x − max), or x − max − log Σ exp(x − max), along dim. */
    static Tensor softmax(Tensor x, int dim, boolean log) {
        if (x.numel() == 0) return x.mul(1.0);
        int[] d = {dim};
        Tensor shifted = x.sub(x.max(d, true).detach());
        Tensor e = shifted.exp();
        Tensor sum = e.sum(d, true);
        return log ? shifted.sub(sum.log()) : e.div(sum);
    }

    static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        int[] last = {-1};
        Tensor xc = x.sub(x.mean(last, true));
        Tensor y = xc.mul(xc.mul(xc).mean(last, true).add(eps).rsqrt());
        if (weight != null) y = y.mul(weight);
        if (bias != null) y = y.add(bias);
        return y;
    }

    static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        Tensor y = x.mul(x.mul(x).mean(new int[] {-1}, true).add(eps).rsqrt());
        return weight == null ? y : y.mul(weight);
    }

    /** The rotated pairs' first and second elements of x [..., seq, d], each [..., seq, d/2] (views). */
    static Tensor[] pairs(Tensor x, boolean interleaved) {
        long d = x.size(-1);
        if (interleaved) return new Tensor[] {x.slice(-1, 0, d, 2), x.slice(-1, 1, d, 2)};
        return new Tensor[] {x.narrow(-1, 0, d / 2), x.narrow(-1, d / 2, d / 2)};
    }

    /** The inverse of {@link #pairs}: first and second elements [..., seq, d/2] back into [..., seq, d]. */
    static Tensor unpair(Tensor a, Tensor b, boolean interleaved) {
        if (!interleaved) return Tensor.cat(List.of(a, b), -1);
        long[] dims = a.dims();
        dims[dims.length - 1] *= 2;
        return Tensor.stack(List.of(a, b), -1).reshape(dims);
    }

    static Tensor rope(Tensor x, Tensor cos, Tensor sin, boolean interleaved) {
        if (x.numel() == 0) return Ops.alloc(x.dtype(), x.shape(), x.device());
        Tensor[] p = pairs(x, interleaved);
        Tensor a = p[0], b = p[1];
        return unpair(a.mul(cos).sub(b.mul(sin)), a.mul(sin).add(b.mul(cos)), interleaved);
    }

    /**
     * True where the causal rule hides key j from query i ([Lq, Lk]; queries are the last Lq positions), on the
     * device of {@code like}.
     */
    static Tensor causalHidden(long lq, long lk, Tensor like) {
        Tensor i = Tensor.arange(lq).reshape(lq, 1), j = Tensor.arange(lk).reshape(1, lk);
        return j.gt(i.add(lk - lq)).to(like.device());
    }

    /** [B, Hq, ...] as [B, Hkv, G, ...]: query head h = kv head h / G, member h % G of its group. */
    static Tensor grouped(Tensor t, long hkv) {
        long[] d = t.dims();
        long[] g = new long[d.length + 1];
        g[0] = d[0];
        g[1] = hkv;
        g[2] = d[1] / hkv;
        System.arraycopy(d, 2, g, 3, d.length - 2);
        return t.reshape(g);
    }

    /**
     * The scores q·kᵀ·scale + mask of every query head against its kv head, [B, Hkv, G, Lq, Lk], with −∞ where the
     * causal rule hides a key. The kv heads broadcast over their group (a stride-0 batch dim, not a copy).
     */
    static Tensor groupedScores(Tensor q, Tensor k, Tensor mask, boolean causal, double scale) {
        long hkv = k.size(1), lq = q.size(2), lk = k.size(2);
        Tensor s = grouped(q, hkv).matmul(k.unsqueeze(2).transpose(-1, -2)).mul(scale);
        if (mask != null) s = s.add(grouped(mask, hkv));
        if (causal) s = s.maskedFill(causalHidden(lq, lk, q), Double.NEGATIVE_INFINITY);
        return s;
    }

    /** softmax(q·kᵀ·scale + mask)·v with grouped-query heads; mask is additive [B, Hq, Lq, Lk] or null. */
    static Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        long b = q.size(0), hq = q.size(1), lq = q.size(2), dv = v.size(3);
        if (b * hq * lq * dv == 0 || k.size(2) == 0) { // nothing to compute, or rows that see no key: NaN
            return Creation.full(q.dtype(), k.size(2) == 0 ? Double.NaN : 0, Shape.of(b, hq, lq, dv), q.device());
        }
        Tensor p = softmax(groupedScores(q, k, mask, causal, scale), -1, false);
        return p.matmul(v.unsqueeze(2)).reshape(b, hq, lq, dv);
    }
}
