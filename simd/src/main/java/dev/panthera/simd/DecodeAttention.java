package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention of query rows that all see the same first {@code n} keys of one kv head, with no mask: a decode step
 * (one query row per head, or the query heads of a GQA group together). Two passes over the keys instead of the
 * blocked kernel's online softmax: the scores of every key into a per-thread array (scale·q·k, one vector dot per
 * key; head dimensions up to {@link SmallHeadScores#MAX_D} with the keys across the lanes), their maximum, e^(s − max)
 * and its sum, then O = Σ_j p_j·V_j / sum with the output accumulators held in registers while the value rows pass.
 * The blocked kernel's per-block SGEMM calls, scratch blocks and accumulator rescaling cost more than the arithmetic
 * at decode's sizes (a few hundred keys, one or a few query rows). Memory: rows × n floats of per-thread scratch,
 * growing with the cache (1 MB at 8 rows × 32k keys), where the blocked kernel's stays bounded by its blocks.
 */
final class DecodeAttention {
    private DecodeAttention() {}

    private static final VectorSpecies<Float> F = Lanes.F, H = Lanes.H;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * Per-thread scratch: the scores (then weights) of every row, one query row, and the lanes of a sum. Sized at
     * first use for 8 rows of 2048 keys and head dimensions up to 256, so that a growing decode does not take the
     * growth branches (a branch never taken while a method was profiled is compiled as a trap, and taking it
     * deoptimises the method).
     */
    private static final class Scratch {
        float[] s = new float[8 * 2048], q = new float[256], lanes = new float[16];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * o[oOff + r·oLd + e] = Σ_{j &lt; n} softmax_j(scale·Σ_c q[qOff + r·qLd + c]·K[j][c])·V[j][e] for r &lt; rows and
     * e &lt; dv, where K[j] starts at element {@code kOff + j·kLd} of {@code k} and V[j] at {@code vOff + j·vLd} of
     * {@code v} (F32 elements, each row's elements contiguous); n ≥ 1. A NaN score makes its row NaN, as softmax does.
     */
    static void rows(
            MemorySegment qs,
            long qOff,
            long qLd,
            MemorySegment os,
            long oOff,
            long oLd,
            int rows,
            MemorySegment k,
            long kOff,
            long kLd,
            MemorySegment v,
            long vOff,
            long vLd,
            int n,
            int d,
            int dv,
            float scale) {
        if (n < 1 || rows < 1 || d < 1 || (long) rows * n > Integer.MAX_VALUE)
            throw new IllegalArgumentException(
                    "decode attention: " + rows + " query rows against " + n + " keys of dimension " + d);
        Scratch sc = SCRATCH.get();
        if (sc.s.length < rows * n) sc.s = new float[rows * n];
        if (sc.q.length < d) sc.q = new float[d];
        float[] s = sc.s, q = sc.q;
        if (d <= SmallHeadScores.MAX_D) {
            SmallHeadScores.scores(rows, n, d, scale, qs, qOff, qLd, k, kOff, kLd, s);
        } else {
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(qs, FL, (qOff + r * qLd) * 4, q, 0, d);
                scoresRow(q, d, k, kOff, kLd, n, scale, s, r * n);
            }
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

    /** s[so + j] = scale·Σ_{c &lt; d} q[c]·K[j][c] for j &lt; n: one vector dot per key, the last piece masked. */
    private static void scoresRow(
            float[] q, int d, MemorySegment k, long kOff, long kLd, int n, float scale, float[] s, int so) {
        int L = F.length(), full = d / L * L;
        VectorMask<Float> tail = F.indexInRange(full, d);
        for (int j = 0; j < n; j++) {
            long at = (kOff + j * kLd) * 4;
            FloatVector acc = FloatVector.zero(F);
            int c = 0;
            for (; c < full; c += L)
                acc = FloatVector.fromArray(F, q, c).fma(FloatVector.fromMemorySegment(F, k, at + c * 4L, NO), acc);
            if (c < d)
                acc = FloatVector.fromArray(F, q, c, tail)
                        .fma(FloatVector.fromMemorySegment(F, k, at + c * 4L, NO, tail), acc);
            s[so + j] = LaneSum.sum(acc) * scale;
        }
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
