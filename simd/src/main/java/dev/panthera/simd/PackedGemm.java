package dev.panthera.simd;

import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.VectorSpecies;

/**
 * BLIS-style SGEMM for one thread's share of C: B is packed into KC×NR column slivers, A into MC×KC blocks of MR-row
 * slivers (alpha folded in), and register-tiled micro-kernels run over them: 6×16 (12 vector accumulators) with 8-lane
 * vectors on AVX2; with 16-lane vectors on AVX-512, 12×32 over two slivers at a time (24 accumulators, {@link #ROWS})
 * and 6×32 for a last odd sliver, or 6×32 throughout with the deep blocks of AMD's cores; block sizes below. A packed
 * B panel (KC·NC·4 ≤ 4 MiB) stays in the shared L3. C must already hold
 * beta·C; this adds alpha·op(A)·op(B). B may be F32, BF16 or F16 ({@link WeightLoads}), converted while packing.
 */
final class PackedGemm {
    private PackedGemm() {}

    /**
     * The micro-kernel's vectors: 512 bits where the preferred species is that wide (AVX-512, with 32 vector
     * registers), else 256. NR is two vectors wide, so the 6×NR tile is 12 accumulators either way.
     */
    static final VectorSpecies<Float> F = Lanes.PACKED;

    private static final int V = F.length();
    /**
     * Block sizes. 256-bit (for 32 KiB L1, 512 KiB L2): KC 256, MC 96, NC 4096 — a B sliver (16 KiB) in L1, the A
     * block (96 KiB) in L2. 512-bit: MC 96, NC 1024, and KC by core ({@link GemmDepth}): 1024 on AMD's (an A sliver
     * of 24 KiB in L1, the A block of 384 KiB and a B sliver of 128 KiB in L2; the long K loop halves the C-tile
     * traffic per flop), 256 elsewhere (a B sliver of 32 KiB in L1). How they were chosen is in BENCHMARKS.md.
     */
    static final int MR = 6, NR = 2 * V, KC = GemmDepth.forThisMachine(V), MC = 96, NC = V == 16 ? 1024 : 4096;

    /**
     * Rows one kernel call covers at most: with 32 vector registers (16 lanes) and a depth block of at most 512, two
     * adjacent MR-row slivers go through one call ({@link GemmKernels#kernel2}, 24 accumulators), so each B vector
     * loaded serves 12 rows instead of 6; else one sliver. With AMD's KC of 1024 the two slivers would be 48 KiB of A,
     * an L1's worth (the pair was measured only with KC 256, BENCHMARKS.md). Row splits between threads align to it.
     */
    static final int ROWS = V == 16 && KC <= 512 ? 2 * MR : MR;

    /**
     * {@link #gemm}'s narrow panels' limits: the packed A it keeps per thread (1 Mi floats, 4 MiB: 1024 rows of depth 1024),
     * and the C block its panels aim for (1 MiB, half a 2 MiB L2, with the B block and A's stream beside it).
     */
    static final long OWN_A_LIMIT = 1L << 20, C_BLOCK_BYTES = 1L << 20;

    /** Packing buffers of one thread, reused across calls. */
    static final class Buffers {
        final float[] a = new float[MC * KC];
        final float[] b = new float[KC * (NC + NR)];
        final float[] tile = new float[ROWS * NR];
        /** A row of A, or {@link GemmPacking#TA_ROWS} rows of a transposed A MC apart ({@link GemmPacking#packA}). */
        final float[] row = new float[Math.max(KC, GemmPacking.TA_ROWS * MC)];
        /** V rows of a transposed B, KC apart ({@link GemmPacking#packB}). */
        final float[] lines = new float[V * KC];
        /** The whole of op(A) packed once for every thread of a product ({@link #packAllA}); grown on demand. */
        float[] allA = new float[0];
        /** This thread's own packed A for {@link #gemm}'s narrow panels: all K blocks of its rows; grown on demand. */
        float[] ownA = new float[0];
    }

    /**
     * C[i0:i1, j0:j1] += alpha·op(A)·op(B) for rows i0..i1 and columns j0..j1; with {@code store}, C[i0:i1, j0:j1] =
     * alpha·op(A)·op(B) instead (the first K block stores its tiles, C is not read; k must be at least 1).
     *
     * <p>The columns go in NC-wide panels, A packed per (K block, row block) inside each. With more than one K block,
     * columns wider than one {@link #narrowPanel} and an A within {@link #OWN_A_LIMIT}, they go instead in panels of
     * that width, so that the C block the later K blocks add into again (rows × panel, 1 MiB) stays in L2 between
     * its passes rather than being read back from L3 or memory (an NC-wide block of 1024 rows is 4 MiB), with every K
     * block of A's rows packed once, into {@link Buffers#ownA}, rather than once per panel. Either way every element
     * sums the same products in the same order.
     */
    static void gemm(
            DType kind,
            boolean ta,
            boolean tb,
            int i0,
            int i1,
            int j0,
            int j1,
            int k,
            float alpha,
            MemorySegment a,
            long aOff,
            int lda,
            MemorySegment b,
            long bOff,
            int ldb,
            MemorySegment c,
            long cOff,
            int ldc,
            boolean store,
            Buffers buf) {
        int rows = i1 - i0, panel = narrowPanel(rows);
        boolean narrow = k > KC && j1 - j0 > panel && allASize(rows, k) <= OWN_A_LIMIT;
        float[] ownA = narrow ? packOwnA(ta, a, aOff, lda, i0, i1, k, alpha, buf) : null;
        int width = narrow ? panel : NC;
        for (int jc = j0; jc < j1; jc += width) {
            int nc = Math.min(width, j1 - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                GemmPacking.packB(kind, tb, b, bOff, ldb, pc, kc, jc, nc, buf.b);
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    float[] ap = ownA;
                    int ao;
                    if (ownA != null) ao = allAOffset(rows, pc, ic - i0, kc);
                    else {
                        GemmPacking.packA(ta, a, aOff, lda, ic, mc, pc, kc, alpha, buf.a, 0, buf.row);
                        ap = buf.a;
                        ao = 0;
                    }
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        long cCol = cOff + jc + jr;
                        tiles(
                                kc,
                                ap,
                                ao,
                                buf.b,
                                jr * kc,
                                c,
                                cCol + (long) ic * ldc,
                                ldc,
                                mc,
                                nr,
                                store && pc == 0,
                                null,
                                0,
                                0,
                                buf);
                    }
                }
            }
        }
    }

    /**
     * Every K block of A's rows [i0, i1), alpha folded in, into {@link Buffers#ownA}: {@link #packAllRows} of the
     * rows-long A that starts at row i0 (a row apart is lda elements, or one in a transposed A).
     */
    private static float[] packOwnA(
            boolean ta, MemorySegment a, long aOff, int lda, int i0, int i1, int k, float alpha, Buffers buf) {
        int rows = i1 - i0, need = (int) allASize(rows, k);
        if (buf.ownA.length < need) buf.ownA = new float[need];
        long first = aOff + (long) i0 * (ta ? 1 : lda);
        packAllRows(ta, a, first, lda, rows, k, alpha, buf.ownA, 0, rows, buf.row);
        return buf.ownA;
    }

    /**
     * Columns per panel in {@link #gemm}'s narrow panels for a block of {@code rows} rows: as many whole NR slivers as keep the
     * rows × panel C block within {@link #C_BLOCK_BYTES}, at least one sliver and at most NC.
     */
    static int narrowPanel(int rows) {
        long fit = C_BLOCK_BYTES / (4L * Math.max(1, rows)) / NR * NR;
        return (int) Math.max(NR, Math.min(NC, fit));
    }

    /**
     * C[i0:i1, j0:j1] = alpha·op(A)·B with B already in panels ({@link PackedPanels}): the loops of {@link #gemm}
     * with the panel looked up instead of packed, so every element sums the same products in the same order. The
     * first K block stores its tiles (C is neither read nor needs zeroing), the later ones add theirs. Panels
     * start at multiples of NC and slivers at multiples of NR from column 0, so j0 must be a multiple of NR (a thread's
     * column range then covers whole slivers of its own).
     */
    static void gemmPacked(
            boolean ta,
            int i0,
            int i1,
            int j0,
            int j1,
            int k,
            float alpha,
            MemorySegment a,
            long aOff,
            int lda,
            PackedPanels b,
            MemorySegment c,
            long cOff,
            int ldc,
            float[] allA,
            GemmEpilogue epilogue,
            Buffers buf) {
        if (j0 % NR != 0) throw new IllegalArgumentException("packed gemm: column range starts at " + j0);
        if (allA != null && i0 != 0)
            throw new IllegalArgumentException("packed gemm: a shared packed A covers rows from 0, not " + i0);
        for (int jc = j0 / NC * NC; jc < j1; jc += NC) {
            int js0 = Math.max(j0, jc) - jc, js1 = Math.min(j1, jc + NC) - jc;
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                float[] bp = b.panel(jc / NC, pc / KC);
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    float[] ab = buf.a;
                    int ao = 0;
                    if (allA == null) GemmPacking.packA(ta, a, aOff, lda, ic, mc, pc, kc, alpha, buf.a, 0, buf.row);
                    else {
                        ab = allA;
                        ao = allAOffset(i1, pc, ic, kc);
                    }
                    for (int jr = js0; jr < js1; jr += NR) {
                        int nr = Math.min(NR, js1 - jr);
                        long cRow = cOff + (long) ic * ldc + jc + jr;
                        GemmEpilogue e = pc + kc == k ? epilogue : null;
                        tiles(kc, ab, ao, bp, jr * kc, c, cRow, ldc, mc, nr, pc == 0, e, ic, jc + jr, buf);
                    }
                    // the activation once over the block's rows, whole rows of this call's columns per unary call
                    if (epilogue != null && pc + kc == k)
                        epilogue.activate(c, cOff + (long) ic * ldc + jc + js0, ldc, mc, js1 - js0);
                }
            }
        }
    }

    /**
     * Rows 0..m of op(A)·alpha packed once for a whole product, every (pc, ic) block exactly as {@link #gemmPacked}
     * packs it for itself, at {@link #allAOffset}: the threads of a column split then share one packed A instead of
     * each packing all of it for every column chunk they take. The rows are split between the threads of the current
     * {@link GemmConfig} as {@link Sgemm#parallelRanges} splits a loop of {@code splitFlops} (ranges of whole MR
     * slivers, each thread packing its rows of every K block with its own row scratch), so that a column split does
     * not wait while the calling thread packs A alone; 0 packs on this thread. Returns the buffer (buf's, grown when
     * needed).
     */
    static float[] packAllA(
            boolean ta, MemorySegment a, long aOff, int lda, int m, int k, float alpha, Buffers buf, long splitFlops) {
        long need = allASize(m, k);
        if (buf.allA.length < need) buf.allA = new float[(int) need];
        float[] out = buf.allA;
        Sgemm.parallelRanges(
                m,
                splitFlops,
                MR,
                (i0, i1) -> packAllRows(ta, a, aOff, lda, m, k, alpha, out, i0, i1, Sgemm.BUFFERS.get().row));
        return out;
    }

    /** Rows [i0, i1) of every K block of a whole packed A of m rows into {@code out}; i0 a multiple of MR. */
    private static void packAllRows(
            boolean ta,
            MemorySegment a,
            long aOff,
            int lda,
            int m,
            int k,
            float alpha,
            float[] out,
            int i0,
            int i1,
            float[] row) {
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            for (int ic = i0; ic < i1; ic += MC)
                GemmPacking.packA(
                        ta,
                        a,
                        aOff,
                        lda,
                        ic,
                        Math.min(MC, i1 - ic),
                        pc,
                        kc,
                        alpha,
                        out,
                        allAOffset(m, pc, ic, kc),
                        row);
        }
    }

    /** Floats {@link #packAllA} needs for m rows and k columns, or more than an int can index. */
    static long allASize(int m, int k) {
        return (long) paddedRows(m) * k;
    }

    private static int paddedRows(int m) {
        return (m + MR - 1) / MR * MR;
    }

    /** Where block (pc, ic) of a whole packed A of m rows starts: the K blocks one after another, each mPad × kc. */
    private static int allAOffset(int m, int pc, int ic, int kc) {
        return pc * paddedRows(m) + ic * kc;
    }

    /**
     * One NR-wide column of tiles over the mc rows of a packed A block (slivers from element ao, kc deep) and the B
     * sliver at bo: pairs of slivers through {@link GemmKernels#kernel2} where {@link #rowsAt} says so, else single
     * slivers. C's first row of the column is at element cRow. With an epilogue (the last depth block of a product
     * that has one) each kernel leaves its product in the scratch tile and the epilogue writes C; the column's first
     * row is C's row i0 and its first column C's column j0.
     */
    private static void tiles(
            int kc,
            float[] ap,
            int ao,
            float[] bp,
            int bo,
            MemorySegment c,
            long cRow,
            int ldc,
            int mc,
            int nr,
            boolean store,
            GemmEpilogue epilogue,
            int i0,
            int j0,
            Buffers buf) {
        for (int ir = 0, rows; ir < mc; ir += rows) {
            rows = rowsAt(ir, mc);
            int mr = Math.min(rows, mc - ir);
            long cTile = cRow + (long) ir * ldc;
            if (epilogue == null) {
                GemmKernels.kernel(rows, kc, ap, ao + ir * kc, bp, bo, c, cTile, ldc, mr, nr, store, buf.tile);
            } else {
                GemmKernels.kernel(rows, kc, ap, ao + ir * kc, bp, bo, null, 0, ldc, mr, nr, store, buf.tile);
                epilogue.finish(buf.tile, c, cTile, ldc, mr, nr, !store, i0 + ir, j0);
            }
        }
    }

    /** Rows the kernel call at sliver offset ir of an mc-row block covers: {@link #ROWS} where a second sliver exists. */
    private static int rowsAt(int ir, int mc) {
        return ROWS > MR && ir + MR < mc ? ROWS : MR;
    }

    /**
     * C[0:m, j0:j1] = A·B for a heap A (m×k, row-major, leading dimension k, k ≥ 1) and C (leading dimension ldc;
     * the first K block stores its tiles, so C is not read), B made
     * block by block by {@code b} straight into the slivers the micro-kernel reads (no B matrix, no packing copy).
     * The loops are {@link #gemm}'s with slivers counted from j0. A comes from {@code allA} ({@link #packAllA} of
     * all m rows) or, when that is null, is packed per block into buf.
     */
    static void gemmFilled(
            int m,
            int j0,
            int j1,
            int k,
            float[] a,
            float[] allA,
            FilledSgemm.Panels b,
            float[] c,
            int ldc,
            Buffers buf) {
        MemorySegment as = allA == null ? MemorySegment.ofArray(a) : null;
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                b.fill(pc, kc, jc, nc, buf.b);
                for (int ic = 0; ic < m; ic += MC) {
                    int mc = Math.min(MC, m - ic);
                    float[] ab = buf.a;
                    int ao = 0;
                    if (allA == null) GemmPacking.packA(false, as, 0, k, ic, mc, pc, kc, 1f, buf.a, 0, buf.row);
                    else {
                        ab = allA;
                        ao = allAOffset(m, pc, ic, kc);
                    }
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        for (int ir = 0, rows; ir < mc; ir += rows) {
                            rows = rowsAt(ir, mc);
                            int cTile = (ic + ir) * ldc + jc + jr, mr = Math.min(rows, mc - ir);
                            GemmKernels.kernel(
                                    rows, kc, ab, ao + ir * kc, buf.b, jr * kc, null, 0, 0, mr, nr, false, buf.tile);
                            if (pc == 0) GemmKernels.storeTile(buf.tile, c, cTile, ldc, mr, nr);
                            else GemmKernels.addTile(buf.tile, c, cTile, ldc, mr, nr);
                        }
                    }
                }
            }
        }
    }
}
