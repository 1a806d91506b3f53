package dev.panthera.simd;

import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link PackedGemm}'s packing: B into KC×NR column slivers ({@link #packB}, F32, BF16 or F16 converted as they are
 * read), A into MR-row slivers with alpha folded in ({@link #packA}), plain or transposed, gathered with vector
 * shuffles where the layout allows.
 */
final class GemmPacking {
    private GemmPacking() {}

    private static final VectorSpecies<Float> F = PackedGemm.F;
    private static final int V = F.length(), MR = PackedGemm.MR, NR = PackedGemm.NR, KC = PackedGemm.KC;
    private static final int MC = PackedGemm.MC;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /** B[pc:pc+kc, jc:jc+nc] into NR-wide slivers: sliver s holds, for each p, NR consecutive columns (zero padded). */
    static void packB(
            DType kind, boolean tb, MemorySegment b, long bOff, int ldb, int pc, int kc, int jc, int nc, float[] out) {
        if (!tb && kind != DType.F16) {
            // groups of 8 full slivers, row by row: 512 contiguous bytes of each B row per step instead of 64
            int full = nc / NR * NR;
            for (int g = 0; g < full; g += 8 * NR) {
                int ge = Math.min(full, g + 8 * NR);
                for (int p = 0; p < kc; p++) {
                    long row = bOff + (long) (pc + p) * ldb + jc;
                    for (int js = g; js < ge; js += NR) {
                        int o = js * kc + p * NR;
                        if (kind == DType.F32) {
                            // two vectors of the kernel's own species, whose class C2 knows at the store (WeightLoads'
                            // eight-lane vectors reached intoArray here as an unknown class once other code had
                            // stored sixteen-lane ones, and went through the heap); a MemorySegment.copy per NR floats
                            // spent more on its checks than on the copy
                            long at = (row + js) * 4;
                            FloatVector.fromMemorySegment(F, b, at, NO).intoArray(out, o);
                            FloatVector.fromMemorySegment(F, b, at + V * 4L, NO).intoArray(out, o + V);
                        } else {
                            for (int q = 0; q < NR; q += 8)
                                WeightLoads.load(kind, b, row + js + q).intoArray(out, o + q);
                        }
                    }
                }
            }
            if (full < nc) packSlivers(kind, false, b, bOff, ldb, pc, kc, jc, full, nc, out);
            return;
        }
        packSlivers(kind, tb, b, bOff, ldb, pc, kc, jc, 0, nc, out);
    }

    /** Slivers from column js0 to nc of the panel, one sliver at a time. */
    private static void packSlivers(
            DType kind,
            boolean tb,
            MemorySegment b,
            long bOff,
            int ldb,
            int pc,
            int kc,
            int jc,
            int js0,
            int nc,
            float[] out) {
        // op(B) transposed: B row j (a Linear weight's output j) is contiguous over p. A group of V whole F32 rows goes
        // through transposeRows, V×V blocks transposed in registers, up to the last whole block of depth. The rest is
        // first read into the heap as floats with vector loads (element-wise reads across segment rows each check
        // bounds and liveness): V whole 16-bit rows are then transposed from there (transposeLines), and what remains
        // (the depth tail, a partial group of rows) goes into the sliver as one gather per p across the V rows
        // instead of V scalar stores. The gather costs several times the transposition.
        float[] lines = tb ? Sgemm.BUFFERS.get().lines : null;
        for (int js = js0; js < nc; js += NR) {
            int w = Math.min(NR, nc - js);
            int base = js * kc;
            if (tb) {
                for (int jv = 0; jv < NR; jv += V) {
                    long first = bOff + (long) (jc + js + jv) * ldb + pc;
                    boolean whole = jv + V <= w;
                    int p0 = whole && kind == DType.F32 ? transposeRows(b, first, ldb, kc, out, base + jv) : 0;
                    if (p0 == kc) continue;
                    for (int j = 0; j < V; j++) {
                        if (jv + j < w)
                            WeightLoads.toFloats(kind, b, first + (long) j * ldb + p0, kc - p0, lines, j * KC + p0);
                        else Arrays.fill(lines, j * KC + p0, j * KC + kc, 0f);
                    }
                    if (whole && p0 == 0) p0 = transposeLines(lines, kc, out, base + jv);
                    gatherColumns(lines, p0, kc, out, base + jv);
                }
                continue;
            }
            for (int p = 0; p < kc; p++) {
                int o = base + p * NR;
                long row = bOff + (long) (pc + p) * ldb + jc + js;
                if (w == NR && kind == DType.F16) {
                    WeightLoads.toFloats(kind, b, row, NR, out, o);
                } else if (w == NR) {
                    for (int q = 0; q < NR; q += 8)
                        WeightLoads.load(kind, b, row + q).intoArray(out, o + q);
                } else {
                    // the w columns, then the padding, as two loops: as one loop with a branch, C2 hoists a check of
                    // the load out of the loop from the branch's profile, the check fails at the padding, and the
                    // method is deoptimized and recompiled over and over (profile_predicate traps)
                    for (int j = 0; j < w; j++) out[o + j] = WeightLoads.load1(kind, b, row + j);
                    Arrays.fill(out, o + w, o + NR, 0f);
                }
            }
        }
    }

    /**
     * out[o + p·NR + j] = lines[j·KC + p] for the V rows j of {@code lines} and p from p0 below kc: one gather per p. A
     * method of its own, so that C2 compiles the gather once as the intrinsic; inside the branchy sliver loop it was
     * recompiled after each uncommon trap and ran in between as profiled code that put every vector on the heap.
     */
    private static void gatherColumns(float[] lines, int p0, int kc, float[] out, int o) {
        for (int p = p0; p < kc; p++)
            FloatVector.fromArray(F, lines, p, ACROSS_LINES, 0).intoArray(out, o + p * NR);
    }

    /** Lane j of a gather across the V staged rows of a transposed B ({@link PackedGemm.Buffers#lines}, KC apart). */
    private static final int[] ACROSS_LINES = new int[V];

    static {
        for (int j = 0; j < V; j++) ACROSS_LINES[j] = j * KC;
    }

    /** alpha·A[ic:ic+mc, pc:pc+kc] into MR-row slivers: sliver s holds, for each p, MR consecutive rows (zero padded). */
    static void packA(
            boolean ta,
            MemorySegment a,
            long aOff,
            int lda,
            int ic,
            int mc,
            int pc,
            int kc,
            float alpha,
            float[] out,
            int o0,
            float[] row) {
        // Full slivers go through interleave6 in whole vectors. What remains (a partial sliver, the columns past the
        // last whole vector, and op(A) transposed) is copied into the heap one contiguous stretch at a time, then
        // scattered into the MR-interleaved panel: per-element segment reads cost a bounds, alignment and liveness
        // check each.
        if (!ta) {
            for (int is = 0; is < mc; is += MR) {
                int h = Math.min(MR, mc - is), base = o0 + is * kc, p0 = 0;
                if (h == MR) p0 = interleave6(a, aOff + (long) (ic + is) * lda + pc, lda, kc, alpha, out, base);
                if (p0 == kc) continue;
                for (int r = 0; r < MR; r++) {
                    if (r >= h) {
                        for (int p = p0, o = base + p0 * MR + r; p < kc; p++, o += MR) out[o] = 0f;
                        continue;
                    }
                    long at = aOff + (long) (ic + is + r) * lda + pc + p0;
                    MemorySegment.copy(a, FL, at * Float.BYTES, row, 0, kc - p0);
                    for (int p = p0, o = base + p0 * MR + r; p < kc; p++, o += MR) out[o] = alpha * row[p - p0];
                }
            }
        } else {
            // op(A)[i][p] = A[p][i]: stored row p holds, for every sliver, its MR values at p side by side, and a
            // sliver's values for TA_ROWS consecutive p are three whole vectors of the panel. TA_ROWS stored rows go
            // to the heap (MC apart), then each full sliver's three vectors are gathers across them.
            int full = mc / MR * MR, p = 0;
            for (; p + TA_ROWS <= kc; p += TA_ROWS) {
                for (int t = 0; t < TA_ROWS; t++)
                    MemorySegment.copy(a, FL, (aOff + (long) (pc + p + t) * lda + ic) * Float.BYTES, row, t * MC, mc);
                gatherSlivers(row, full, kc, alpha, out, o0 + p * MR);
                for (int t = 0; full < mc && t < TA_ROWS; t++) {
                    int o = o0 + full * kc + (p + t) * MR;
                    for (int r = 0; r < MR; r++) out[o + r] = full + r < mc ? alpha * row[t * MC + full + r] : 0f;
                }
            }
            for (; p < kc; p++) {
                MemorySegment.copy(a, FL, (aOff + (long) (pc + p) * lda + ic) * Float.BYTES, row, 0, mc);
                for (int is = 0; is < mc; is += MR) {
                    int h = Math.min(MR, mc - is), o = o0 + is * kc + p * MR;
                    for (int r = 0; r < h; r++) out[o + r] = alpha * row[is + r];
                    for (int r = h; r < MR; r++) out[o + r] = 0f;
                }
            }
        }
    }

    /**
     * The three panel vectors of each full sliver below {@code full} for TA_ROWS stored rows in {@code row} (MC
     * apart), scaled by alpha, sliver s's at out[o + s·kc]. A method of its own for the reason gatherColumns gives.
     */
    private static void gatherSlivers(float[] row, int full, int kc, float alpha, float[] out, int o) {
        for (int is = 0; is < full; is += MR) {
            int at = o + is * kc;
            FloatVector.fromArray(F, row, is, TA_GATHER[0], 0).mul(alpha).intoArray(out, at);
            FloatVector.fromArray(F, row, is, TA_GATHER[1], 0).mul(alpha).intoArray(out, at + V);
            FloatVector.fromArray(F, row, is, TA_GATHER[2], 0).mul(alpha).intoArray(out, at + 2 * V);
        }
    }

    /** Rows of a transposed A gathered at a time: a full sliver's MR values for each of them fill three vectors. */
    static final int TA_ROWS = V / 2;

    /**
     * Vector q of a sliver's TA_ROWS·MR panel values (lane l: value e = qV + l, stored row e / MR, sliver row e % MR)
     * as indices into the heap block of {@link #packA}'s transposed path, stored rows MC apart.
     */
    private static final int[][] TA_GATHER = new int[3][V];

    static {
        for (int q = 0; q < 3; q++)
            for (int l = 0; l < V; l++) TA_GATHER[q][l] = (q * V + l) / MR * MC + (q * V + l) % MR;
    }

    /**
     * Lane 2t + s of an interleaved pair of rows holds row s's element t (PAIR_LO, t below V/2) or V/2 + t (PAIR_HI);
     * lanes from the second row are indices V and up (the two-vector rearrange's second vector).
     */
    private static final VectorShuffle<Float> PAIR_LO = VectorShuffle.fromOp(F, l -> l / 2 + (l % 2) * V),
            PAIR_HI = VectorShuffle.fromOp(F, l -> V / 2 + l / 2 + (l % 2) * V);

    /**
     * Output vector j of a 6-row block (lane l: element e = jV + l of the MR-interleaved panel, column e / 6, row
     * e % 6) takes pairs 0 and 1 through Fj, pair 2 through Tj where Mj is set; vectors 0-2 read the pairs' low halves,
     * 3-5 their high halves. One constant per vector: read from arrays, they were reloaded and unpacked every step.
     */
    private static final VectorShuffle<Float> F0 = interleave(0, false),
            F1 = interleave(1, false),
            F2 = interleave(2, false),
            F3 = interleave(3, false),
            F4 = interleave(4, false),
            F5 = interleave(5, false);

    private static final VectorShuffle<Float> T0 = interleave(0, true),
            T1 = interleave(1, true),
            T2 = interleave(2, true),
            T3 = interleave(3, true),
            T4 = interleave(4, true),
            T5 = interleave(5, true);
    private static final VectorMask<Float> M0 = fromPair2(0),
            M1 = fromPair2(1),
            M2 = fromPair2(2),
            M3 = fromPair2(3),
            M4 = fromPair2(4),
            M5 = fromPair2(5);

    private static VectorShuffle<Float> interleave(int j, boolean pair2) {
        return VectorShuffle.fromOp(F, l -> {
            int e = j * V + l, p = e / MR, r = e % MR, q = r / 2, lane = 2 * (p % (V / 2)) + r % 2;
            if (pair2) return q == 2 ? lane : 0;
            return q == 2 ? 0 : lane + q * V;
        });
    }

    private static VectorMask<Float> fromPair2(int j) {
        boolean[] bits = new boolean[V];
        for (int l = 0; l < V; l++) bits[l] = (j * V + l) % MR / 2 == 2;
        return VectorMask.fromArray(F, bits, 0);
    }

    /**
     * alpha·A's six rows from element {@code a0} (leading dimension lda), columns in whole vectors, into the
     * MR-interleaved sliver at out[base]: per V columns six row loads, three pairs interleaved, six stores. Returns
     * the columns done (kc rounded down to whole vectors); the caller packs the rest.
     */
    private static int interleave6(MemorySegment a, long a0, int lda, int kc, float alpha, float[] out, int base) {
        long st = (long) lda * Float.BYTES;
        int p = 0;
        for (; p + V <= kc; p += V) {
            long at = (a0 + p) * Float.BYTES;
            FloatVector r0 = FloatVector.fromMemorySegment(F, a, at, NO).mul(alpha),
                    r1 = FloatVector.fromMemorySegment(F, a, at + st, NO).mul(alpha),
                    r2 = FloatVector.fromMemorySegment(F, a, at + 2 * st, NO).mul(alpha),
                    r3 = FloatVector.fromMemorySegment(F, a, at + 3 * st, NO).mul(alpha),
                    r4 = FloatVector.fromMemorySegment(F, a, at + 4 * st, NO).mul(alpha),
                    r5 = FloatVector.fromMemorySegment(F, a, at + 5 * st, NO).mul(alpha);
            int o = base + p * MR;
            FloatVector q0 = r0.rearrange(PAIR_LO, r1), q1 = r2.rearrange(PAIR_LO, r3), q2 = r4.rearrange(PAIR_LO, r5);
            q0.rearrange(F0, q1).blend(q2.rearrange(T0), M0).intoArray(out, o);
            q0.rearrange(F1, q1).blend(q2.rearrange(T1), M1).intoArray(out, o + V);
            q0.rearrange(F2, q1).blend(q2.rearrange(T2), M2).intoArray(out, o + 2 * V);
            q0 = r0.rearrange(PAIR_HI, r1);
            q1 = r2.rearrange(PAIR_HI, r3);
            q2 = r4.rearrange(PAIR_HI, r5);
            q0.rearrange(F3, q1).blend(q2.rearrange(T3), M3).intoArray(out, o + 3 * V);
            q0.rearrange(F4, q1).blend(q2.rearrange(T4), M4).intoArray(out, o + 4 * V);
            q0.rearrange(F5, q1).blend(q2.rearrange(T5), M5).intoArray(out, o + 5 * V);
        }
        return p;
    }

    /**
     * out[o + p·NR + j] = B[first + j·ldb + p] for the V rows j and p below kc rounded down to a multiple of V: each
     * V×V block is V row loads, log2(V) stages of two-vector lane selections (stage h swaps bit h of the row index
     * with bit h of the column index) and V stores. Returns the depth done. 16 lanes only: there a selection is one
     * instruction ({@code vpermt2ps}); at 8 lanes (AVX2 has no two-vector permute) the selections cost more than the
     * gather on some shapes, so those widths return 0 and the caller gathers.
     */
    private static int transposeRows(MemorySegment b, long first, int ldb, int kc, float[] out, int o) {
        return V == 16 ? transpose16(b, first, ldb, kc, out, o) : 0;
    }

    /** {@link #transposeRows} at 16 lanes, written out: sixteen rows in registers, four stages of eight pairs. */
    private static int transpose16(MemorySegment b, long first, int ldb, int kc, float[] out, int o) {
        long st = (long) ldb * Float.BYTES;
        int p = 0;
        for (; p + 16 <= kc; p += 16) {
            long at = (first + p) * Float.BYTES;
            FloatVector r0 = FloatVector.fromMemorySegment(F, b, at + 0 * st, NO);
            FloatVector r1 = FloatVector.fromMemorySegment(F, b, at + 1 * st, NO);
            FloatVector r2 = FloatVector.fromMemorySegment(F, b, at + 2 * st, NO);
            FloatVector r3 = FloatVector.fromMemorySegment(F, b, at + 3 * st, NO);
            FloatVector r4 = FloatVector.fromMemorySegment(F, b, at + 4 * st, NO);
            FloatVector r5 = FloatVector.fromMemorySegment(F, b, at + 5 * st, NO);
            FloatVector r6 = FloatVector.fromMemorySegment(F, b, at + 6 * st, NO);
            FloatVector r7 = FloatVector.fromMemorySegment(F, b, at + 7 * st, NO);
            FloatVector r8 = FloatVector.fromMemorySegment(F, b, at + 8 * st, NO);
            FloatVector r9 = FloatVector.fromMemorySegment(F, b, at + 9 * st, NO);
            FloatVector r10 = FloatVector.fromMemorySegment(F, b, at + 10 * st, NO);
            FloatVector r11 = FloatVector.fromMemorySegment(F, b, at + 11 * st, NO);
            FloatVector r12 = FloatVector.fromMemorySegment(F, b, at + 12 * st, NO);
            FloatVector r13 = FloatVector.fromMemorySegment(F, b, at + 13 * st, NO);
            FloatVector r14 = FloatVector.fromMemorySegment(F, b, at + 14 * st, NO);
            FloatVector r15 = FloatVector.fromMemorySegment(F, b, at + 15 * st, NO);
            FloatVector a0 = LO8.selectFrom(r0, r8), a8 = HI8.selectFrom(r0, r8);
            FloatVector a1 = LO8.selectFrom(r1, r9), a9 = HI8.selectFrom(r1, r9);
            FloatVector a2 = LO8.selectFrom(r2, r10), a10 = HI8.selectFrom(r2, r10);
            FloatVector a3 = LO8.selectFrom(r3, r11), a11 = HI8.selectFrom(r3, r11);
            FloatVector a4 = LO8.selectFrom(r4, r12), a12 = HI8.selectFrom(r4, r12);
            FloatVector a5 = LO8.selectFrom(r5, r13), a13 = HI8.selectFrom(r5, r13);
            FloatVector a6 = LO8.selectFrom(r6, r14), a14 = HI8.selectFrom(r6, r14);
            FloatVector a7 = LO8.selectFrom(r7, r15), a15 = HI8.selectFrom(r7, r15);
            FloatVector b0 = LO4.selectFrom(a0, a4), b4 = HI4.selectFrom(a0, a4);
            FloatVector b1 = LO4.selectFrom(a1, a5), b5 = HI4.selectFrom(a1, a5);
            FloatVector b2 = LO4.selectFrom(a2, a6), b6 = HI4.selectFrom(a2, a6);
            FloatVector b3 = LO4.selectFrom(a3, a7), b7 = HI4.selectFrom(a3, a7);
            FloatVector b8 = LO4.selectFrom(a8, a12), b12 = HI4.selectFrom(a8, a12);
            FloatVector b9 = LO4.selectFrom(a9, a13), b13 = HI4.selectFrom(a9, a13);
            FloatVector b10 = LO4.selectFrom(a10, a14), b14 = HI4.selectFrom(a10, a14);
            FloatVector b11 = LO4.selectFrom(a11, a15), b15 = HI4.selectFrom(a11, a15);
            FloatVector c0 = LO2.selectFrom(b0, b2), c2 = HI2.selectFrom(b0, b2);
            FloatVector c1 = LO2.selectFrom(b1, b3), c3 = HI2.selectFrom(b1, b3);
            FloatVector c4 = LO2.selectFrom(b4, b6), c6 = HI2.selectFrom(b4, b6);
            FloatVector c5 = LO2.selectFrom(b5, b7), c7 = HI2.selectFrom(b5, b7);
            FloatVector c8 = LO2.selectFrom(b8, b10), c10 = HI2.selectFrom(b8, b10);
            FloatVector c9 = LO2.selectFrom(b9, b11), c11 = HI2.selectFrom(b9, b11);
            FloatVector c12 = LO2.selectFrom(b12, b14), c14 = HI2.selectFrom(b12, b14);
            FloatVector c13 = LO2.selectFrom(b13, b15), c15 = HI2.selectFrom(b13, b15);
            FloatVector d0 = LO1.selectFrom(c0, c1), d1 = HI1.selectFrom(c0, c1);
            FloatVector d2 = LO1.selectFrom(c2, c3), d3 = HI1.selectFrom(c2, c3);
            FloatVector d4 = LO1.selectFrom(c4, c5), d5 = HI1.selectFrom(c4, c5);
            FloatVector d6 = LO1.selectFrom(c6, c7), d7 = HI1.selectFrom(c6, c7);
            FloatVector d8 = LO1.selectFrom(c8, c9), d9 = HI1.selectFrom(c8, c9);
            FloatVector d10 = LO1.selectFrom(c10, c11), d11 = HI1.selectFrom(c10, c11);
            FloatVector d12 = LO1.selectFrom(c12, c13), d13 = HI1.selectFrom(c12, c13);
            FloatVector d14 = LO1.selectFrom(c14, c15), d15 = HI1.selectFrom(c14, c15);
            d0.intoArray(out, o + (p + 0) * NR);
            d1.intoArray(out, o + (p + 1) * NR);
            d2.intoArray(out, o + (p + 2) * NR);
            d3.intoArray(out, o + (p + 3) * NR);
            d4.intoArray(out, o + (p + 4) * NR);
            d5.intoArray(out, o + (p + 5) * NR);
            d6.intoArray(out, o + (p + 6) * NR);
            d7.intoArray(out, o + (p + 7) * NR);
            d8.intoArray(out, o + (p + 8) * NR);
            d9.intoArray(out, o + (p + 9) * NR);
            d10.intoArray(out, o + (p + 10) * NR);
            d11.intoArray(out, o + (p + 11) * NR);
            d12.intoArray(out, o + (p + 12) * NR);
            d13.intoArray(out, o + (p + 13) * NR);
            d14.intoArray(out, o + (p + 14) * NR);
            d15.intoArray(out, o + (p + 15) * NR);
        }
        return p;
    }

    /**
     * {@link #transposeRows} for V rows already widened into {@code lines} (KC apart), as 16-bit weights are: the same
     * selections over rows loaded from the heap. A copy of transpose16 rather than transpose16 over a heap segment:
     * a third segment class at its loads (beside native and mapped weights) would make them megamorphic.
     */
    private static int transposeLines(float[] lines, int kc, float[] out, int o) {
        return V == 16 ? transposeLines16(lines, kc, out, o) : 0;
    }

    private static int transposeLines16(float[] lines, int kc, float[] out, int o) {
        int p = 0;
        for (; p + 16 <= kc; p += 16) {
            FloatVector r0 = FloatVector.fromArray(F, lines, 0 * KC + p);
            FloatVector r1 = FloatVector.fromArray(F, lines, 1 * KC + p);
            FloatVector r2 = FloatVector.fromArray(F, lines, 2 * KC + p);
            FloatVector r3 = FloatVector.fromArray(F, lines, 3 * KC + p);
            FloatVector r4 = FloatVector.fromArray(F, lines, 4 * KC + p);
            FloatVector r5 = FloatVector.fromArray(F, lines, 5 * KC + p);
            FloatVector r6 = FloatVector.fromArray(F, lines, 6 * KC + p);
            FloatVector r7 = FloatVector.fromArray(F, lines, 7 * KC + p);
            FloatVector r8 = FloatVector.fromArray(F, lines, 8 * KC + p);
            FloatVector r9 = FloatVector.fromArray(F, lines, 9 * KC + p);
            FloatVector r10 = FloatVector.fromArray(F, lines, 10 * KC + p);
            FloatVector r11 = FloatVector.fromArray(F, lines, 11 * KC + p);
            FloatVector r12 = FloatVector.fromArray(F, lines, 12 * KC + p);
            FloatVector r13 = FloatVector.fromArray(F, lines, 13 * KC + p);
            FloatVector r14 = FloatVector.fromArray(F, lines, 14 * KC + p);
            FloatVector r15 = FloatVector.fromArray(F, lines, 15 * KC + p);
            FloatVector a0 = LO8.selectFrom(r0, r8), a8 = HI8.selectFrom(r0, r8);
            FloatVector a1 = LO8.selectFrom(r1, r9), a9 = HI8.selectFrom(r1, r9);
            FloatVector a2 = LO8.selectFrom(r2, r10), a10 = HI8.selectFrom(r2, r10);
            FloatVector a3 = LO8.selectFrom(r3, r11), a11 = HI8.selectFrom(r3, r11);
            FloatVector a4 = LO8.selectFrom(r4, r12), a12 = HI8.selectFrom(r4, r12);
            FloatVector a5 = LO8.selectFrom(r5, r13), a13 = HI8.selectFrom(r5, r13);
            FloatVector a6 = LO8.selectFrom(r6, r14), a14 = HI8.selectFrom(r6, r14);
            FloatVector a7 = LO8.selectFrom(r7, r15), a15 = HI8.selectFrom(r7, r15);
            FloatVector b0 = LO4.selectFrom(a0, a4), b4 = HI4.selectFrom(a0, a4);
            FloatVector b1 = LO4.selectFrom(a1, a5), b5 = HI4.selectFrom(a1, a5);
            FloatVector b2 = LO4.selectFrom(a2, a6), b6 = HI4.selectFrom(a2, a6);
            FloatVector b3 = LO4.selectFrom(a3, a7), b7 = HI4.selectFrom(a3, a7);
            FloatVector b8 = LO4.selectFrom(a8, a12), b12 = HI4.selectFrom(a8, a12);
            FloatVector b9 = LO4.selectFrom(a9, a13), b13 = HI4.selectFrom(a9, a13);
            FloatVector b10 = LO4.selectFrom(a10, a14), b14 = HI4.selectFrom(a10, a14);
            FloatVector b11 = LO4.selectFrom(a11, a15), b15 = HI4.selectFrom(a11, a15);
            FloatVector c0 = LO2.selectFrom(b0, b2), c2 = HI2.selectFrom(b0, b2);
            FloatVector c1 = LO2.selectFrom(b1, b3), c3 = HI2.selectFrom(b1, b3);
            FloatVector c4 = LO2.selectFrom(b4, b6), c6 = HI2.selectFrom(b4, b6);
            FloatVector c5 = LO2.selectFrom(b5, b7), c7 = HI2.selectFrom(b5, b7);
            FloatVector c8 = LO2.selectFrom(b8, b10), c10 = HI2.selectFrom(b8, b10);
            FloatVector c9 = LO2.selectFrom(b9, b11), c11 = HI2.selectFrom(b9, b11);
            FloatVector c12 = LO2.selectFrom(b12, b14), c14 = HI2.selectFrom(b12, b14);
            FloatVector c13 = LO2.selectFrom(b13, b15), c15 = HI2.selectFrom(b13, b15);
            FloatVector d0 = LO1.selectFrom(c0, c1), d1 = HI1.selectFrom(c0, c1);
            FloatVector d2 = LO1.selectFrom(c2, c3), d3 = HI1.selectFrom(c2, c3);
            FloatVector d4 = LO1.selectFrom(c4, c5), d5 = HI1.selectFrom(c4, c5);
            FloatVector d6 = LO1.selectFrom(c6, c7), d7 = HI1.selectFrom(c6, c7);
            FloatVector d8 = LO1.selectFrom(c8, c9), d9 = HI1.selectFrom(c8, c9);
            FloatVector d10 = LO1.selectFrom(c10, c11), d11 = HI1.selectFrom(c10, c11);
            FloatVector d12 = LO1.selectFrom(c12, c13), d13 = HI1.selectFrom(c12, c13);
            FloatVector d14 = LO1.selectFrom(c14, c15), d15 = HI1.selectFrom(c14, c15);
            d0.intoArray(out, o + (p + 0) * NR);
            d1.intoArray(out, o + (p + 1) * NR);
            d2.intoArray(out, o + (p + 2) * NR);
            d3.intoArray(out, o + (p + 3) * NR);
            d4.intoArray(out, o + (p + 4) * NR);
            d5.intoArray(out, o + (p + 5) * NR);
            d6.intoArray(out, o + (p + 6) * NR);
            d7.intoArray(out, o + (p + 7) * NR);
            d8.intoArray(out, o + (p + 8) * NR);
            d9.intoArray(out, o + (p + 9) * NR);
            d10.intoArray(out, o + (p + 10) * NR);
            d11.intoArray(out, o + (p + 11) * NR);
            d12.intoArray(out, o + (p + 12) * NR);
            d13.intoArray(out, o + (p + 13) * NR);
            d14.intoArray(out, o + (p + 14) * NR);
            d15.intoArray(out, o + (p + 15) * NR);
        }
        return p;
    }

    // stage h's lane selections over the pair (row i, row i + h), i with bit h clear: LOh gives row i's new lanes
    // (its own where bit h of the lane is clear, the partner's lane - h where set), HIh row i + h's; used at 16 lanes
    private static final FloatVector LO8 = select(8, false), HI8 = select(8, true);
    private static final FloatVector LO4 = select(4, false), HI4 = select(4, true);
    private static final FloatVector LO2 = select(2, false), HI2 = select(2, true);
    private static final FloatVector LO1 = select(1, false), HI1 = select(1, true);

    private static FloatVector select(int h, boolean hi) {
        float[] idx = new float[V];
        for (int l = 0; l < V; l++) {
            boolean set = (l & h) != 0;
            idx[l] = hi ? (set ? V + l : l + h) : (set ? V + l - h : l);
        }
        return FloatVector.fromArray(F, idx, 0);
    }
}
