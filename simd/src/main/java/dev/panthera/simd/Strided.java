package dev.panthera.simd;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The "one contiguous copy" path for F32 views whose innermost dimension is strided (a transpose, a column slice, a
 * stepped view): the row kernels need a dense last dim, so such an input is gathered once into a dense temporary,
 * and such an output is computed into a dense temporary and scattered into place. Both are direct loops over the
 * segments, one row at a time; the temporaries live in the caller's arena.
 *
 * @param storage the storage to hand the kernel
 * @param layout  its layout (dense when a temporary was made)
 * @param temp    whether {@code storage} is a temporary that {@link #copyOut} must scatter
 */
record Strided(Storage storage, Layout layout, boolean temp) {
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private static long lastStride(Layout l) {
        return l.rank() == 0 ? 1 : l.stride(l.rank() - 1);
    }

    private static int rowLength(Layout l) {
        return l.rank() == 0 ? 1 : Math.toIntExact(l.shape().dim(l.rank() - 1));
    }

    /**
     * {@code s} itself when its last stride is 1 (or 0 with {@code broadcastOk}, for operands the kernels broadcast),
     * otherwise a dense F32 copy of the view.
     */
    static Strided dense(Storage s, Layout l, Arena arena, boolean broadcastOk) {
        long st = lastStride(l);
        if (st == 1 || (broadcastOk && st == 0)) return new Strided(s, l, false);
        Layout dense = Layout.contiguous(l.shape());
        Storage t = Storage.allocate(DType.F32, l.numel(), arena);
        int n = rowLength(l);
        MemorySegment from = s.segment(), to = t.segment();
        StridedCursor c = new StridedCursor(l.leading(l.rank() - 1));
        for (long r = 0, o = 0, rows = n == 0 ? 0 : l.numel() / n; r < rows; r++, o += n) {
            long so = c.next();
            for (int j = 0; j < n; j++) to.setAtIndex(FL, o + j, from.getAtIndex(FL, so + j * st));
        }
        return new Strided(t, dense, true);
    }

    /** {@code d} itself when its last stride is 1, otherwise a dense F32 temporary of its shape to compute into. */
    static Strided output(Storage d, Layout l, Arena arena) {
        if (lastStride(l) == 1) return new Strided(d, l, false);
        return new Strided(Storage.allocate(DType.F32, l.numel(), arena), Layout.contiguous(l.shape()), true);
    }

    /** Scatters a temporary output into the view {@code l} of {@code d}; nothing when the kernel wrote {@code d} itself. */
    void copyOut(Storage d, Layout l) {
        if (!temp) return;
        long st = lastStride(l);
        int n = rowLength(l);
        MemorySegment from = storage.segment(), to = d.segment();
        StridedCursor c = new StridedCursor(l.leading(l.rank() - 1));
        for (long r = 0, o = 0, rows = n == 0 ? 0 : l.numel() / n; r < rows; r++, o += n) {
            long dO = c.next();
            for (int j = 0; j < n; j++) to.setAtIndex(FL, dO + j * st, from.getAtIndex(FL, o + j));
        }
    }
}
