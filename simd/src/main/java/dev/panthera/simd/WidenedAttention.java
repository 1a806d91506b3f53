package dev.panthera.simd;

import static dev.panthera.simd.FloatRows.lastStride;
import static dev.panthera.simd.FloatRows.narrow;
import static dev.panthera.simd.FloatRows.rowLength;
import static dev.panthera.simd.FloatRows.rows;
import static dev.panthera.simd.FloatRows.widen;

import dev.panthera.tensor.Layout;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * RoPE and attention for F32, BF16 and F16 tensors of any layout, computed in F32: RoPE widens one row of x and the
 * cos/sin rows of its position at a time; attention widens one kv head's keys and values and then, for each query
 * head that reads them, that head's queries, runs {@link AttentionKernels} on the dense F32 blocks (with that head's
 * rows of an additive F32 mask, where there is one) and narrows the output head into place (round to nearest even).
 * Scratch is per row or per head, never a converted tensor.
 */
final class WidenedAttention {
    private WidenedAttention() {}

    static void rope(
            Storage x,
            Layout xl,
            Storage cos,
            Layout cl,
            Storage sin,
            Layout sl,
            boolean interleaved,
            Storage dst,
            Layout dl) {
        int r = xl.rank(), d = rowLength(xl), half = d / 2;
        if (d == 0 || xl.numel() == 0) return;
        long seq = xl.shape().dim(r - 2);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = arena.allocate(d * 4L, 64), ys = arena.allocate(d * 4L, 64);
            MemorySegment cs = arena.allocate(Math.max(1, half) * 4L, 64),
                    ss = arena.allocate(Math.max(1, half) * 4L, 64);
            StridedCursor cx = new StridedCursor(rows(xl)), cd = new StridedCursor(rows(dl));
            long sx = lastStride(xl), sd = lastStride(dl);
            for (long row = 0, n = xl.numel() / d; row < n; row++) {
                long p = row % seq; // rows run over [..., seq] in row-major order
                widen(x.segment(), x.dtype(), cx.next(), sx, d, xs, 0);
                widen(cos.segment(), cos.dtype(), cl.offset() + p * cl.stride(0), cl.stride(1), half, cs, 0);
                widen(sin.segment(), sin.dtype(), sl.offset() + p * sl.stride(0), sl.stride(1), half, ss, 0);
                AttentionKernels.ropeRow(xs, 0, cs, 0, ss, 0, ys, 0, d, interleaved);
                narrow(ys, 0, d, dst.segment(), dst.dtype(), cd.next(), sd);
            }
        }
    }

    static void attention(
            Storage q,
            Layout ql,
            Storage k,
            Layout kl,
            Storage v,
            Layout vl,
            FusedGradKernels.Mask mask,
            boolean causal,
            double scale,
            Storage dst,
            Layout dl) {
        int batch = Math.toIntExact(ql.shape().dim(0)),
                hq = Math.toIntExact(ql.shape().dim(1)),
                hkv = Math.toIntExact(kl.shape().dim(1)),
                lq = Math.toIntExact(ql.shape().dim(2)),
                lk = Math.toIntExact(kl.shape().dim(2)),
                d = Math.toIntExact(ql.shape().dim(3)),
                dv = Math.toIntExact(vl.shape().dim(3));
        if (dl.numel() == 0) return;
        int group = hq / hkv;
        long flops = 2L * batch * hq * lq * lk * (d + dv);
        Sgemm.forEach(batch * hkv, flops, bk -> {
            int b = bk / hkv, kh = bk % hkv;
            // the four blocks from the host pool, so that a steady loop (a prompt against a 16-bit KV cache comes
            // here once per layer) allocates no native memory after its first call
            MemoryPool.Allocation[] held = new MemoryPool.Allocation[4];
            try {
                MemorySegment ks = block(held, 0, lk, d), vs = block(held, 1, lk, dv);
                MemorySegment qs = block(held, 2, lq, d), os = block(held, 3, lq, dv);
                head(k, kl, b, kh, lk, d, ks);
                head(v, vl, b, kh, lk, dv, vs);
                for (int h = kh * group; h < (kh + 1) * group; h++) {
                    head(q, ql, b, h, lq, d, qs);
                    AttentionKernels.attention(
                            dense(qs, lq, d),
                            dense(ks, lk, d),
                            dense(vs, lk, dv),
                            mask == null ? null : headMask(mask, b, h),
                            null,
                            dense(os, lq, dv),
                            1,
                            1,
                            1,
                            lq,
                            lk,
                            d,
                            dv,
                            causal,
                            (float) scale);
                    long o = dl.offset() + b * dl.stride(0) + h * dl.stride(1);
                    for (int i = 0; i < lq; i++)
                        narrow(os, (long) i * dv, dv, dst.segment(), dst.dtype(), o + i * dl.stride(2), dl.stride(3));
                }
            } finally {
                for (MemoryPool.Allocation a : held) if (a != null) a.release();
            }
        });
    }

    /** Head (b, h)'s rows of {@code mask}, as the mask of a one-batch, one-head call. */
    private static FusedGradKernels.Mask headMask(FusedGradKernels.Mask mask, int b, int h) {
        return new FusedGradKernels.Mask(mask.seg(), mask.head(b, h), 0, 0, mask.si(), mask.sj());
    }

    /** A block of len × d floats from the host pool into held[i] (every element is written before it is read). */
    private static MemorySegment block(MemoryPool.Allocation[] held, int i, int len, int d) {
        long bytes = Math.max(1L, (long) len * d) * 4;
        held[i] = MemoryPool.host().allocate(bytes);
        return held[i].memory().asSlice(0, bytes);
    }

    /** Head (b, h) of a [B, H, L, D] tensor widened into the dense [L, D] F32 block {@code out}. */
    private static void head(Storage s, Layout l, int b, int h, int len, int d, MemorySegment out) {
        long o = l.offset() + b * l.stride(0) + h * l.stride(1);
        for (int i = 0; i < len; i++)
            widen(s.segment(), s.dtype(), o + i * l.stride(2), l.stride(3), d, out, (long) i * d);
    }

    private static AttentionKernels.View4 dense(MemorySegment s, int len, int d) {
        long block = (long) len * d;
        return new AttentionKernels.View4(s, 0, block, block, d);
    }
}
