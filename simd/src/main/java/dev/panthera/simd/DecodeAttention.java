package dev.panthera.simd;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Storage;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention of query rows that all see the same first {@code n} keys of one kv head, with no mask: a decode step
 * (one query row per head, or the query heads of a GQA group together). Two passes over the keys instead of the
 * blocked kernel's online softmax: the scores of every key into a per-thread array (scale·q·k; head dimensions up to
 * {@link SmallHeadScores#MAX_D} with the keys across the lanes; at 16 lanes and dimensions a multiple of 16, sixteen
 * keys at a time from a heap copy of their rows, {@link #scores16}; else one vector dot per key), their maximum,
 * e^(s − max) and its sum, then O = Σ_j p_j·V_j / sum with the output accumulators held in registers while the value
 * rows pass (at 16 lanes, sixteen value rows at a time from a heap copy, {@link #weightedBlocks}). The bulk copies
 * read a long cache as a stream, where vector loads from the segment key by key left the decode after a long
 * context mostly waiting on the attention (BENCHMARKS.md, "Decode after a long context"). An F16 or BF16 cache takes
 * the block path at every width and dimension: its rows are widened to F32 into the same heap blocks as they are read,
 * sixteen at a time, and scored there (sixteen together where the F32 path would, else one dot per key).
 * The blocked kernel's per-block SGEMM calls, scratch blocks and accumulator rescaling cost more than the arithmetic
 * at decode's sizes (a few hundred keys, one or a few query rows). Memory: rows × n floats of per-thread scratch,
 * growing with the cache (1 MB at 8 rows × 32k keys), where the blocked kernel's stays bounded by its blocks.
 */
final class DecodeAttention {
    private DecodeAttention() {}

    private static final VectorSpecies<Float> F = Lanes.F, H = Lanes.H;
    private static final VectorSpecies<Short> S =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * 16));
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort SH = ValueLayout.JAVA_SHORT_UNALIGNED;

    /**
     * Per-thread scratch: the scores (then weights) of every row, the query rows, a block of sixteen key rows and one
     * of sixteen value rows (as F32), the rows' output accumulators and 1/sum, and the lanes of a sum. Sized at first
     * use for 8 rows of 2048 keys and dimensions up to 256, so that a growing decode does not take the growth branches
     * (a branch never taken while a method was profiled is compiled as a trap, and taking it deoptimises the method).
     */
    private static final class Scratch {
        float[] s = new float[8 * 2048],
                q = new float[8 * 256],
                kb = new float[16 * MAX_BLOCK_D],
                vb = new float[16 * MAX_BLOCK_D],
                acc = new float[8 * MAX_BLOCK_D],
                inv = new float[8],
                lanes = new float[16];
    }

    /**
     * The largest head dimension whose keys go through {@link #scores16}, and value dimension through
     * {@link #weightedBlocks} (a block of sixteen rows in the heap).
     */
    private static final int MAX_BLOCK_D = 256;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * An additive mask over the keys of each query row: the F32 value for row r and key j at element
     * {@code offset + r·perRow + j·perKey} of {@code seg} (strides may be 0, a broadcast mask).
     */
    record MaskRows(MemorySegment seg, long offset, long perRow, long perKey) {
        /** The rows of query heads h0, h0 + 1, ... of batch row b at query position 0, or null without a mask. */
        static MaskRows of(FusedGradKernels.Mask mask, int b, int h0) {
            if (mask == null) return null;
            return new MaskRows(mask.seg(), mask.head(b, h0), mask.sh(), mask.sj());
        }
    }

    /**
     * A decode step (one query row per head, keys at least one) of F32 queries and output against F16 or BF16 keys and
     * values (a half-precision KV cache), every view with unit innermost stride, through {@link #rows}
     * reading the cache as it is: the query heads of a GQA group together, one task per kv head. {@code mask} (may be
     * null) is an additive [B, Hq, 1, Lk] mask, added to each row's scaled scores. Returns false, having done nothing,
     * for other shapes and dtypes (the caller widens those).
     */
    static boolean halfKvDecode(
            Storage q,
            Layout ql,
            Storage k,
            Layout kl,
            Storage v,
            Layout vl,
            FusedGradKernels.Mask mask,
            float scale,
            Storage o,
            Layout ol) {
        DType kv = k.dtype();
        if (q.dtype() != DType.F32 || o.dtype() != DType.F32 || kv != v.dtype() || kv != DType.F16 && kv != DType.BF16)
            return false;
        for (Layout l : new Layout[] {ql, kl, vl, ol}) if (l.rank() != 4 || l.stride(3) != 1) return false;
        int batch = Math.toIntExact(ql.shape().dim(0)),
                hq = Math.toIntExact(ql.shape().dim(1)),
                hkv = Math.toIntExact(kl.shape().dim(1)),
                lk = Math.toIntExact(kl.shape().dim(2)),
                d = Math.toIntExact(ql.shape().dim(3)),
                dv = Math.toIntExact(vl.shape().dim(3));
        if (ql.shape().dim(2) != 1 || hkv < 1 || hq % hkv != 0 || lk < 1 || d < 1 || dv < 1) return false;
        int group = hq / hkv;
        // the heads of a group are the rows of one call when their output rows do not overlap
        boolean grouped = group > 1 && ol.stride(1) >= dv;
        long flops = 2L * batch * hq * lk * (d + dv);
        Sgemm.forEach(grouped ? batch * hkv : batch * hq, flops, task -> {
            int b = grouped ? task / hkv : task / hq, h0 = grouped ? task % hkv * group : task % hq, kh = h0 / group;
            long qAt = ql.offset() + b * ql.stride(0) + h0 * ql.stride(1);
            long oAt = ol.offset() + b * ol.stride(0) + h0 * ol.stride(1);
            long kAt = kl.offset() + b * kl.stride(0) + kh * kl.stride(1);
            long vAt = vl.offset() + b * vl.stride(0) + kh * vl.stride(1);
            rows(
                    q.segment(),
                    qAt,
                    ql.stride(1),
                    o.segment(),
                    oAt,
                    ol.stride(1),
                    grouped ? group : 1,
                    kv,
                    k.segment(),
                    kAt,
                    kl.stride(2),
                    v.segment(),
                    vAt,
                    vl.stride(2),
                    lk,
                    d,
                    dv,
                    scale,
                    MaskRows.of(mask, b, h0));
        });
        return true;
    }

    /**
     * o[oOff + r·oLd + e] = Σ_{j &lt; n} softmax_j(scale·Σ_c q[qOff + r·qLd + c]·K[j][c])·V[j][e] for r &lt; rows and
     * e &lt; dv, where K[j] starts at element {@code kOff + j·kLd} of {@code k} and V[j] at {@code vOff + j·vLd} of
     * {@code v} (each row's elements contiguous); n ≥ 1. A NaN score makes its row NaN, as softmax does. Queries and
     * output are F32; keys and values are of dtype {@code kv}: F32, or F16 or BF16 (a half-precision KV cache), whose
     * rows are widened to F32 sixteen at a time into the heap block the scores and the weighted sum then read (the
     * arithmetic after the exact widening is the F32 path's). With {@code mask} not null, row r's mask values are added
     * to its scaled scores before the softmax (−∞ hides a key: its weight is exactly 0; a row whose keys are all hidden
     * comes out NaN, as softmax over an empty row does).
     */
    static void rows(
            MemorySegment qs,
            long qOff,
            long qLd,
            MemorySegment os,
            long oOff,
            long oLd,
            int rows,
            DType kv,
            MemorySegment k,
            long kOff,
            long kLd,
            MemorySegment v,
            long vOff,
            long vLd,
            int n,
            int d,
            int dv,
            float scale,
            MaskRows mask) {
        if (n < 1 || rows < 1 || d < 1 || (long) rows * n > Integer.MAX_VALUE)
            throw new IllegalArgumentException(
                    "decode attention: " + rows + " query rows against " + n + " keys of dimension " + d);
        if (kv != DType.F32 && kv != DType.F16 && kv != DType.BF16)
            throw new IllegalArgumentException("decode attention: keys and values of " + kv);
        boolean half = kv != DType.F32;
        Scratch sc = SCRATCH.get();
        if (sc.s.length < rows * n) sc.s = new float[rows * n];
        if (sc.q.length < rows * d) sc.q = new float[rows * d];
        float[] s = sc.s, q = sc.q;
        if (!half && d <= SmallHeadScores.MAX_D) {
            SmallHeadScores.scores(rows, n, d, scale, qs, qOff, qLd, k, kOff, kLd, s);
        } else {
            for (int r = 0; r < rows; r++) MemorySegment.copy(qs, FL, (qOff + r * qLd) * 4, q, r * d, d);
            int j = 0;
            boolean sixteen = F.length() == 16 && d % 16 == 0;
            if (half || sixteen && d <= MAX_BLOCK_D) {
                // sixteen keys at a time, copied to the heap in one piece when the rows are adjacent (a bulk copy
                // streams them from memory; vector loads straight from the segment, sixteen per step, passed C2's
                // inlining budget and left the segment accessors as calls), every row over the block while in L1; a
                // 16-bit cache is widened into the block as it is read, and its last partial block goes through too
                if (sc.kb.length < 16 * d) sc.kb = new float[16 * d];
                float[] kb = sc.kb;
                for (; half ? j < n : j + 16 <= n; j += 16) {
                    int m = Math.min(16, n - j);
                    widenRows(kv, k, kOff + j * kLd, kLd, m, d, kb);
                    if (sixteen && m == 16)
                        for (int r = 0; r < rows; r++) scores16(q, r * d, d, kb, scale, s, r * n + j);
                    else for (int r = 0; r < rows; r++) scoresBlock(q, r * d, d, kb, m, scale, s, r * n + j);
                }
            }
            if (j < n)
                for (int r = 0; r < rows; r++)
                    scoresRow(q, r * d, d, k, kOff + j * kLd, kLd, n - j, scale, s, r * n + j);
        }
        if (mask != null)
            for (int r = 0; r < rows; r++)
                addMask(s, r * n, n, mask.seg(), mask.offset() + r * mask.perRow(), mask.perKey());
        if (half || F.length() == 16 && dv % 16 == 0 && dv <= MAX_BLOCK_D) {
            weightedBlocks(sc, rows, n, kv, dv, v, vOff, vLd, os, oOff, oLd);
            return;
        }
        for (int r = 0; r < rows; r++) {
            float inv = 1f / expShifted(s, r * n, n, max(s, r * n, n), sc.lanes);
            long o = oOff + r * oLd;
            int e = 0;
            for (; e + 4 * F.length() <= dv; e += 4 * F.length())
                weighted4(s, r * n, n, v, vOff + e, vLd, inv, os, o + e);
            for (; e + F.length() <= dv; e += F.length()) weighted1(s, r * n, n, v, vOff + e, vLd, inv, os, o + e);
            for (; e < dv; e += H.length()) weightedHalf(s, r * n, n, v, vOff + e, vLd, dv - e, inv, os, o + e);
        }
    }

    /** s[o + j] += m[mo + j·sj] for j &lt; n, each sum rounded once as the blocked kernel's mask add rounds it. */
    private static void addMask(float[] s, int o, int n, MemorySegment m, long mo, long sj) {
        for (int j = 0; j < n; j++) s[o + j] += m.getAtIndex(FL, mo + j * sj);
    }

    /**
     * Rows i &lt; m of {@code dim} elements each, row i at element {@code off + i·ld} of {@code seg} (of dtype
     * {@code kind}), as floats into out[i·dim ..]: F32 by one bulk copy when the rows are adjacent, F16 and BF16
     * widened exactly as they are read.
     */
    private static void widenRows(DType kind, MemorySegment seg, long off, long ld, int m, int dim, float[] out) {
        if (kind == DType.F32) {
            if (ld == dim) MemorySegment.copy(seg, FL, off * 4, out, 0, m * dim);
            else for (int i = 0; i < m; i++) MemorySegment.copy(seg, FL, (off + i * ld) * 4, out, i * dim, dim);
        } else if (kind == DType.F16) {
            if (ld == dim) f16ToFloats(seg, off, out, 0, m * dim);
            else for (int i = 0; i < m; i++) f16ToFloats(seg, off + i * ld, out, i * dim, dim);
        } else {
            if (ld == dim) bf16ToFloats(seg, off, out, 0, m * dim);
            else for (int i = 0; i < m; i++) bf16ToFloats(seg, off + i * ld, out, i * dim, dim);
        }
    }

    /**
     * out[o + i] = the IEEE binary16 at element {@code at + i} of {@code seg}, i &lt; len: C2 turns the loop into
     * vector loads and conversions (vcvtph2ps), about twice as fast as a bulk copy to the heap and a conversion there.
     */
    private static void f16ToFloats(MemorySegment seg, long at, float[] out, int o, int len) {
        for (int i = 0; i < len; i++) out[o + i] = Float.float16ToFloat(seg.getAtIndex(SH, at + i));
    }

    /**
     * out[o + i] = the bfloat16 (the top half of a float's bits) at element {@code at + i} of {@code seg}, i &lt; len:
     * shorts widened to ints and shifted up a vector at a time (C2 leaves the same scalar loop unvectorised).
     */
    private static void bf16ToFloats(MemorySegment seg, long at, float[] out, int o, int len) {
        int i = 0;
        for (; i + F.length() <= len; i += F.length())
            ((IntVector) ShortVector.fromMemorySegment(S, seg, (at + i) * 2, NO)
                            .convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .intoArray(out, o + i);
        for (; i < len; i++) out[o + i] = Float.intBitsToFloat(seg.getAtIndex(SH, at + i) << 16);
    }

    /**
     * s[so + i] = scale·Σ_{c &lt; d} q[qo + c]·kb[i·d + c] for i &lt; m: {@link #scoresRow}'s dot per key over a heap
     * block of widened rows, the same products in the same order.
     */
    private static void scoresBlock(float[] q, int qo, int d, float[] kb, int m, float scale, float[] s, int so) {
        int L = F.length(), full = d / L * L;
        VectorMask<Float> tail = F.indexInRange(full, d);
        for (int i = 0; i < m; i++) {
            FloatVector acc = FloatVector.zero(F);
            int c = 0;
            for (; c < full; c += L)
                acc = FloatVector.fromArray(F, q, qo + c).fma(FloatVector.fromArray(F, kb, i * d + c), acc);
            if (c < d)
                acc = FloatVector.fromArray(F, q, qo + c, tail).fma(FloatVector.fromArray(F, kb, i * d + c, tail), acc);
            s[so + i] = LaneSum.sum(acc) * scale;
        }
    }

    /**
     * The softmax of each row's scores and O = Σ_j p_j·V_j / sum: the value rows sixteen keys at a time copied (and
     * widened, {@link #widenRows}) to the heap, every row's output accumulated over each block from the heap, then
     * scaled by 1/sum into o. Each output vector is the same FMA chain over j in order as {@link #weighted4}'s and
     * {@link #weighted1}'s, its accumulator carried from block to block in the heap.
     */
    private static void weightedBlocks(
            Scratch sc,
            int rows,
            int n,
            DType kv,
            int dv,
            MemorySegment v,
            long vOff,
            long vLd,
            MemorySegment os,
            long oOff,
            long oLd) {
        if (sc.vb.length < 16 * dv) sc.vb = new float[16 * dv];
        if (sc.acc.length < rows * dv) sc.acc = new float[rows * dv];
        if (sc.inv.length < rows) sc.inv = new float[rows];
        float[] s = sc.s, vb = sc.vb, acc = sc.acc, inv = sc.inv;
        for (int r = 0; r < rows; r++) inv[r] = 1f / expShifted(s, r * n, n, max(s, r * n, n), sc.lanes);
        java.util.Arrays.fill(acc, 0, rows * dv, 0f);
        for (int j = 0; j < n; j += 16) {
            int m = Math.min(16, n - j);
            widenRows(kv, v, vOff + j * vLd, vLd, m, dv, vb);
            for (int r = 0; r < rows; r++) weightedBlock(s, r * n + j, m, vb, dv, acc, r * dv);
        }
        int L = F.length();
        for (int r = 0; r < rows; r++) {
            FloatVector f = FloatVector.broadcast(F, inv[r]);
            long o = (oOff + r * oLd) * 4;
            for (int e = 0; e < dv; e += L) {
                VectorMask<Float> in = F.indexInRange(e, dv);
                FloatVector.fromArray(F, acc, r * dv + e, in).mul(f).intoMemorySegment(os, o + e * 4L, NO, in);
            }
        }
    }

    /** acc[ao + e] += Σ_{i &lt; m} p[po + i]·vb[i·dv + e] for e &lt; dv, i in order. */
    private static void weightedBlock(float[] p, int po, int m, float[] vb, int dv, float[] acc, int ao) {
        int L = F.length(), e = 0;
        for (; e + 4 * L <= dv; e += 4 * L) {
            FloatVector a0 = FloatVector.fromArray(F, acc, ao + e), a1 = FloatVector.fromArray(F, acc, ao + e + L);
            FloatVector a2 = FloatVector.fromArray(F, acc, ao + e + 2 * L),
                    a3 = FloatVector.fromArray(F, acc, ao + e + 3 * L);
            for (int i = 0; i < m; i++) {
                FloatVector w = FloatVector.broadcast(F, p[po + i]);
                int b = i * dv + e;
                a0 = FloatVector.fromArray(F, vb, b).fma(w, a0);
                a1 = FloatVector.fromArray(F, vb, b + L).fma(w, a1);
                a2 = FloatVector.fromArray(F, vb, b + 2 * L).fma(w, a2);
                a3 = FloatVector.fromArray(F, vb, b + 3 * L).fma(w, a3);
            }
            a0.intoArray(acc, ao + e);
            a1.intoArray(acc, ao + e + L);
            a2.intoArray(acc, ao + e + 2 * L);
            a3.intoArray(acc, ao + e + 3 * L);
        }
        for (; e + L <= dv; e += L) {
            FloatVector a = FloatVector.fromArray(F, acc, ao + e);
            for (int i = 0; i < m; i++)
                a = FloatVector.fromArray(F, vb, i * dv + e).fma(FloatVector.broadcast(F, p[po + i]), a);
            a.intoArray(acc, ao + e);
        }
        if (e < dv) {
            VectorMask<Float> in = F.indexInRange(e, dv);
            FloatVector a = FloatVector.fromArray(F, acc, ao + e, in);
            for (int i = 0; i < m; i++)
                a = FloatVector.fromArray(F, vb, i * dv + e, in).fma(FloatVector.broadcast(F, p[po + i]), a);
            a.intoArray(acc, ao + e, in);
        }
    }

    /**
     * s[so + j] = scale·Σ_{c &lt; d} q[qo + c]·K[j][c] for j &lt; n: one vector dot per key, the last piece masked.
     */
    private static void scoresRow(
            float[] q, int qo, int d, MemorySegment k, long kOff, long kLd, int n, float scale, float[] s, int so) {
        int L = F.length(), full = d / L * L;
        VectorMask<Float> tail = F.indexInRange(full, d);
        for (int j = 0; j < n; j++) {
            long at = (kOff + j * kLd) * 4;
            FloatVector acc = FloatVector.zero(F);
            int c = 0;
            for (; c < full; c += L)
                acc = FloatVector.fromArray(F, q, qo + c)
                        .fma(FloatVector.fromMemorySegment(F, k, at + c * 4L, NO), acc);
            if (c < d)
                acc = FloatVector.fromArray(F, q, qo + c, tail)
                        .fma(FloatVector.fromMemorySegment(F, k, at + c * 4L, NO, tail), acc);
            s[so + j] = LaneSum.sum(acc) * scale;
        }
    }

    /**
     * {@link #scoresRow} for sixteen keys at 16 lanes and d a multiple of 16: sixteen dot accumulators (key i's products in lane order, as
     * scoresRow forms them), then their lane sums as one vector in four stages of lane selections that fold each pair of
     * accumulators into one (stage h adds lanes h apart, the first of the pair's partial sums kept where bit h of
     * the lane is clear, the second's where it is set; after the last, lane i holds key i's sum), one store. Per key
     * two selections instead of scoresRow's four rotations and a scalar store; the sums are the same products added
     * in a different tree.
     */
    private static void scores16(float[] q, int qo, int d, float[] kb, float scale, float[] s, int so) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (int c = 0; c < d; c += 16) {
            FloatVector x = FloatVector.fromArray(F, q, qo + c);
            a0 = x.fma(FloatVector.fromArray(F, kb, c), a0);
            a1 = x.fma(FloatVector.fromArray(F, kb, d + c), a1);
            a2 = x.fma(FloatVector.fromArray(F, kb, 2 * d + c), a2);
            a3 = x.fma(FloatVector.fromArray(F, kb, 3 * d + c), a3);
            a4 = x.fma(FloatVector.fromArray(F, kb, 4 * d + c), a4);
            a5 = x.fma(FloatVector.fromArray(F, kb, 5 * d + c), a5);
            a6 = x.fma(FloatVector.fromArray(F, kb, 6 * d + c), a6);
            a7 = x.fma(FloatVector.fromArray(F, kb, 7 * d + c), a7);
            a8 = x.fma(FloatVector.fromArray(F, kb, 8 * d + c), a8);
            a9 = x.fma(FloatVector.fromArray(F, kb, 9 * d + c), a9);
            a10 = x.fma(FloatVector.fromArray(F, kb, 10 * d + c), a10);
            a11 = x.fma(FloatVector.fromArray(F, kb, 11 * d + c), a11);
            a12 = x.fma(FloatVector.fromArray(F, kb, 12 * d + c), a12);
            a13 = x.fma(FloatVector.fromArray(F, kb, 13 * d + c), a13);
            a14 = x.fma(FloatVector.fromArray(F, kb, 14 * d + c), a14);
            a15 = x.fma(FloatVector.fromArray(F, kb, 15 * d + c), a15);
        }
        // written out rather than through a helper: a helper taking vectors, left out of line once this method is past
        // C2's inlining budget, receives them boxed
        FloatVector t0 = LO8.selectFrom(a0, a8).add(HI8.selectFrom(a0, a8));
        FloatVector t1 = LO8.selectFrom(a1, a9).add(HI8.selectFrom(a1, a9));
        FloatVector t2 = LO8.selectFrom(a2, a10).add(HI8.selectFrom(a2, a10));
        FloatVector t3 = LO8.selectFrom(a3, a11).add(HI8.selectFrom(a3, a11));
        FloatVector t4 = LO8.selectFrom(a4, a12).add(HI8.selectFrom(a4, a12));
        FloatVector t5 = LO8.selectFrom(a5, a13).add(HI8.selectFrom(a5, a13));
        FloatVector t6 = LO8.selectFrom(a6, a14).add(HI8.selectFrom(a6, a14));
        FloatVector t7 = LO8.selectFrom(a7, a15).add(HI8.selectFrom(a7, a15));
        FloatVector u0 = LO4.selectFrom(t0, t4).add(HI4.selectFrom(t0, t4));
        FloatVector u1 = LO4.selectFrom(t1, t5).add(HI4.selectFrom(t1, t5));
        FloatVector u2 = LO4.selectFrom(t2, t6).add(HI4.selectFrom(t2, t6));
        FloatVector u3 = LO4.selectFrom(t3, t7).add(HI4.selectFrom(t3, t7));
        FloatVector v0 = LO2.selectFrom(u0, u2).add(HI2.selectFrom(u0, u2));
        FloatVector v1 = LO2.selectFrom(u1, u3).add(HI2.selectFrom(u1, u3));
        LO1.selectFrom(v0, v1).add(HI1.selectFrom(v0, v1)).mul(scale).intoArray(s, so);
    }

    // stage h's selections from the pair (x, y): LOh lane l is x[l] where bit h of l is clear, else y[l - h]; HIh is
    // x[l + h] where clear, else y[l]; so LOh + HIh is x[l] + x[l + h] in the clear lanes, y[l - h] + y[l] in the set
    private static final FloatVector LO8 = select(8, false), HI8 = select(8, true);
    private static final FloatVector LO4 = select(4, false), HI4 = select(4, true);
    private static final FloatVector LO2 = select(2, false), HI2 = select(2, true);
    private static final FloatVector LO1 = select(1, false), HI1 = select(1, true);

    private static FloatVector select(int h, boolean hi) {
        int n = F.length();
        float[] idx = new float[n];
        for (int l = 0; l < n; l++) {
            boolean set = (l & h) != 0;
            idx[l] = (hi ? (set ? n + l : l + h) : (set ? n + l - h : l)) % (2 * n);
        }
        return FloatVector.fromArray(F, idx, 0);
    }

    /**
     * The largest of s[o .. o + n), n ≥ 1 (a NaN there may or may not come out: the exponentials of the row are NaN
     * either way, and so is its output).
     */
    private static float max(float[] s, int o, int n) {
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < n; i += F.length()) {
            VectorMask<Float> in = F.indexInRange(i, n);
            m = m.lanewise(VectorOperators.MAX, FloatVector.fromArray(F, s, o + i, in), in);
        }
        return m.reduceLanes(VectorOperators.MAX);
    }

    // The loops over the keys run their vector body for every n, the last vector masked, rather than a scalar tail:
    // a decode starts with one key, and a vector loop its first steps never entered would be compiled as an uncommon
    // trap (deoptimised once the rows grow) or, for the exp, leave VectorMath.expFloat's call site rare in C2's
    // profile, so out of line, its vectors boxed (C2 inlines its 239 bytes of bytecode only at a frequent call site).

    /** s[o + i] = e^(s[o + i] − m) for i &lt; n, returning their sum. */
    private static float expShifted(float[] s, int o, int n, float m, float[] lanes) {
        int L = F.length();
        FloatVector mv = FloatVector.broadcast(F, m), sum = FloatVector.zero(F);
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> in = F.indexInRange(i, n);
            FloatVector e =
                    VectorMath.expFloat(FloatVector.fromArray(F, s, o + i, in).sub(mv));
            sum = sum.add(e, in);
            e.intoArray(s, o + i, in);
        }
        // LaneSum.sum's halving tree written out here: as a call it passed C2's node budget after the inlined
        // exp (NodeCountInliningCutoff) and stayed out of line, its vector argument boxed on every row
        sum.intoArray(lanes, 0);
        for (int w = L / 2; w >= 1; w /= 2) for (int j = 0; j < w; j++) lanes[j] += lanes[j + w];
        return lanes[0];
    }

    /** o[oo + l] = inv·Σ_{j &lt; n} p[po + j]·V[j][l] for l &lt; 4 vectors; V[j] at element {@code vo + j·vLd}. */
    private static void weighted4(
            float[] p, int po, int n, MemorySegment v, long vo, long vLd, float inv, MemorySegment o, long oo) {
        int L = F.length();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < n; j++) {
            FloatVector w = FloatVector.broadcast(F, p[po + j]);
            long at = (vo + j * vLd) * 4;
            a0 = FloatVector.fromMemorySegment(F, v, at, NO).fma(w, a0);
            a1 = FloatVector.fromMemorySegment(F, v, at + 4L * L, NO).fma(w, a1);
            a2 = FloatVector.fromMemorySegment(F, v, at + 8L * L, NO).fma(w, a2);
            a3 = FloatVector.fromMemorySegment(F, v, at + 12L * L, NO).fma(w, a3);
        }
        a0.mul(inv).intoMemorySegment(o, oo * 4, NO);
        a1.mul(inv).intoMemorySegment(o, (oo + L) * 4, NO);
        a2.mul(inv).intoMemorySegment(o, (oo + 2L * L) * 4, NO);
        a3.mul(inv).intoMemorySegment(o, (oo + 3L * L) * 4, NO);
    }

    /** {@link #weighted4} for one vector of columns. */
    private static void weighted1(
            float[] p, int po, int n, MemorySegment v, long vo, long vLd, float inv, MemorySegment o, long oo) {
        FloatVector a = FloatVector.zero(F);
        for (int j = 0; j < n; j++)
            a = FloatVector.fromMemorySegment(F, v, (vo + j * vLd) * 4, NO).fma(FloatVector.broadcast(F, p[po + j]), a);
        a.mul(inv).intoMemorySegment(o, oo * 4, NO);
    }

    /**
     * {@link #weighted4} for one half-width vector of columns (stories260K's head dimension 8 is one), masked to the
     * first {@code left} when fewer remain.
     */
    private static void weightedHalf(
            float[] p,
            int po,
            int n,
            MemorySegment v,
            long vo,
            long vLd,
            int left,
            float inv,
            MemorySegment o,
            long oo) {
        FloatVector a = FloatVector.zero(H);
        if (left >= H.length()) {
            for (int j = 0; j < n; j++)
                a = FloatVector.fromMemorySegment(H, v, (vo + j * vLd) * 4, NO)
                        .fma(FloatVector.broadcast(H, p[po + j]), a);
            a.mul(inv).intoMemorySegment(o, oo * 4, NO);
            return;
        }
        VectorMask<Float> m = H.indexInRange(0, left);
        for (int j = 0; j < n; j++)
            a = FloatVector.fromMemorySegment(H, v, (vo + j * vLd) * 4, NO, m)
                    .fma(FloatVector.broadcast(H, p[po + j]), a);
        a.mul(inv).intoMemorySegment(o, oo * 4, NO, m);
    }
}
