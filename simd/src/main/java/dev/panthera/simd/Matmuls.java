package dev.panthera.simd;

import static dev.panthera.simd.FloatRows.narrow;
import static dev.panthera.simd.FloatRows.widen;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.spi.PackedStorage;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Batched matmul for every mix of F32, BF16 and F16 operands, one GEMM per batch matrix, products accumulated in F32:
 * <ul>
 *   <li>A (activations): an F32 matrix view (row- or column-major) is read in place; any other is widened into a
 *       dense F32 [M, K] scratch block per batch matrix.</li>
 *   <li>B (weights): an F32, BF16 or F16 matrix view is read in place, 16-bit weights widened in registers as GEMM
 *       reads them ({@link Sgemm}'s mixed path, the GEMV paths for decode's small M); a broadcast or otherwise
 *       strided view is widened into a dense F32 [K, N] block. A weight made by {@code Tensor.packedForMatmul()}
 *       carries its GEMM panels ({@link PackedPanels}, see {@link #pack}); a product with M ≥ {@link Sgemm#SKINNY_M}
 *       reads them ({@link PackedSgemm}) instead of packing B again, a smaller one reads the weight's values.</li>
 *   <li>C: a dense F32 destination is written in place; any other is computed into an F32 [M, N] block and narrowed
 *       with round to nearest even.</li>
 * </ul>
 */
final class Matmuls {
    private Matmuls() {}

    /** How a [rows, cols] matrix view maps to BLAS arguments. */
    private record Operand(boolean trans, int ld) {
        static Operand of(Layout l, int rows, int cols) {
            int r = l.rank();
            long sr = l.stride(r - 2), sc = l.stride(r - 1);
            if (sr > Integer.MAX_VALUE || sc > Integer.MAX_VALUE) return null;
            if ((cols == 1 || sc == 1) && (rows == 1 || sr >= Math.max(cols, 1))) {
                return new Operand(false, Math.toIntExact(rows == 1 ? Math.max(cols, 1) : sr));
            }
            if ((rows == 1 || sr == 1) && (cols == 1 || sc >= Math.max(rows, 1))) {
                return new Operand(true, Math.toIntExact(cols == 1 ? Math.max(rows, 1) : sc));
            }
            return null; // broadcast (stride 0) or otherwise strided: not a BLAS matrix
        }
    }

    private static Layout batch(Layout l) {
        return l.leading(l.rank() - 2);
    }

    static void matmul(Storage a, Layout al, Storage b, Layout bl, Storage dst, Layout dl) {
        matmul(a, al, b, bl, dst, dl, null);
    }

    /**
     * {@link #matmul} with an epilogue for a rank-2 product written to a contiguous F32 dst (null: none): the packed
     * GEMM applies it per tile as it writes C, every other path to the whole product after it.
     */
    static void matmul(Storage a, Layout al, Storage b, Layout bl, Storage dst, Layout dl, GemmEpilogue epilogue) {
        int r = al.rank();
        int m = Math.toIntExact(al.shape().dim(r - 2)),
                k = Math.toIntExact(al.shape().dim(r - 1)),
                n = Math.toIntExact(bl.shape().dim(r - 1));
        if (epilogue != null && (r != 2 || dst.dtype() != DType.F32 || !dl.isContiguous()))
            throw new IllegalArgumentException(
                    "matmul epilogue: needs a rank-2 contiguous F32 destination, got " + dst.dtype() + " " + dl);
        if (dl.numel() == 0) return;
        Operand pa = a.dtype() == DType.F32 ? Operand.of(al, m, k) : null, pb = Operand.of(bl, k, n);
        PackedPanels packed = m >= Sgemm.SKINNY_M
                        && b instanceof PackedStorage ps
                        && ps.packed() instanceof PackedPanels pp
                        && bl.equals(ps.packedLayout())
                ? pp
                : null;
        boolean directC = dst.dtype() == DType.F32 && dl.isContiguous();
        Layout ba = batch(al), bb = batch(bl), bd = batch(dl);
        StridedCursor ca = new StridedCursor(ba), cb = new StridedCursor(bb), cd = new StridedCursor(bd);
        boolean denseB = pb == null && packed == null;
        boolean scratch = pa == null || denseB || !directC;
        // shared scratch, so GEMM may split the product over its threads (it keeps confined memory on one thread)
        try (Arena arena = scratch ? Arena.ofShared() : Arena.ofConfined()) {
            MemorySegment as = pa == null ? block(arena, m, k) : null,
                    bs = denseB ? block(arena, k, n) : null,
                    cs = directC ? null : block(arena, m, n);
            DType kind = pb == null ? DType.F32 : b.dtype();
            for (long i = 0, nb = bd.numel(); i < nb; i++) {
                long ao = ca.next(), bo = cb.next(), dO = cd.next();
                if (pa == null) dense(a, al, ao, m, k, as);
                if (denseB) dense(b, bl, bo, k, n, bs);
                if (packed != null) {
                    PackedSgemm.gemm(
                            pa != null && pa.trans,
                            m,
                            k,
                            pa == null ? as : a.segment(),
                            pa == null ? 0 : ao,
                            pa == null ? Math.max(1, k) : pa.ld,
                            packed,
                            directC ? dst.segment() : cs,
                            directC ? dO : 0,
                            Math.max(1, n),
                            epilogue);
                } else {
                    Sgemm.gemm(
                            GemmConfig.current(),
                            "matmul",
                            kind,
                            pa != null && pa.trans,
                            pb != null && pb.trans,
                            m,
                            n,
                            k,
                            1f,
                            pa == null ? as : a.segment(),
                            pa == null ? 0 : ao,
                            pa == null ? Math.max(1, k) : pa.ld,
                            pb == null ? bs : b.segment(),
                            pb == null ? 0 : bo,
                            pb == null ? Math.max(1, n) : pb.ld,
                            0f,
                            directC ? dst.segment() : cs,
                            directC ? dO : 0,
                            Math.max(1, n));
                    if (epilogue != null) epilogue.apply(dst.segment(), dO, Math.max(1, n), m, n);
                }
                if (!directC) {
                    int last = dl.rank() - 1;
                    for (int row = 0; row < m; row++)
                        narrow(
                                cs,
                                (long) row * n,
                                n,
                                dst.segment(),
                                dst.dtype(),
                                dO + row * dl.stride(last - 1),
                                dl.stride(last));
                }
            }
        }
    }

    /**
     * The GEMM panels of a constant weight [K, N] of any layout (F32, BF16 or F16; a view GEMM cannot read in place is
     * widened into a dense F32 block first); null for an empty one.
     */
    static PackedPanels pack(Storage b, Layout l) {
        if (l.rank() != 2 || !WidenedOps.serves(b.dtype())) return null;
        int k = Math.toIntExact(l.shape().dim(0)), n = Math.toIntExact(l.shape().dim(1));
        if (k == 0 || n == 0) return null;
        Operand op = Operand.of(l, k, n);
        if (op != null) return PackedPanels.pack(b.dtype(), op.trans, k, n, b.segment(), l.offset(), op.ld);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment d = block(arena, k, n);
            dense(b, l, l.offset(), k, n, d);
            return PackedPanels.pack(DType.F32, false, k, n, d, 0, n);
        }
    }

    private static MemorySegment block(Arena arena, int rows, int cols) {
        return arena.allocate(Math.max(1L, (long) rows * cols) * 4, 64);
    }

    /** The [rows, cols] matrix at {@code off} of a view widened into the dense row-major F32 block {@code out}. */
    private static void dense(Storage s, Layout l, long off, int rows, int cols, MemorySegment out) {
        int r = l.rank();
        long sr = l.stride(r - 2), sc = l.stride(r - 1);
        for (int i = 0; i < rows; i++) widen(s.segment(), s.dtype(), off + i * sr, sc, cols, out, (long) i * cols);
    }
}
