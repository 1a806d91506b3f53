package dev.panthera.cuda.backend;

import dev.panthera.tensor.Layout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The kernels' {@code struct Strided} (common.cuh): int rank, int pad, i64 offset, i64 shape[8], i64 stride[8]. */
final class StridedArg {
    static final int MAX_RANK = 8;
    static final long BYTES = 4 + 4 + 8 + 8L * MAX_RANK * 2;

    private StridedArg() {}

    /** The struct for {@code layout}, with its offset shifted by {@code extraOffset} elements. */
    static MemorySegment of(Arena arena, Layout layout) {
        int rank = layout.rank();
        if (rank > MAX_RANK) {
            throw new UnsupportedOperationException(
                    "cuda backend: rank " + rank + " exceeds the kernels' limit of " + MAX_RANK + " (" + layout + ")");
        }
        MemorySegment s = arena.allocate(BYTES, 8);
        s.set(ValueLayout.JAVA_INT, 0, rank);
        s.set(ValueLayout.JAVA_LONG, 8, layout.offset());
        long[] st = layout.strides();
        for (int d = 0; d < rank; d++) {
            s.set(ValueLayout.JAVA_LONG, 16 + 8L * d, layout.shape().dim(d));
            s.set(ValueLayout.JAVA_LONG, 16 + 8L * MAX_RANK + 8L * d, st[d]);
        }
        return s;
    }
}
