package dev.panthera.simd;

import java.lang.foreign.MemorySegment;

/**
 * Where a row dot product's full vector loads start, so that each stays inside one cache line, and the lane masks
 * of the partial vectors before and after them ({@link SkinnyGemm}'s F32 decode dots).
 */
final class RowHeads {
    private RowHeads() {}

    /**
     * Elements of {@code elemBytes} bytes from element {@code at} of {@code b} up to the next boundary of
     * {@code vectorBytes} (the row dot's load width, at most a 64-byte cache line): the head a row dot takes apart,
     * so that its full vector loads each stay inside one cache line. A load that spans two lines costs two cache
     * accesses, and a weight file's tensors often start half a line in (GGUF aligns them to 32 bytes). 0 where the
     * rows ({@code ldb} elements apart) do not all share that offset, where b lives on the heap (its address moves
     * with the collector), or for pieces of {@code len} elements shorter than 16 vectors, where the head and tail
     * vectors would be a large share of the loads. The head depends on nothing but the rows' addresses, so a row
     * is summed the same way alone or with others.
     */
    static int alignedHead(MemorySegment b, long at, int elemBytes, int ldb, int len, int vectorBytes) {
        if (!b.isNative() || ((long) ldb * elemBytes) % vectorBytes != 0 || (long) len * elemBytes < 16L * vectorBytes)
            return 0;
        long addr = b.address() + at * elemBytes;
        if (addr % elemBytes != 0) return 0;
        return (int) ((-addr & (vectorBytes - 1)) / elemBytes);
    }

    /**
     * The lane masks of a row piece of n ≥ {@code lanes} elements whose full vectors start {@code head} elements in:
     * masks[0, lanes) keeps the head vector's lanes below head, masks[lanes, 2·lanes) the tail vector's (the one
     * ending at n) lanes past the last full vector.
     */
    static void masks(int lanes, int n, int head, boolean[] masks) {
        if (n < lanes) return;
        int skip = head + (n - head) / lanes * lanes - (n - lanes);
        for (int i = 0; i < lanes; i++) {
            masks[i] = i < head;
            masks[lanes + i] = i >= skip;
        }
    }
}
