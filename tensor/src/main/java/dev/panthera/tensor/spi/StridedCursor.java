package dev.panthera.tensor.spi;

import dev.panthera.tensor.Layout;

/**
 * Walks the elements of a layout in row-major order of its shape, yielding storage indices. Incremental: one add
 * per step in the innermost dimension.
 */
public final class StridedCursor {
    private final long[] dims;
    private final long[] strides;
    private final long[] counter;
    private long index;
    private boolean started;

    public StridedCursor(Layout layout) {
        this.dims = layout.shape().toArray();
        this.strides = layout.strides();
        this.counter = new long[dims.length];
        this.index = layout.offset();
    }

    /** The storage index of the next element; call exactly numel times. */
    public long next() {
        if (!started) {
            started = true;
            return index;
        }
        for (int d = dims.length - 1; d >= 0; d--) {
            if (++counter[d] < dims[d]) {
                index += strides[d];
                return index;
            }
            index -= (dims[d] - 1) * strides[d];
            counter[d] = 0;
        }
        return index;
    }

    /** The position of the element last returned by {@link #next()} along dimension {@code d}. */
    public long position(int d) {
        return counter[d];
    }
}
