package dev.panthera.simd;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused attention and rotary embeddings for F32 rows with unit innermost stride.
 *
 * <p>Attention keeps one running maximum, one running denominator and one output accumulator per query row and
 * streams the keys once (the online softmax of FlashAttention), so memory stays bounded whatever the sequence
 * length: blocks of queries against blocks of keys, the two block products on {@link Sgemm}. Query rows that all see
 * the same keys with no mask (a decode step: one query per head, or the heads of a GQA group) go to
 * {@link DecodeAttention} instead, whose scores take one float per key; (batch, head) pairs whose keys fit one row of
 * scores, with enough query rows, go to {@link ShortAttention}. Query heads share kv heads in groups (GQA).
 * Independent (batch, head) pairs run in parallel on GEMM's threads ({@link Sgemm#forEach}) when the call holds
 * enough work to pay for the hand-off, a decode step's flops weighted by {@link #DECODE_WEIGHT}.
 */
final class AttentionKernels {
    private AttentionKernels() {}

    private static final VectorSpecies<Float> F = Lanes.F;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Element offsets and strides of a [B, H, L, D] view whose last stride is 1. */
    record View4(MemorySegment seg, long offset, long sb, long sh, long sl) {
        long row(long b, long h, long l) {
            return offset + b * sb + h * sh + l * sl;
        }
    }

    /**
     * What a flop of a decode step's attention (one query row per head) counts for against GEMM's threshold for a
     * second thread, which is set in GEMV flops: per flop it takes several times a GEMV's time (a fixed cost per head,
     * a softmax pass, the cached keys and values read back from beyond the caches the step's weights went through;
     * in the 110M Llama's decode about 27 µs for 0.1 MFLOP against 20 µs for 0.26 MFLOP of F32 GEMV). With this
     * weight the 110M shape's twelve heads split from 11 cached positions on, TinyLlama's four kv groups from 4,
     * stories260K's heads stay on one thread below 128.
     */
    static final int DECODE_WEIGHT = 8;

    /** Queries and keys per block of the blocked path; a single query (decode) takes longer key blocks. */
    static final int BQ = 64, BK = 64, BK_DECODE = 512;

    private static final GemmConfig ONE_THREAD = GemmConfig.of(1);

    /**
     * softmax(q·kᵀ·scale + mask)·v into o, (batch, head) pairs in parallel. With {@code lse} not null, the kernel that
     * keeps a whole row of scores ({@link ShortAttention}) also writes each row's log-sum-exp there; returns whether
     * the call went that way (false: lse was not written).
     */
    static boolean attention(
            View4 q,
            View4 k,
            View4 v,
            FusedGradKernels.Mask mask,
            FusedGradKernels.Rows lse,
            View4 o,
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
        long flops = 2L * batch * hq * lq * lk * (d + dv), work = lq == 1 ? DECODE_WEIGHT * flops : flops;
        boolean blocked = gemmable(q, lq, d) && gemmable(k, lk, d) && gemmable(v, lk, dv) && gemmable(o, lq, dv);
        if (blocked
                && lq == 1
                && group > 1
                && q.sh() >= d
                && o.sh() >= dv
                && q.sh() <= Integer.MAX_VALUE
                && o.sh() <= Integer.MAX_VALUE) {
            // decode with GQA: the query heads that share a kv head are the rows of one block, so each cached key
            // and value is read once per kv head instead of once per query head
            Sgemm.forEach(batch * hkv, work, bk -> {
                int b = bk / hkv, kh = bk % hkv;
                blocked(
                        q.seg(),
                        q.row(b, kh * group, 0),
                        (int) q.sh(),
                        o.seg(),
                        o.row(b, kh * group, 0),
                        (int) o.sh(),
                        group,
                        k,
                        v,
                        mask,
                        b,
                        kh,
                        kh * group,
                        lk,
                        d,
                        dv,
                        lk,
                        0,
                        scale);
            });
            return false;
        }
        long visible0 = causal ? lk - lq + 1 : lk; // keys query row 0 sees (clamped to [0, lk] by the kernels)
        boolean whole = blocked && ShortAttention.fits(lq, lk, d, dv);
        Sgemm.forEach(batch * hq, work, bh -> {
            int b = bh / hq, h = bh % hq, kh = h / group;
            if (whole) {
                ShortAttention.head(
                        q.seg(),
                        q.row(b, h, 0),
                        ld(q, d),
                        o.seg(),
                        o.row(b, h, 0),
                        ld(o, dv),
                        lq,
                        k,
                        v,
                        mask,
                        b,
                        kh,
                        h,
                        lk,
                        d,
                        dv,
                        visible0,
                        scale,
                        lse);
            } else if (blocked) {
                blocked(
                        q.seg(),
                        q.row(b, h, 0),
                        ld(q, d),
                        o.seg(),
                        o.row(b, h, 0),
                        ld(o, dv),
                        lq,
                        k,
                        v,
                        mask,
                        b,
                        kh,
                        h,
                        lk,
                        d,
                        dv,
                        visible0,
                        1,
                        scale);
            } else {
                rowwiseHead(q, k, v, mask, o, b, h, kh, lq, lk, d, dv, causal, scale);
            }
        });
        return whole;
    }

    /** Whether a view's rows can be a GEMM operand: rows at least {@code cols} apart (or a single row), int-sized. */
    private static boolean gemmable(View4 x, int rows, int cols) {
        return (rows <= 1 || x.sl() >= cols) && x.sl() <= Integer.MAX_VALUE;
    }

    /** The leading dimension to hand GEMM for a gemmable view. */
    private static int ld(View4 x, int cols) {
        return x.sl() >= cols ? (int) x.sl() : Math.max(1, cols);
    }

    /**
     * Attention for {@code rows} query rows (row r at {@code qOff + r·qLd}, its output at {@code oOff + r·oLd}) against
     * one kv head, as FlashAttention does it with GEMMs for the block products: for each block of rows,
     * S = scale·Q·Kᵀ over a block of keys (SGEMM, single-threaded: the heads are the parallel loop), the causal
     * mask and the online-softmax update per row (new running maximum, rescale of the denominator and of the output
     * accumulator, P = exp(S − max) in place), then O += P·V (SGEMM). Row r sees keys [0, visible0 + r·step), clamped to
     * [0, lk] (causal: lk − lq + 1, negative where the queries outnumber the keys, so the first rows see none; lk sees
     * all); key blocks past what the block's last row sees are skipped.
     * An additive mask, when not null, is added to each row's scores before the softmax update (−∞ hides a key, so a
     * padded key gets weight exactly 0). Row r is query (head h, position i0 + r) when {@code step} is 1, and query
     * (head h + r, position 0) when {@code step} is 0 (the GQA decode rows are the heads of one kv head).
     * Memory: one score block and one accumulator block per task, whatever the length. Rows that all see the same
     * keys (a decode step) go to {@link DecodeAttention#rows} (one score per key per row), with their mask rows.
     */
    private static void blocked(
            MemorySegment qs,
            long qOff,
            int qLd,
            MemorySegment os,
            long oOff,
            int oLd,
            int rows,
            View4 k,
            View4 v,
            FusedGradKernels.Mask mask,
            int b,
            int kh,
            int h,
            int lk,
            int d,
            int dv,
            long visible0,
            int step,
            float scale) {
        int allSee = (int) Math.clamp(visible0, 0, lk); // keys row 0 sees
        if ((rows == 1 || step == 0) && allSee > 0 && d > 0) { // rows that see the same keys: decode
            DecodeAttention.rows(
                    qs,
                    qOff,
                    qLd,
                    os,
                    oOff,
                    oLd,
                    rows,
                    DType.F32,
                    k.seg(),
                    k.row(b, kh, 0),
                    ld(k, d),
                    v.seg(),
                    v.row(b, kh, 0),
                    ld(v, dv),
                    allSee,
                    d,
                    dv,
                    scale,
                    // row r is query head h + r (step 0), or the one row at query position 0 of head h
                    DecodeAttention.MaskRows.of(mask, b, h));
            return;
        }
        int bkMax = rows == 1 || step == 0 ? BK_DECODE : BK;
        float[] max = new float[BQ], denom = new float[BQ];
        // scratch sized to the blocks this call uses (decode: a few rows), from the host pool: a decode step calls
        // this once per head group and layer, and takes cached blocks instead of a native allocation each time. Both
        // are written before they are read (the scores by their product, the accumulator zeroed per row block).
        int bqMax = Math.min(BQ, rows);
        long sBytes = (long) bqMax * bkMax * 4, accBytes = (long) bqMax * Math.max(1, dv) * 4;
        MemoryPool.Allocation sBlock = MemoryPool.host().allocate(sBytes);
        MemoryPool.Allocation accBlock = null;
        try {
            accBlock = MemoryPool.host().allocate(accBytes);
            MemorySegment s = sBlock.memory().asSlice(0, sBytes);
            MemorySegment acc = accBlock.memory().asSlice(0, accBytes);
            for (int i0 = 0; i0 < rows; i0 += BQ) {
                int bq = Math.min(BQ, rows - i0);
                java.util.Arrays.fill(max, Float.NEGATIVE_INFINITY);
                java.util.Arrays.fill(denom, 0);
                acc.fill((byte) 0);
                int seen = Math.clamp(visible0 + (long) (i0 + bq - 1) * step, 0, lk); // the block's last row
                for (int j0 = 0; j0 < seen; j0 += bkMax) {
                    int bk = Math.min(bkMax, seen - j0);
                    long qRow = qOff + (long) i0 * qLd, kRow = k.row(b, kh, j0);
                    int kLd = ld(k, d);
                    if (d > 0 && d <= SmallHeadScores.MAX_D)
                        SmallHeadScores.scores(bq, bk, d, scale, qs, qRow, qLd, k.seg(), kRow, kLd, s);
                    else
                        Sgemm.sgemm(
                                ONE_THREAD,
                                false,
                                true,
                                bq,
                                bk,
                                d,
                                scale,
                                qs,
                                qRow,
                                qLd,
                                k.seg(),
                                kRow,
                                kLd,
                                0f,
                                s,
                                0,
                                bk);
                    for (int r = 0; r < bq; r++) {
                        int visible = Math.clamp(visible0 + (long) (i0 + r) * step, 0, lk);
                        int n = Math.clamp((long) visible - j0, 0, bk); // this row's unmasked scores in the block
                        long row = (long) r * bk;
                        if (mask != null && n > 0) {
                            long mRow = step == 0
                                    ? mask.head(b, h + i0 + r)
                                    : mask.head(b, h) + (long) (i0 + r) * mask.si();
                            addMaskRow(s, row, n, mask.seg(), mRow + j0 * mask.sj(), mask.sj());
                        }
                        float m = n == 0
                                ? Float.NEGATIVE_INFINITY
                                : Math.max(max[r], FloatKernels.extremeRow(s, row, n, true));
                        if (m == Float.NEGATIVE_INFINITY) { // nothing visible yet: P is 0, the row stays empty
                            s.asSlice(row * 4, (long) bk * 4).fill((byte) 0);
                            continue;
                        }
                        float c = max[r] == Float.NEGATIVE_INFINITY ? 0 : (float) Math.exp(max[r] - m);
                        float sum = expShiftedRow(s, row, n, m);
                        if (n < bk)
                            s.asSlice((row + n) * 4, (long) (bk - n) * 4).fill((byte) 0);
                        denom[r] = denom[r] * c + sum;
                        if (c != 1f) scaleRow(acc, (long) r * dv, dv, c);
                        max[r] = m;
                    }
                    Sgemm.sgemm(
                            ONE_THREAD,
                            false,
                            false,
                            bq,
                            dv,
                            bk,
                            1f,
                            s,
                            0,
                            bk,
                            v.seg(),
                            v.row(b, kh, j0),
                            ld(v, dv),
                            1f,
                            acc,
                            0,
                            Math.max(1, dv));
                }
                for (int r = 0; r < bq; r++) {
                    float inv = 1f / denom[r]; // no visible key gives 0·∞ = NaN, like softmax over an empty row
                    scaledInto(acc, (long) r * dv, dv, inv, os, oOff + (long) (i0 + r) * oLd);
                }
            }
        } finally {
            sBlock.release();
            if (accBlock != null) accBlock.release();
        }
    }

    /** s[o + i] += m[mo + i·sj] for i &lt; n: a vector add when the mask row is dense, a strided loop otherwise. */
    private static void addMaskRow(MemorySegment s, long o, int n, MemorySegment m, long mo, long sj) {
        int i = 0;
        if (sj == 1) {
            for (; i + F.length() <= n; i += F.length()) {
                FloatVector.fromMemorySegment(F, s, (o + i) * 4, NO)
                        .add(FloatVector.fromMemorySegment(F, m, (mo + i) * 4, NO))
                        .intoMemorySegment(s, (o + i) * 4, NO);
            }
        }
        for (; i < n; i++) s.setAtIndex(FL, o + i, s.getAtIndex(FL, o + i) + m.getAtIndex(FL, mo + i * sj));
    }

    /** s[o + i] = e^(s[o + i] − m) for i &lt; n, returning their sum. */
    private static float expShiftedRow(MemorySegment s, long o, int n, float m) {
        FloatVector mv = FloatVector.broadcast(F, m), sum = FloatVector.zero(F);
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            FloatVector e = VectorMath.expFloat(
                    FloatVector.fromMemorySegment(F, s, (o + i) * 4, NO).sub(mv));
            sum = sum.add(e);
            e.intoMemorySegment(s, (o + i) * 4, NO);
        }
        float t = LaneSum.sum(sum);
        for (; i < n; i++) {
            float e = (float) Math.exp(s.getAtIndex(FL, o + i) - m);
            t += e;
            s.setAtIndex(FL, o + i, e);
        }
        return t;
    }

    /**
     * dst[d + i] = src[o + i]·c for i &lt; n. A loop of its own, as are the other vector loops {@link #blocked} calls:
     * C2 runs out of its node budget inside that method, and a vector passed to or returned from a call it did not
     * inline goes through the heap; only scalars and segments cross these calls.
     */
    private static void scaledInto(MemorySegment src, long o, int n, float c, MemorySegment dst, long d) {
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            FloatVector.fromMemorySegment(F, src, (o + i) * 4, NO).mul(c).intoMemorySegment(dst, (d + i) * 4, NO);
        }
        for (; i < n; i++) dst.setAtIndex(FL, d + i, src.getAtIndex(FL, o + i) * c);
    }

    private static void scaleRow(MemorySegment s, long o, int n, float c) {
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            FloatVector.fromMemorySegment(F, s, (o + i) * 4, NO).mul(c).intoMemorySegment(s, (o + i) * 4, NO);
        }
        for (; i < n; i++) s.setAtIndex(FL, o + i, s.getAtIndex(FL, o + i) * c);
    }

    /**
     * One (batch, head) pair one query row at a time, the additive mask (if any) added to each score: views whose rows
     * overlap (stride 0, say) cannot be GEMM operands.
     */
    private static void rowwiseHead(
            View4 q,
            View4 k,
            View4 v,
            FusedGradKernels.Mask mask,
            View4 o,
            int b,
            int h,
            int kh,
            int lq,
            int lk,
            int d,
            int dv,
            boolean causal,
            float scale) {
        float[] acc = new float[dv];
        for (int i = 0; i < lq; i++) {
            int visible = causal ? Math.clamp((long) i + lk - lq + 1, 0, lk) : lk;
            long qRow = q.row(b, h, i);
            float max = Float.NEGATIVE_INFINITY, denom = 0;
            java.util.Arrays.fill(acc, 0);
            for (int j = 0; j < visible; j++) {
                float s = dot(q.seg(), qRow, k.seg(), k.row(b, kh, j), d) * scale;
                if (mask != null) s += mask.at(b, h, i, j);
                if (s == Float.NEGATIVE_INFINITY) continue; // a hidden key: weight 0 (and no e^(−∞ + ∞) = NaN)
                if (s > max) { // rescale what was accumulated under the old maximum
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
            float inv = 1f / denom; // visible == 0 gives NaN, like softmax over an empty row
            for (int e = 0; e < dv; e++) o.seg().setAtIndex(FL, oRow + e, acc[e] * inv);
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

    private static void scale(float[] acc, float c) {
        int i = 0;
        for (; i + F.length() <= acc.length; i += F.length())
            FloatVector.fromArray(F, acc, i).mul(c).intoArray(acc, i);
        for (; i < acc.length; i++) acc[i] *= c;
    }

    private static void axpy(float p, MemorySegment v, long vo, float[] acc) {
        int n = acc.length, i = 0;
        FloatVector pv = FloatVector.broadcast(F, p);
        for (; i + F.length() <= n; i += F.length()) {
            pv.fma(FloatVector.fromMemorySegment(F, v, (vo + i) * 4, NO), FloatVector.fromArray(F, acc, i))
                    .intoArray(acc, i);
        }
        for (; i < n; i++) acc[i] += p * v.getAtIndex(FL, vo + i);
    }

    /** Lane i takes lane i ^ 1 (swaps each pair), and lane i/2 of the low or the high half (repeats each element twice). */
    private static final VectorShuffle<Float> SWAP_PAIRS = VectorShuffle.fromOp(F, i -> i ^ 1);

    private static final VectorShuffle<Float> REPEAT_LOW = VectorShuffle.fromOp(F, i -> i / 2);
    private static final VectorShuffle<Float> REPEAT_HIGH = VectorShuffle.fromOp(F, i -> F.length() / 2 + i / 2);
    /** −1 on even lanes, +1 on odd: (a, b)·c + (b, a)·(−s, s) = (a·c − b·s, b·c + a·s). */
    private static final FloatVector ALTERNATE_SIGN = FloatVector.fromArray(F, alternateSign(F.length()), 0);

    private static float[] alternateSign(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (i & 1) == 0 ? -1f : 1f;
        return v;
    }

    /**
     * Rotates one [d] row at position p. Half-split rows: the halves are contiguous, so plain vector loads. Interleaved
     * pairs (a, b): a vector of pairs times the cos values repeated pairwise, plus the pair-swapped vector times the
     * sin values repeated pairwise with alternating sign, two vectors of pairs per vector of cos/sin values. Tails
     * (and rows shorter than a vector, e.g. stories260K's head size 8) use masked loads and stores, not a scalar
     * loop: a stories260K profile had the scalar segment accesses at 40% of a 128-token prefill.
     */
    static void ropeRow(
            MemorySegment x,
            long xo,
            MemorySegment cos,
            long co,
            MemorySegment sin,
            long so,
            MemorySegment dst,
            long dO,
            int d,
            boolean interleaved) {
        int half = d / 2;
        if (interleaved) ropePairs(x, xo, cos, co, sin, so, dst, dO, half);
        else ropeHalves(x, xo, cos, co, sin, so, dst, dO, half);
    }

    /**
     * The interleaved rotation: full steps (L pairs, two vectors of x) with plain loads and stores, then the tail
     * ({@link #ropePairsTail}) with masks. As one loop through FloatKernels' two-path load and store, C2's compile of
     * it was large and slow enough to hold up the compiler thread every other kernel of a model's first decode steps
     * waits for (BENCHMARKS.md, a short generation from a cold process); this form compiles to far less.
     */
    private static void ropePairs(
            MemorySegment x,
            long xo,
            MemorySegment cos,
            long co,
            MemorySegment sin,
            long so,
            MemorySegment dst,
            long dO,
            int half) {
        int L = F.length(), end = F.loopBound(half), i = 0; // one vector of cos/sin covers L pairs = two of x
        for (; i < end; i += L) { // i counts pairs
            FloatVector c = FloatVector.fromMemorySegment(F, cos, (co + i) * 4, NO),
                    sn = FloatVector.fromMemorySegment(F, sin, (so + i) * 4, NO);
            long at = (xo + 2L * i) * 4, to = (dO + 2L * i) * 4;
            FloatVector lo = FloatVector.fromMemorySegment(F, x, at, NO),
                    hi = FloatVector.fromMemorySegment(F, x, at + 4L * L, NO);
            pairsOut(lo, c, sn, REPEAT_LOW).intoMemorySegment(dst, to, NO);
            pairsOut(hi, c, sn, REPEAT_HIGH).intoMemorySegment(dst, to + 4L * L, NO);
        }
        if (i < half) ropePairsTail(x, xo, cos, co, sin, so, dst, dO, half, i);
    }

    /** One vector of pairs rotated: v·cos(repeated) + swap(v)·sin(repeated, alternate sign). */
    private static FloatVector pairsOut(FloatVector v, FloatVector c, FloatVector sn, VectorShuffle<Float> repeat) {
        return v.mul(c.rearrange(repeat))
                .add(v.rearrange(SWAP_PAIRS).mul(sn.rearrange(repeat).mul(ALTERNATE_SIGN)));
    }

    /** The pairs from {@code i} on, fewer than a vector of cos/sin values: masked loads and stores. */
    private static void ropePairsTail(
            MemorySegment x,
            long xo,
            MemorySegment cos,
            long co,
            MemorySegment sin,
            long so,
            MemorySegment dst,
            long dO,
            int half,
            int i) {
        int L = F.length();
        FloatVector c = FloatKernels.load(cos, co, i, half), sn = FloatKernels.load(sin, so, i, half);
        long at = xo + 2L * i, to = dO + 2L * i;
        int rest = 2 * (half - i); // elements of x left from `at`
        FloatVector lo = FloatKernels.load(x, at, 0, rest), hi = FloatKernels.load(x, at, L, rest);
        FloatKernels.store(pairsOut(lo, c, sn, REPEAT_LOW), dst, to, 0, rest);
        if (rest > L) FloatKernels.store(pairsOut(hi, c, sn, REPEAT_HIGH), dst, to, L, rest);
    }

    /**
     * The half-split rotation: full vectors loaded and stored directly, the tail masked. A method of its own, small
     * enough for C2 to inline every load: inside ropeRow, loads through FloatKernels' two-path helper stayed calls
     * and boxed each vector.
     */
    private static void ropeHalves(
            MemorySegment x,
            long xo,
            MemorySegment cos,
            long co,
            MemorySegment sin,
            long so,
            MemorySegment dst,
            long dO,
            int half) {
        int L = F.length(), end = F.loopBound(half), i = 0;
        for (; i < end; i += L) {
            FloatVector a = FloatVector.fromMemorySegment(F, x, (xo + i) * 4, NO),
                    b = FloatVector.fromMemorySegment(F, x, (xo + half + i) * 4, NO);
            FloatVector c = FloatVector.fromMemorySegment(F, cos, (co + i) * 4, NO),
                    s = FloatVector.fromMemorySegment(F, sin, (so + i) * 4, NO);
            a.mul(c).sub(b.mul(s)).intoMemorySegment(dst, (dO + i) * 4, NO);
            a.mul(s).add(b.mul(c)).intoMemorySegment(dst, (dO + half + i) * 4, NO);
        }
        if (i < half) {
            FloatVector a = FloatKernels.load(x, xo, i, half), b = FloatKernels.load(x, xo + half, i, half);
            FloatVector c = FloatKernels.load(cos, co, i, half), s = FloatKernels.load(sin, so, i, half);
            FloatKernels.store(a.mul(c).sub(b.mul(s)), dst, dO, i, half);
            FloatKernels.store(a.mul(s).add(b.mul(c)), dst, dO + half, i, half);
        }
    }
}
