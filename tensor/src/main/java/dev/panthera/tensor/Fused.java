package dev.panthera.tensor;

import java.util.List;

/**
 * Rotary embeddings and scaled dot-product attention. Without gradients they run as one backend kernel (fused: no
 * score matrix is materialised by the SIMD backend); when an input requires grad they are composed from primitive
 * ops, whose gradient rules autograd already has.
 */
final class Fused {
    private Fused() {}

    private static boolean recording(Tensor... ts) {
        if (!Autograd.isGradEnabled()) return false;
        for (Tensor t : ts) if (t.requiresGrad()) return true;
        return false;
    }

    static Tensor rope(Tensor x, Tensor cos, Tensor sin, boolean interleaved) {
        x.checkAlive("rope");
        cos.checkAlive("rope");
        sin.checkAlive("rope");
        Ops.sameDevice("rope", x, cos);
        Ops.sameDevice("rope", x, sin);
        if (x.rank() < 2) throw new IllegalArgumentException("rope: input must be [..., seq, dim], got " + x.shape());
        long seq = x.size(-2), d = x.size(-1);
        Shape want = Shape.of(seq, d / 2);
        if (d % 2 != 0) throw new IllegalArgumentException("rope: head dimension must be even, got " + x.shape());
        if (!cos.shape().equals(want) || !sin.shape().equals(want)) {
            throw new IllegalArgumentException("rope: cos " + cos.shape() + " and sin " + sin.shape() + " must be "
                    + want + " for input " + x.shape());
        }
        Tensor xf = Ops.floatLike(x);
        Tensor c = cos.to(xf.dtype()), s = sin.to(xf.dtype());
        if (recording(xf, c, s)) return composedRope(xf, c, s, interleaved);
        Tensor out = Ops.alloc(xf.dtype(), xf.shape(), xf.device());
        xf.backend()
                .rope(
                        xf.storage(),
                        xf.layout(),
                        c.storage(),
                        c.layout(),
                        s.storage(),
                        s.layout(),
                        interleaved,
                        out.storage(),
                        out.layout());
        return out;
    }

    /** The composed form, for tests that compare it with the kernel. */
    static Tensor composedRopeForTest(Tensor x, Tensor cos, Tensor sin, boolean interleaved) {
        return composedRope(x, cos.to(x.dtype()), sin.to(x.dtype()), interleaved);
    }

    private static Tensor composedRope(Tensor x, Tensor cos, Tensor sin, boolean interleaved) {
        long d = x.size(-1);
        if (interleaved) {
            long[] pairs = x.dims();
            pairs[pairs.length - 1] = d / 2;
            long[] split = java.util.Arrays.copyOf(pairs, pairs.length + 1);
            split[pairs.length] = 2;
            Tensor xp = x.reshape(split);
            Tensor a = xp.select(-1, 0), b = xp.select(-1, 1);
            Tensor ra = a.mul(cos).sub(b.mul(sin)), rb = a.mul(sin).add(b.mul(cos));
            return Tensor.stack(List.of(ra, rb), -1).reshape(x.dims());
        }
        Tensor a = x.narrow(-1, 0, d / 2), b = x.narrow(-1, d / 2, d / 2);
        return Tensor.cat(List.of(a.mul(cos).sub(b.mul(sin)), a.mul(sin).add(b.mul(cos))), -1);
    }

    static Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal, double scale) {
        for (Tensor t : new Tensor[] {q, k, v}) t.checkAlive("scaledDotProductAttention");
        Ops.sameDevice("scaledDotProductAttention", q, k);
        Ops.sameDevice("scaledDotProductAttention", q, v);
        if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4) {
            throw new IllegalArgumentException(
                    "scaledDotProductAttention: q, k, v must be [batch, heads, seq, dim], got " + q.shape() + ", "
                            + k.shape() + ", " + v.shape());
        }
        long hq = q.size(1), hkv = k.size(1);
        if (k.size(0) != q.size(0)
                || v.size(0) != q.size(0)
                || v.size(1) != hkv
                || k.size(2) != v.size(2)
                || k.size(3) != q.size(3)
                || hkv == 0
                || hq % hkv != 0) {
            throw new IllegalArgumentException(
                    "scaledDotProductAttention: incompatible q " + q.shape() + ", k " + k.shape() + ", v " + v.shape()
                            + " (need equal batch, kv heads dividing query heads, equal key/value lengths and q/k head dims)");
        }
        DType t = Ops.promote(Ops.promote(q.dtype(), k.dtype()), v.dtype());
        if (!t.isFloatingPoint()) t = DType.F32;
        Tensor qq = q.to(t), kk = k.to(t), vv = v.to(t);
        if (recording(qq, kk, vv)) return composedAttention(qq, kk, vv, causal, scale);
        long[] out = {q.size(0), hq, q.size(2), v.size(3)};
        Tensor o = Ops.alloc(t, Shape.of(out), q.device());
        qq.backend()
                .attention(
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
        return o;
    }

    static Tensor composedAttention(Tensor q, Tensor k, Tensor v, boolean causal, double scale) {
        long b = q.size(0), hq = q.size(1), lq = q.size(2), hkv = k.size(1), lk = k.size(2), group = hq / hkv;
        if (group > 1) { // grouped-query attention: each kv head serves `group` query heads
            k = k.unsqueeze(2).expand(b, hkv, group, lk, k.size(3)).reshape(b, hq, lk, k.size(3));
            v = v.unsqueeze(2).expand(b, hkv, group, lk, v.size(3)).reshape(b, hq, lk, v.size(3));
        }
        Tensor scores = q.matmul(k.transpose(-1, -2)).mul(scale);
        if (causal) {
            Tensor i = Tensor.arange(lq).reshape(lq, 1), j = Tensor.arange(lk).reshape(1, lk);
            Tensor hidden = j.gt(i.add(lk - lq));
            scores = scores.maskedFill(hidden, Double.NEGATIVE_INFINITY);
        }
        return scores.softmax(-1).matmul(v);
    }
}
