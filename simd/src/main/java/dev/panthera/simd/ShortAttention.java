package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention for one (batch, query head) pair whose keys all fit one row of scores: at most {@link #MAX_KEYS} keys,
 * head dims up to {@link #MAX_D}, at least {@link #MIN_ROWS} query rows (BERT's attention, a prompt's). The key block
 * is transposed once into the heap ([e][j], keys across the lanes) and the values copied, both padded with zeros to
 * whole pairs of vectors; then eight query rows at a time (four, or one, at the end) take
 *
 * <ul>
 *   <li>their scores, eight rows by two vectors of keys in registers per step over the head dimension (each score the
 *       FMA chain over e in order, then the product with scale, as {@link SmallHeadScores} forms it),
 *   <li>the additive mask and the softmax over the whole visible row (every key is in the one block, so no online
 *       rescaling),
 *   <li>P·V, eight rows by two vectors of value dims in registers per key,
 * </ul>
 *
 * and the division by each row's sum. The blocked path ({@link AttentionKernels}) runs two small SGEMMs per block of
 * 64 queries and 64 keys, packing both operands of each; at BERT's sizes (d = 32, 128 keys) the packing was a large
 * share of attention's time (BENCHMARKS.md, "ShortAttention").
 *
 * <p>Visibility and masks as the blocked path has them: row r (query position r) sees keys [0, visible0 + r) clamped
 * to [0, lk]; the mask, when not null, is added to the visible scores; a row that sees no key (or only −∞ scores)
 * gives NaN, as softmax over an empty row does.
 */
final class ShortAttention {
    private ShortAttention() {}

    /**
     * The most keys taken here ({@code -Dpanthera.simd.shortAttentionKeys=N}; 0 sends every call to the blocked path).
     * 1024 covers a prompt after a context of several hundred tokens (a 128-token prefill after 512 cached ones sees
     * 640 keys, and ran faster here than on the blocked path, BENCHMARKS.md "Decode after a long context"); the
     * per-thread scratch grows to about 12·keys·d bytes (the key rows, their transposition and the values).
     */
    static final int MAX_KEYS = Integer.getInteger("panthera.simd.shortAttentionKeys", 1024);
    /** The largest query/key and value head dims taken here. */
    static final int MAX_D = 128;
    /**
     * The fewest query rows taken here: the key block's transposition costs about as much as a few rows' products, so
     * a decode step or a short chunk stays on the blocked path.
     */
    static final int MIN_ROWS = 16;

    private static final VectorSpecies<Float> F = Lanes.F;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    static boolean fits(int rows, int lk, int d, int dv) {
        return rows >= MIN_ROWS && lk >= 1 && lk <= MAX_KEYS && d >= 1 && d <= MAX_D && dv >= 1 && dv <= MAX_D;
    }

    /** Query rows per group: the products keep eight rows by two vectors (16 accumulators) in registers. */
    private static final int G = 8;

    /**
     * Per-thread arrays, grown to the largest call seen: the key rows as read and transposed, the values, a group's
     * query rows, their scores and outputs; and the gather's lane offsets (lane l at l·d).
     */
    private static final class Scratch {
        float[] kr = new float[0],
                kt = new float[0],
                vv = new float[0],
                qa = new float[0],
                s = new float[0],
                out = new float[0];
        final float[] sums = new float[G], maxes = new float[G];
        final int[] visible = new int[G], lanes = new int[F.length()];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Rows [0, rows) of one query head (row r at {@code qOff + r·qLd}, its output at {@code oOff + r·oLd}) against kv
     * head {@code kh} of batch {@code b}; {@code h} is the query head (for the mask).
     */
    static void head(
            MemorySegment qs,
            long qOff,
            int qLd,
            MemorySegment os,
            long oOff,
            int oLd,
            int rows,
            AttentionKernels.View4 k,
            AttentionKernels.View4 v,
            FusedGradKernels.Mask mask,
            int b,
            int kh,
            int h,
            int lk,
            int d,
            int dv,
            long visible0,
            float scale,
            FusedGradKernels.Rows lse) {
        int pair = 2 * F.length();
        int ldk = (lk + pair - 1) / pair * pair, ldv = (dv + pair - 1) / pair * pair;
        Scratch sc = SCRATCH.get();
        if (sc.kr.length < lk * d) sc.kr = new float[lk * d];
        if (sc.kt.length < d * ldk) sc.kt = new float[d * ldk];
        if (sc.vv.length < lk * ldv) sc.vv = new float[lk * ldv];
        if (sc.qa.length < G * d) sc.qa = new float[G * d];
        if (sc.s.length < G * ldk) sc.s = new float[G * ldk];
        if (sc.out.length < G * ldv) sc.out = new float[G * ldv];
        float[] kt = sc.kt, vv = sc.vv, qa = sc.qa, s = sc.s, out = sc.out;
        transposeKeys(k, b, kh, lk, d, sc.kr, sc.lanes, kt, ldk);
        copyValues(v, b, kh, lk, dv, vv, ldv);
        int[] visible = sc.visible;
        float[] sums = sc.sums, maxes = sc.maxes;
        for (int r0 = 0; r0 < rows; ) {
            // eight rows while eight remain, then four, then one at a time
            int left = rows - r0, nr = left >= G ? G : left >= 4 ? 4 : 1, most = 0;
            for (int r = 0; r < nr; r++) {
                readRow(qs, qOff + (long) (r0 + r) * qLd, d, qa, r * d);
                visible[r] = (int) Math.clamp(visible0 + r0 + r, 0, lk);
                most = Math.max(most, visible[r]);
            }
            if (nr == G) product8(qa, d, d, kt, ldk, most, scale, s, ldk);
            else if (nr == 4) product4(qa, d, d, kt, ldk, most, scale, s, ldk);
            else product1(qa, 0, d, kt, ldk, most, scale, s, 0);
            for (int r = 0; r < nr; r++) {
                int n = visible[r], row = r * ldk;
                if (mask != null && n > 0) {
                    long mRow = mask.head(b, h) + (long) (r0 + r) * mask.si();
                    addMask(s, row, n, mask.seg(), mRow, mask.sj());
                }
                sums[r] = softmaxNumerators(s, row, n, most, maxes, r);
                // as FusedGradKernels.logSumExp has it: −∞ for a row that sees nothing
                if (lse != null)
                    lse.seg()
                            .setAtIndex(
                                    FL,
                                    lse.at(b, h, r0 + r),
                                    sums[r] == 0 ? Float.NEGATIVE_INFINITY : (float) (maxes[r] + Math.log(sums[r])));
            }
            if (nr == G) product8(s, ldk, most, vv, ldv, ldv, 1f, out, ldv);
            else if (nr == 4) product4(s, ldk, most, vv, ldv, ldv, 1f, out, ldv);
            else product1(s, 0, most, vv, ldv, ldv, 1f, out, 0);
            for (int r = 0; r < nr; r++) scaledOut(out, r * ldv, dv, 1f / sums[r], os, oOff + (long) (r0 + r) * oLd);
            r0 += nr;
        }
    }

    /**
     * kt[e·ldk + j] = K[j][e] for j &lt; lk, zero for j in [lk, ldk): the key rows read by vectors into kr (row j at
     * j·d), then each run of L keys of one dim gathered from there into a vector of kt ({@code lanes}: l·d for lane
     * l), the keys past the last whole run element by element: whole-vector reads and writes instead of a strided
     * store per element.
     */
    private static void transposeKeys(
            AttentionKernels.View4 k, int b, int kh, int lk, int d, float[] kr, int[] lanes, float[] kt, int ldk) {
        int L = F.length();
        for (int j = 0; j < lk; j++) readRow(k.seg(), k.row(b, kh, j), d, kr, j * d);
        if (lanes[L - 1] != (L - 1) * d) for (int l = 0; l < L; l++) lanes[l] = l * d;
        int j0 = 0;
        for (; j0 + L <= lk; j0 += L)
            for (int e = 0; e < d; e++)
                FloatVector.fromArray(F, kr, j0 * d + e, lanes, 0).intoArray(kt, e * ldk + j0);
        for (int e = 0; e < d; e++) {
            for (int j = j0; j < lk; j++) kt[e * ldk + j] = kr[j * d + e];
            java.util.Arrays.fill(kt, e * ldk + lk, (e + 1) * ldk, 0f);
        }
    }

    /** vv[j·ldv + c] = V[j][c] for c &lt; dv, zero for c in [dv, ldv). */
    private static void copyValues(AttentionKernels.View4 v, int b, int kh, int lk, int dv, float[] vv, int ldv) {
        for (int j = 0; j < lk; j++) {
            readRow(v.seg(), v.row(b, kh, j), dv, vv, j * ldv);
            java.util.Arrays.fill(vv, j * ldv + dv, (j + 1) * ldv, 0f);
        }
    }

    /**
     * dst[o + e] = seg[at + e] for e &lt; n (elements): by vectors, the rest one by one. For rows this short (BERT's
     * are 32 floats) a MemorySegment.copy per row spends more in its checks than in the copy.
     */
    private static void readRow(MemorySegment seg, long at, int n, float[] dst, int o) {
        int e = 0;
        for (; e + F.length() <= n; e += F.length())
            FloatVector.fromMemorySegment(F, seg, (at + e) * 4, NO).intoArray(dst, o + e);
        for (; e < n; e++) dst[o + e] = seg.getAtIndex(FL, at + e);
    }

    /**
     * {@link #product4} for eight rows: eight rows by two vectors of columns (16 accumulators) per step, each sum the
     * same FMA chain over t in order, then the product with scale.
     */
    private static void product8(
            float[] x, int ldx, int depth, float[] y, int ldy, int cols, float scale, float[] out, int ldo) {
        int L = F.length();
        for (int c = 0; c < cols; c += 2 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
            FloatVector e0 = a0, e1 = a0, f0 = a0, f1 = a0, g0 = a0, g1 = a0, h0 = a0, h1 = a0;
            for (int t = 0; t < depth; t++) {
                FloatVector y0 = FloatVector.fromArray(F, y, t * ldy + c),
                        y1 = FloatVector.fromArray(F, y, t * ldy + c + L);
                FloatVector v = FloatVector.broadcast(F, x[t]);
                a0 = v.fma(y0, a0);
                a1 = v.fma(y1, a1);
                v = FloatVector.broadcast(F, x[ldx + t]);
                b0 = v.fma(y0, b0);
                b1 = v.fma(y1, b1);
                v = FloatVector.broadcast(F, x[2 * ldx + t]);
                c0 = v.fma(y0, c0);
                c1 = v.fma(y1, c1);
                v = FloatVector.broadcast(F, x[3 * ldx + t]);
                d0 = v.fma(y0, d0);
                d1 = v.fma(y1, d1);
                v = FloatVector.broadcast(F, x[4 * ldx + t]);
                e0 = v.fma(y0, e0);
                e1 = v.fma(y1, e1);
                v = FloatVector.broadcast(F, x[5 * ldx + t]);
                f0 = v.fma(y0, f0);
                f1 = v.fma(y1, f1);
                v = FloatVector.broadcast(F, x[6 * ldx + t]);
                g0 = v.fma(y0, g0);
                g1 = v.fma(y1, g1);
                v = FloatVector.broadcast(F, x[7 * ldx + t]);
                h0 = v.fma(y0, h0);
                h1 = v.fma(y1, h1);
            }
            a0.mul(scale).intoArray(out, c);
            a1.mul(scale).intoArray(out, c + L);
            b0.mul(scale).intoArray(out, ldo + c);
            b1.mul(scale).intoArray(out, ldo + c + L);
            c0.mul(scale).intoArray(out, 2 * ldo + c);
            c1.mul(scale).intoArray(out, 2 * ldo + c + L);
            d0.mul(scale).intoArray(out, 3 * ldo + c);
            d1.mul(scale).intoArray(out, 3 * ldo + c + L);
            e0.mul(scale).intoArray(out, 4 * ldo + c);
            e1.mul(scale).intoArray(out, 4 * ldo + c + L);
            f0.mul(scale).intoArray(out, 5 * ldo + c);
            f1.mul(scale).intoArray(out, 5 * ldo + c + L);
            g0.mul(scale).intoArray(out, 6 * ldo + c);
            g1.mul(scale).intoArray(out, 6 * ldo + c + L);
            h0.mul(scale).intoArray(out, 7 * ldo + c);
            h1.mul(scale).intoArray(out, 7 * ldo + c + L);
        }
    }

    /**
     * out[r·ldo + c] = scale · Σ_{t &lt; depth} x[r·ldx + t] · y[t·ldy + c] for the four rows r &lt; 4 and columns c in
     * [0, cols) rounded up to a pair of vectors: four rows by two vectors of columns in registers, each sum the FMA chain
     * over t in order, then the product with scale. The scores (x the query rows, y the transposed keys) and P·V (x the
     * probabilities, y the values, scale 1, which leaves every sum as it is) are both this product.
     */
    private static void product4(
            float[] x, int ldx, int depth, float[] y, int ldy, int cols, float scale, float[] out, int ldo) {
        int L = F.length();
        for (int c = 0; c < cols; c += 2 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, e0 = a0, e1 = a0;
            for (int t = 0; t < depth; t++) {
                FloatVector y0 = FloatVector.fromArray(F, y, t * ldy + c),
                        y1 = FloatVector.fromArray(F, y, t * ldy + c + L);
                FloatVector v = FloatVector.broadcast(F, x[t]);
                a0 = v.fma(y0, a0);
                a1 = v.fma(y1, a1);
                v = FloatVector.broadcast(F, x[ldx + t]);
                b0 = v.fma(y0, b0);
                b1 = v.fma(y1, b1);
                v = FloatVector.broadcast(F, x[2 * ldx + t]);
                c0 = v.fma(y0, c0);
                c1 = v.fma(y1, c1);
                v = FloatVector.broadcast(F, x[3 * ldx + t]);
                e0 = v.fma(y0, e0);
                e1 = v.fma(y1, e1);
            }
            a0.mul(scale).intoArray(out, c);
            a1.mul(scale).intoArray(out, c + L);
            b0.mul(scale).intoArray(out, ldo + c);
            b1.mul(scale).intoArray(out, ldo + c + L);
            c0.mul(scale).intoArray(out, 2 * ldo + c);
            c1.mul(scale).intoArray(out, 2 * ldo + c + L);
            e0.mul(scale).intoArray(out, 3 * ldo + c);
            e1.mul(scale).intoArray(out, 3 * ldo + c + L);
        }
    }

    /** {@link #product4} for one row: x's row from x0, out's from o0. */
    private static void product1(
            float[] x, int x0, int depth, float[] y, int ldy, int cols, float scale, float[] out, int o0) {
        int L = F.length();
        for (int c = 0; c < cols; c += 2 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (int t = 0; t < depth; t++) {
                FloatVector v = FloatVector.broadcast(F, x[x0 + t]);
                a0 = v.fma(FloatVector.fromArray(F, y, t * ldy + c), a0);
                a1 = v.fma(FloatVector.fromArray(F, y, t * ldy + c + L), a1);
            }
            a0.mul(scale).intoArray(out, o0 + c);
            a1.mul(scale).intoArray(out, o0 + c + L);
        }
    }

    /** s[o + j] += mask[mo + j·sj] for j &lt; n. */
    private static void addMask(float[] s, int o, int n, MemorySegment m, long mo, long sj) {
        int j = 0;
        if (sj == 1) {
            for (; j + F.length() <= n; j += F.length()) {
                FloatVector.fromArray(F, s, o + j)
                        .add(FloatVector.fromMemorySegment(F, m, (mo + j) * 4, NO))
                        .intoArray(s, o + j);
            }
        }
        for (; j < n; j++) s[o + j] += m.getAtIndex(FL, mo + j * sj);
    }

    /**
     * s[o + j] = e^(s[o + j] − max) for j &lt; n (the max over those n, left in maxes[r]), zero for j in [n, most);
     * returns their sum. A row with nothing visible (n = 0, or every score −∞) becomes all zeros with sum 0, so its
     * output is 0·∞ = NaN.
     */
    private static float softmaxNumerators(float[] s, int o, int n, int most, float[] maxes, int r) {
        int L = F.length();
        float m = Float.NEGATIVE_INFINITY;
        if (n > 0) {
            FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            int j = 0;
            // a compare and a blend per vector: lanewise MAX keeps Java's NaN and signed-zero rules in a longer
            // sequence, a chain through the whole row (a NaN score makes the row NaN either way, through its exp)
            for (; j + L <= n; j += L) {
                FloatVector x = FloatVector.fromArray(F, s, o + j);
                mv = mv.blend(x, x.compare(VectorOperators.GT, mv));
            }
            m = mv.reduceLanes(VectorOperators.MAX);
            for (; j < n; j++) m = Math.max(m, s[o + j]);
        }
        maxes[r] = m;
        if (m == Float.NEGATIVE_INFINITY) {
            java.util.Arrays.fill(s, o, o + most, 0f);
            return 0f;
        }
        FloatVector mv = FloatVector.broadcast(F, m), sum = FloatVector.zero(F);
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector e =
                    VectorMath.expFloat(FloatVector.fromArray(F, s, o + j).sub(mv));
            sum = sum.add(e);
            e.intoArray(s, o + j);
        }
        if (j < n) { // the last, partial vector: lanes past n are zero, as are the keys past n up to most
            VectorMask<Float> in = F.indexInRange(j, n);
            FloatVector e = FloatVector.zero(F)
                    .blend(
                            VectorMath.expFloat(
                                    FloatVector.fromArray(F, s, o + j, in).sub(mv)),
                            in);
            sum = sum.add(e);
            e.intoArray(s, o + j);
            j += L;
        }
        if (j < most) java.util.Arrays.fill(s, o + j, o + most, 0f);
        return LaneSum.sum(sum);
    }

    /** dst[d + c] = src[o + c]·inv for c &lt; n. */
    private static void scaledOut(float[] src, int o, int n, float inv, MemorySegment dst, long d) {
        int c = 0;
        for (; c + F.length() <= n; c += F.length())
            FloatVector.fromArray(F, src, o + c).mul(inv).intoMemorySegment(dst, (d + c) * 4, NO);
        for (; c < n; c++) dst.setAtIndex(FL, d + c, src[o + c] * inv);
    }
}
