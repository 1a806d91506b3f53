package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused attention and rotary embeddings for F32 rows with unit innermost stride.
 *
 * <p>Attention keeps one running maximum, one running denominator and one output accumulator per query row and
 * streams the keys once (the online softmax of FlashAttention), so memory stays O(Dv) per row whatever the sequence
 * length; a query of length 1 against a KV cache is the same loop. Query heads share kv heads in groups (GQA).
 * Independent (batch, head) pairs run in parallel on the common fork-join pool.
 */
final class AttentionKernels {
    private AttentionKernels() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Element offsets and strides of a [B, H, L, D] view whose last stride is 1. */
    record View4(MemorySegment seg, long offset, long sb, long sh, long sl) {
        long row(long b, long h, long l) { return offset + b * sb + h * sh + l * sl; }
    }

    static void attention(View4 q, View4 k, View4 v, View4 o, int batch, int hq, int hkv, int lq, int lk, int d, int dv,
                          boolean causal, float scale) {
        int group = hq / hkv;
        IntStream.range(0, batch * hq).parallel().forEach(bh -> {
            int b = bh / hq, h = bh % hq, kh = h / group;
            float[] acc = new float[dv];
            for (int i = 0; i < lq; i++) {
                int visible = causal ? Math.min(lk, i + lk - lq + 1) : lk;
                long qRow = q.row(b, h, i);
                float max = Float.NEGATIVE_INFINITY, denom = 0;
                java.util.Arrays.fill(acc, 0);
                for (int j = 0; j < visible; j++) {
                    float s = dot(q.seg(), qRow, k.seg(), k.row(b, kh, j), d) * scale;
                    if (s > max) {   // rescale what was accumulated under the old maximum
                        float c = max == Float.NEGATIVE_INFINITY ? 0 : (float) Math.exp(max - s);
                        denom *= c;
                        scale(acc, c);
                        max = s;
                    }
                    float p = (float) Math.exp(s - max);
                    denom += p;
                    axpy(p, v.seg(), v.row(b, kh, j), acc);
                }
                long oRow = o.row(b, h, i);
                float inv = 1f / denom;   // visible == 0 gives NaN, like softmax over an empty row
                for (int e = 0; e < dv; e++) o.seg().setAtIndex(FL, oRow + e, acc[e] * inv);
            }
        });
    }

    static float dot(MemorySegment a, long ao, MemorySegment b, long bo, int n) {
        FloatVector s = FloatVector.zero(F);
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            s = FloatVector.fromMemorySegment(F, a, (ao + i) * 4, NO).fma(FloatVector.fromMemorySegment(F, b, (bo + i) * 4, NO), s);
        }
        float r = s.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) r += a.getAtIndex(FL, ao + i) * b.getAtIndex(FL, bo + i);
        return r;
    }

    private static void scale(float[] acc, float c) {
        int i = 0;
        for (; i + F.length() <= acc.length; i += F.length()) FloatVector.fromArray(F, acc, i).mul(c).intoArray(acc, i);
        for (; i < acc.length; i++) acc[i] *= c;
    }

    private static void axpy(float p, MemorySegment v, long vo, float[] acc) {
        int n = acc.length, i = 0;
        FloatVector pv = FloatVector.broadcast(F, p);
        for (; i + F.length() <= n; i += F.length()) {
            pv.fma(FloatVector.fromMemorySegment(F, v, (vo + i) * 4, NO), FloatVector.fromArray(F, acc, i)).intoArray(acc, i);
        }
        for (; i < n; i++) acc[i] += p * v.getAtIndex(FL, vo + i);
    }

    /**
     * Rotates one [d] row at position p. Half-split rows are vectorised (the halves are contiguous); interleaved pairs
     * are rotated in a scalar loop.
     */
    static void ropeRow(MemorySegment x, long xo, MemorySegment cos, long co, MemorySegment sin, long so,
                        MemorySegment dst, long dO, int d, boolean interleaved) {
        int half = d / 2;
        if (interleaved) {
            for (int i = 0; i < half; i++) {
                float c = cos.getAtIndex(FL, co + i), s = sin.getAtIndex(FL, so + i);
                float a = x.getAtIndex(FL, xo + 2L * i), b = x.getAtIndex(FL, xo + 2L * i + 1);
                dst.setAtIndex(FL, dO + 2L * i, a * c - b * s);
                dst.setAtIndex(FL, dO + 2L * i + 1, a * s + b * c);
            }
            return;
        }
        for (int i = 0; i < half; i += F.length()) {
            FloatVector a = FloatKernels.load(x, xo, i, half), b = FloatKernels.load(x, xo + half, i, half);
            FloatVector c = FloatKernels.load(cos, co, i, half), s = FloatKernels.load(sin, so, i, half);
            FloatKernels.store(a.mul(c).sub(b.mul(s)), dst, dO, i, half);
            FloatKernels.store(a.mul(s).add(b.mul(c)), dst, dO + half, i, half);
        }
    }
}
