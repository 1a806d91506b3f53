package dev.panthera.simd;

import dev.panthera.simd.AttentionKernels.View4;
import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * F32 kernels for training with unit innermost stride: attention with an additive mask that also writes each query
 * row's log-sum-exp, the attention backward that recomputes the probabilities from that log-sum-exp
 * (flash-attention style: no score matrix is kept; up to {@link #BLOCKED_SCORES} scores per head it keeps one and
 * runs on SGEMM), and the per-row norm backward. Dot products and row updates run
 * on {@link FloatVector}; each score's exp in double. Offsets are in elements.
 */
final class FusedGradKernels {
    private FusedGradKernels() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * The width of FloatKernels and VectorMath ({@link Lanes#F}) for the rows that call their exp or sum as they do
     * (F here is the machine's preferred width, which a test run may narrow Lanes.F below).
     */
    private static final VectorSpecies<Float> R = Lanes.F;

    /** Element offset and strides of an additive mask broadcast to [B, Hq, Lq, Lk] (any strides, 0 included). */
    record Mask(MemorySegment seg, long offset, long sb, long sh, long si, long sj) {
        float at(long b, long h, long i, long j) {
            return seg.getAtIndex(FL, head(b, h) + i * si + j * sj);
        }

        /** The element where head h of batch row b starts (its query row 0, key 0). */
        long head(long b, long h) {
            return offset + b * sb + h * sh;
        }
    }

    /** Element offset and strides of a [B, Hq, Lq] log-sum-exp. */
    record Rows(MemorySegment seg, long offset, long sb, long sh, long si) {
        long at(long b, long h, long i) {
            return offset + b * sb + h * sh + i * si;
        }
    }

    static float dot(MemorySegment a, long ao, MemorySegment b, long bo, int n) {
        FloatVector s = FloatVector.zero(F);
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            s = FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO)
                    .fma(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO), s);
        }
        float r = LaneSum.sum(s);
        for (; i < n; i++) r += a.getAtIndex(FL, ao + i) * b.getAtIndex(FL, bo + i);
        return r;
    }

    /** acc[0..n) += p·x[xo..xo+n). */
    private static void axpy(float p, MemorySegment x, long xo, float[] acc, int n) {
        FloatVector pv = FloatVector.broadcast(F, p);
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            pv.fma(FloatVector.fromMemorySegment(F, x, (xo + i) * 4, NO), FloatVector.fromArray(F, acc, i))
                    .intoArray(acc, i);
        }
        for (; i < n; i++) acc[i] += p * x.getAtIndex(FL, xo + i);
    }

    /** y[yo..yo+n) += p·x[xo..xo+n), both in memory. */
    private static void axpy(float p, MemorySegment x, long xo, MemorySegment y, long yo, int n) {
        FloatVector pv = FloatVector.broadcast(F, p);
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            pv.fma(
                            FloatVector.fromMemorySegment(F, x, (xo + i) * 4, NO),
                            FloatVector.fromMemorySegment(F, y, (yo + i) * 4, NO))
                    .intoMemorySegment(y, (yo + i) * 4, NO);
        }
        for (; i < n; i++) y.setAtIndex(FL, yo + i, y.getAtIndex(FL, yo + i) + p * x.getAtIndex(FL, xo + i));
    }

    /**
     * The scores q_i·k_j·scale + mask of one query row into {@code s} for its causally visible keys (−∞ where the
     * mask hides a key); returns their log-sum-exp, −∞ when every key is hidden.
     */
    private static float scores(
            View4 q, View4 k, Mask mask, int b, int h, int kh, int i, int visible, int d, float scale, float[] s) {
        long qRow = q.row(b, h, i);
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < visible; j++) {
            float add = mask == null ? 0 : mask.at(b, h, i, j);
            s[j] = add == Float.NEGATIVE_INFINITY ? add : dot(q.seg(), qRow, k.seg(), k.row(b, kh, j), d) * scale + add;
            max = Math.max(max, s[j]);
        }
        if (max == Float.NEGATIVE_INFINITY) return max;
        double sum = 0;
        for (int j = 0; j < visible; j++) sum += Math.exp(s[j] - max);
        return (float) (max + Math.log(sum));
    }

    private static int visible(int i, int lq, int lk, boolean causal) {
        return causal ? Math.clamp((long) i + lk - lq + 1, 0, lk) : lk;
    }

    /** softmax(q·kᵀ·scale + mask)·v one query row at a time, (batch, head) pairs in parallel; lse may be null. */
    static void attention(
            View4 q,
            View4 k,
            View4 v,
            Mask mask,
            View4 o,
            Rows lse,
            int batch,
            int hq,
            int hkv,
            int lq,
            int lk,
            int d,
            int dv,
            boolean causal,
            float scale) {
        int group = hq / hkv;
        Sgemm.forEach(batch * hq, 4L * batch * hq * lq * lk * Math.max(d, dv), bh -> {
            int b = bh / hq, h = bh % hq, kh = h / group;
            float[] s = new float[lk], acc = new float[dv];
            for (int i = 0; i < lq; i++) {
                int visible = visible(i, lq, lk, causal);
                float l = scores(q, k, mask, b, h, kh, i, visible, d, scale, s);
                if (lse != null) lse.seg().setAtIndex(FL, lse.at(b, h, i), l);
                java.util.Arrays.fill(acc, 0);
                for (int j = 0; j < visible; j++) {
                    if (s[j] != Float.NEGATIVE_INFINITY)
                        axpy((float) Math.exp(s[j] - l), v.seg(), v.row(b, kh, j), acc, dv);
                }
                long oRow = o.row(b, h, i);
                boolean none = l == Float.NEGATIVE_INFINITY; // a row that sees no key gives NaN
                for (int e = 0; e < dv; e++) o.seg().setAtIndex(FL, oRow + e, none ? Float.NaN : acc[e]);
            }
        });
    }

    /** Only the log-sum-exp of each query row's scores (for an output computed by another kernel). */
    static void logSumExp(
            View4 q,
            View4 k,
            Mask mask,
            Rows lse,
            int batch,
            int hq,
            int hkv,
            int lq,
            int lk,
            int d,
            boolean causal,
            float scale) {
        int group = hq / hkv;
        Sgemm.forEach(batch * hq, 2L * batch * hq * lq * lk * d, bh -> {
            int b = bh / hq, h = bh % hq, kh = h / group;
            float[] s = new float[lk];
            for (int i = 0; i < lq; i++) {
                float l = scores(q, k, mask, b, h, kh, i, visible(i, lq, lk, causal), d, scale, s);
                lse.seg().setAtIndex(FL, lse.at(b, h, i), l);
            }
        });
    }

    /**
     * The attention backward into contiguous zero-filled dq, dk, dv. Each (batch, kv head) pair is one task: it
     * alone writes its kv head's dk and dv rows, summing over the query heads of its group, and its heads' dq rows.
     */
    static void attentionBackward(
            View4 q,
            View4 k,
            View4 v,
            Mask mask,
            View4 o,
            Rows lse,
            View4 dOut,
            View4 dq,
            View4 dk,
            View4 dv,
            int batch,
            int hq,
            int hkv,
            int lq,
            int lk,
            int d,
            int dvDim,
            boolean causal,
            float scale) {
        int group = hq / hkv;
        if ((long) lq * lk <= BLOCKED_SCORES) {
            blockedBackward(q, k, v, mask, o, lse, dOut, dq, dk, dv, batch, hq, hkv, lq, lk, d, dvDim, causal, scale);
            return;
        }
        Sgemm.forEach(batch * hkv, 8L * batch * hq * lq * lk * Math.max(d, dvDim), bk -> {
            int b = bk / hkv, kh = bk % hkv;
            float[] s = new float[lk], gq = new float[d];
            for (int h = kh * group; h < (kh + 1) * group; h++) {
                for (int i = 0; i < lq; i++) {
                    float l = lse.seg().getAtIndex(FL, lse.at(b, h, i));
                    if (l == Float.NEGATIVE_INFINITY) continue; // a row that sees no key has no gradient
                    int visible = visible(i, lq, lk, causal);
                    scores(q, k, mask, b, h, kh, i, visible, d, scale, s);
                    long qRow = q.row(b, h, i), gRow = dOut.row(b, h, i);
                    float delta = dot(dOut.seg(), gRow, o.seg(), o.row(b, h, i), dvDim);
                    java.util.Arrays.fill(gq, 0);
                    for (int j = 0; j < visible; j++) {
                        if (s[j] == Float.NEGATIVE_INFINITY) continue;
                        float p = (float) Math.exp(s[j] - l);
                        float dp = dot(dOut.seg(), gRow, v.seg(), v.row(b, kh, j), dvDim);
                        float ds = p * (dp - delta) * scale;
                        axpy(ds, k.seg(), k.row(b, kh, j), gq, d);
                        axpy(ds, q.seg(), qRow, dk.seg(), dk.row(b, kh, j), d);
                        axpy(p, dOut.seg(), gRow, dv.seg(), dv.row(b, kh, j), dvDim);
                    }
                    long dqRow = dq.row(b, h, i);
                    for (int e = 0; e < d; e++) dq.seg().setAtIndex(FL, dqRow + e, gq[e]);
                }
            }
        });
    }

    /** The most scores (lq·lk) of one head the blocked backward holds in memory twice (P and dP): 16 MiB each. */
    static final long BLOCKED_SCORES = 1L << 22;

    /** The blocked backward's products run inside its parallel (batch, kv head) tasks, each on its own thread. */
    private static final GemmConfig ONE_THREAD = GemmConfig.of(1);

    /**
     * {@link #attentionBackward} through five products per query head, each one single-threaded SGEMM inside its
     * (batch, kv head) task: S = Q·Kᵀ·scale, P = exp(S + mask − lse) (0 where a key is hidden), dP = dO·Vᵀ,
     * dS = P∘(dP − rowsum(dO∘O))·scale, then dV += Pᵀ·dO, dQ = dS·K, dK += dSᵀ·Q. Register-tiled products in place
     * of a dot and three row updates per score; longer rows (more than {@link #BLOCKED_SCORES} scores) keep the
     * row-at-a-time path, which holds no score matrix.
     */
    private static void blockedBackward(
            View4 q,
            View4 k,
            View4 v,
            Mask mask,
            View4 o,
            Rows lse,
            View4 dOut,
            View4 dq,
            View4 dk,
            View4 dv,
            int batch,
            int hq,
            int hkv,
            int lq,
            int lk,
            int d,
            int dvDim,
            boolean causal,
            float scale) {
        int group = hq / hkv;
        Sgemm.forEach(batch * hkv, 8L * batch * hq * lq * lk * Math.max(d, dvDim), bk -> {
            int b = bk / hkv, kh = bk % hkv;
            float[] kk = rows(k, b, kh, lk, d), vv = rows(v, b, kh, lk, dvDim);
            float[] pp = new float[lq * lk], dp = new float[lq * lk];
            float[] gk = new float[lk * d], gv = new float[lk * dvDim], gq = new float[lq * d];
            for (int h = kh * group; h < (kh + 1) * group; h++) {
                float[] qq = rows(q, b, h, lq, d), go = rows(dOut, b, h, lq, dvDim);
                product(false, true, lq, lk, d, scale, qq, kk, 0f, pp); // S = Q·Kᵀ·scale
                product(false, true, lq, lk, dvDim, 1f, go, vv, 0f, dp); // dP = dO·Vᵀ
                for (int i = 0; i < lq; i++) {
                    float l = lse.seg().getAtIndex(FL, lse.at(b, h, i));
                    int visible = l == Float.NEGATIVE_INFINITY ? 0 : visible(i, lq, lk, causal);
                    float delta = visible == 0 ? 0 : dot(dOut.seg(), dOut.row(b, h, i), o.seg(), o.row(b, h, i), dvDim);
                    int r = i * lk, j = mask == null ? gradientRow(pp, dp, r, visible, l, delta, scale) : 0;
                    for (; j < lk; j++) {
                        float add = j >= visible || mask == null ? 0 : mask.at(b, h, i, j);
                        float p = j >= visible || add == Float.NEGATIVE_INFINITY
                                ? 0f
                                : (float) Math.exp(pp[r + j] + add - l);
                        pp[r + j] = p;
                        dp[r + j] = p * (dp[r + j] - delta) * scale;
                    }
                }
                product(true, false, lk, dvDim, lq, 1f, pp, go, 1f, gv); // dV += Pᵀ·dO
                product(false, false, lq, d, lk, 1f, dp, kk, 0f, gq); // dQ = dS·K
                product(true, false, lk, d, lq, 1f, dp, qq, 1f, gk); // dK += dSᵀ·Q
                for (int i = 0; i < lq; i++) MemorySegment.copy(gq, i * d, dq.seg(), FL, dq.row(b, h, i) * 4, d);
            }
            for (int j = 0; j < lk; j++) {
                MemorySegment.copy(gk, j * d, dk.seg(), FL, dk.row(b, kh, j) * 4, d);
                MemorySegment.copy(gv, j * dvDim, dv.seg(), FL, dv.row(b, kh, j) * 4, dvDim);
            }
        });
    }

    /**
     * The unmasked start of one row of {@link #blockedBackward}: for the whole vectors of its first {@code visible}
     * keys, P = e^(S − lse) with the float exp ({@link VectorMath#expFloat}, within 2⁻²³ relative) into pp and
     * dS = P·(dP − delta)·scale into dp; returns where the scalar loop takes over (the last partial vector and the keys
     * the row does not see). A method of its own so that C2 compiles the exp into it, not into the caller's lambda
     * past its inlining budget, where its vectors would go through the heap.
     */
    private static int gradientRow(float[] pp, float[] dp, int r, int visible, float l, float delta, float scale) {
        int w = R.length(), j = 0;
        FloatVector lv = FloatVector.broadcast(R, l), dv = FloatVector.broadcast(R, delta);
        for (; j + w <= visible; j += w) {
            FloatVector p =
                    VectorMath.expFloat(FloatVector.fromArray(R, pp, r + j).sub(lv));
            p.intoArray(pp, r + j);
            p.mul(FloatVector.fromArray(R, dp, r + j).sub(dv)).mul(scale).intoArray(dp, r + j);
        }
        return j;
    }

    /**
     * C[m, n] = alpha·op(A)·op(B) + beta·C on this thread, all dense row-major heap arrays: op(A) is [m, k] (A stored
     * [k, m] when transposed), op(B) is [k, n] (B stored [n, k] when transposed).
     */
    private static void product(
            boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, float[] b, float beta, float[] c) {
        Sgemm.gemm(
                ONE_THREAD,
                "attention backward",
                DType.F32,
                ta,
                tb,
                m,
                n,
                k,
                alpha,
                MemorySegment.ofArray(a),
                0,
                ta ? m : k,
                MemorySegment.ofArray(b),
                0,
                tb ? k : n,
                beta,
                MemorySegment.ofArray(c),
                0,
                n);
    }

    /** Rows 0..n of a [b, h] slice of {@code x} (each {@code width} contiguous elements) as one dense array. */
    private static float[] rows(View4 x, int b, int h, int n, int width) {
        float[] out = new float[n * width];
        for (int i = 0; i < n; i++) MemorySegment.copy(x.seg(), FL, x.row(b, h, i) * 4, out, i * width, width);
        return out;
    }

    /** What an element of {@link #softmaxBackwardRow} costs beside a hand-off: the exp and the row's two passes. */
    static final long SOFTMAX_BACKWARD_FLOPS = 20;

    /**
     * The gradient of one contiguous softmax row from its output and the incoming gradient: log-softmax dx = g −
     * e^out·Σ g, softmax dx = out·(g − Σ g·out). The sums as {@link FloatKernels#sumRow} forms them (of g·out rounded for the
     * softmax), e^out with {@link FloatKernels#exp}, so each element rounds as the composed tensor ops round it.
     */
    static void softmaxBackwardRow(
            MemorySegment out, long oo, MemorySegment g, long go, MemorySegment dx, long dO, int n, boolean log) {
        if (log) logSoftmaxGradRow(out, oo, g, go, dx, dO, n, FloatKernels.sumRow(g, go, n));
        else softmaxGradRow(out, oo, g, go, dx, dO, n, productSumRow(out, oo, g, go, n));
    }

    /** Σ a·b over a row as {@link FloatKernels#sumRow} sums a row of the rounded products. */
    private static float productSumRow(MemorySegment a, long ao, MemorySegment b, long bo, int n) {
        FloatVector acc = FloatVector.zero(R);
        int i = 0;
        for (; i + R.length() <= n; i += R.length())
            acc = acc.add(FloatVector.fromMemorySegment(R, a, (ao + i) * 4, NO)
                    .mul(FloatVector.fromMemorySegment(R, b, (bo + i) * 4, NO)));
        float r = LaneSum.sum(acc);
        for (; i < n; i++) r += a.getAtIndex(FL, ao + i) * b.getAtIndex(FL, bo + i);
        return r;
    }

    /** dx = g − e^out·sum (nothing of ours after the exp: see the note above FloatKernels.expRow). */
    private static void logSoftmaxGradRow(
            MemorySegment out, long oo, MemorySegment g, long go, MemorySegment dx, long dO, int n, float sum) {
        FloatVector s = FloatVector.broadcast(R, sum);
        int w = R.length(), i = 0;
        for (; i + w <= n; i += w) {
            FloatVector e = FloatKernels.exp(FloatVector.fromMemorySegment(R, out, (oo + i) * 4, NO));
            FloatVector.fromMemorySegment(R, g, (go + i) * 4, NO).sub(e.mul(s)).intoMemorySegment(dx, (dO + i) * 4, NO);
        }
        if (i < n) {
            VectorMask<Float> m = R.indexInRange(i, n);
            FloatVector e = FloatKernels.exp(FloatVector.fromMemorySegment(R, out, (oo + i) * 4, NO, m));
            FloatVector.fromMemorySegment(R, g, (go + i) * 4, NO, m)
                    .sub(e.mul(s))
                    .intoMemorySegment(dx, (dO + i) * 4, NO, m);
        }
    }

    /** dx = out·(g − sum). */
    private static void softmaxGradRow(
            MemorySegment out, long oo, MemorySegment g, long go, MemorySegment dx, long dO, int n, float sum) {
        FloatVector s = FloatVector.broadcast(R, sum);
        int w = R.length(), i = 0;
        for (; i + w <= n; i += w)
            FloatVector.fromMemorySegment(R, out, (oo + i) * 4, NO)
                    .mul(FloatVector.fromMemorySegment(R, g, (go + i) * 4, NO).sub(s))
                    .intoMemorySegment(dx, (dO + i) * 4, NO);
        if (i < n) {
            VectorMask<Float> m = R.indexInRange(i, n);
            FloatVector.fromMemorySegment(R, out, (oo + i) * 4, NO, m)
                    .mul(FloatVector.fromMemorySegment(R, g, (go + i) * 4, NO, m)
                            .sub(s))
                    .intoMemorySegment(dx, (dO + i) * 4, NO, m);
        }
    }

    /** What an element of {@link #siluBackwardRow} costs in flops beside a hand-off: the exp and six operations. */
    static final long SILU_BACKWARD_FLOPS = 24;

    /**
     * dx = g·(σ·(1 + x·(1 − σ))) over a contiguous row, σ = 1/(1 + e^−x) with the float exp as the SiLU forward has
     * it ({@link FloatKernels}), the products in the order the composed gradient takes them.
     */
    static void siluBackwardRow(MemorySegment x, long xo, MemorySegment g, long go, MemorySegment dx, long dO, int n) {
        int w = R.length(), i = 0;
        for (; i + w <= n; i += w) {
            FloatVector v = FloatVector.fromMemorySegment(R, x, (xo + i) * 4, NO);
            FloatVector sig = FloatVector.broadcast(R, 1f)
                    .div(VectorMath.expFloat(v.neg()).add(1f));
            FloatVector d = sig.mul(v.mul(sig.neg().add(1f)).add(1f));
            FloatVector.fromMemorySegment(R, g, (go + i) * 4, NO).mul(d).intoMemorySegment(dx, (dO + i) * 4, NO);
        }
        if (i < n) siluBackwardTail(x, xo, g, go, dx, dO, i, n);
    }

    /** {@link #siluBackwardRow}'s last, partial vector, in a method of its own as FloatKernels' SiLU tail is. */
    private static void siluBackwardTail(
            MemorySegment x, long xo, MemorySegment g, long go, MemorySegment dx, long dO, int i, int n) {
        VectorMask<Float> m = R.indexInRange(i, n);
        FloatVector v = FloatVector.fromMemorySegment(R, x, (xo + i) * 4, NO, m);
        FloatVector sig =
                FloatVector.broadcast(R, 1f).div(VectorMath.expFloat(v.neg()).add(1f));
        FloatVector d = sig.mul(v.mul(sig.neg().add(1f)).add(1f));
        FloatVector.fromMemorySegment(R, g, (go + i) * 4, NO, m).mul(d).intoMemorySegment(dx, (dO + i) * 4, NO, m);
    }

    /**
     * One row of the norm backward: dx = rstd·(g − mean(g) − x̂·mean(g∘x̂)) with g = dy·w (rms: no mean(g) term,
     * x̂ = x·rstd); adds dy∘x̂ into gw and dy into gb when they are not null. w may be null.
     */
    static void normBackwardRow(
            MemorySegment x,
            long xo,
            MemorySegment w,
            long wo,
            MemorySegment dy,
            long yo,
            float eps,
            boolean rms,
            MemorySegment dx,
            long dO,
            int n,
            float[] gw,
            float[] gb) {
        double mean = 0, sq = 0;
        if (!rms) {
            for (int i = 0; i < n; i++) mean += x.getAtIndex(FL, xo + i);
            mean /= n;
        }
        for (int i = 0; i < n; i++) {
            double c = x.getAtIndex(FL, xo + i) - mean;
            sq += c * c;
        }
        // the mean as two floats, mu + muLo: x - mu is exact where x is near the mean (Sterbenz), so x̂ keeps its
        // relative accuracy when the row's spread is small beside its mean; with mu alone, the mean's rounding
        // (|mean|·2⁻²⁴) was multiplied by rstd into every x̂, and the backward's cancellation of g - mean(g) against
        // x̂·mean(g·x̂) magnified it further
        float mu = (float) mean, muLo = (float) (mean - mu), rstd = (float) (1 / Math.sqrt(sq / n + eps));
        FloatVector muV = FloatVector.broadcast(F, mu), muLoV = FloatVector.broadcast(F, muLo);
        FloatVector rV = FloatVector.broadcast(F, rstd);
        FloatVector sumG = FloatVector.zero(F), sumGx = FloatVector.zero(F);
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            FloatVector xh = load(x, xo + i).sub(muV).sub(muLoV).mul(rV), g = load(dy, yo + i);
            if (w != null) g = g.mul(load(w, wo + i));
            sumG = sumG.add(g);
            sumGx = g.fma(xh, sumGx);
        }
        float mg = LaneSum.sum(sumG), mgx = LaneSum.sum(sumGx);
        for (; i < n; i++) {
            float xh = (x.getAtIndex(FL, xo + i) - mu - muLo) * rstd, g = g(dy, yo, w, wo, i);
            mg += g;
            mgx += g * xh;
        }
        mg = rms ? 0 : mg / n;
        mgx /= n;
        FloatVector mgV = FloatVector.broadcast(F, mg), mgxV = FloatVector.broadcast(F, mgx);
        for (i = 0; i + F.length() <= n; i += F.length()) {
            FloatVector xh = load(x, xo + i).sub(muV).sub(muLoV).mul(rV), d = load(dy, yo + i);
            FloatVector g = w == null ? d : d.mul(load(w, wo + i));
            g.sub(mgV).sub(xh.mul(mgxV)).mul(rV).intoMemorySegment(dx, (dO + i) * 4, NO);
            if (gw != null) d.fma(xh, FloatVector.fromArray(F, gw, i)).intoArray(gw, i);
            if (gb != null) d.add(FloatVector.fromArray(F, gb, i)).intoArray(gb, i);
        }
        for (; i < n; i++) {
            float xh = (x.getAtIndex(FL, xo + i) - mu - muLo) * rstd, d = dy.getAtIndex(FL, yo + i);
            dx.setAtIndex(FL, dO + i, (g(dy, yo, w, wo, i) - mg - xh * mgx) * rstd);
            if (gw != null) gw[i] += d * xh;
            if (gb != null) gb[i] += d;
        }
    }

    private static float g(MemorySegment dy, long yo, MemorySegment w, long wo, int i) {
        float d = dy.getAtIndex(FL, yo + i);
        return w == null ? d : d * w.getAtIndex(FL, wo + i);
    }

    private static FloatVector load(MemorySegment s, long elem) {
        return FloatVector.fromMemorySegment(F, s, elem * 4, NO);
    }
}
