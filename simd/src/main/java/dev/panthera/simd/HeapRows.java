package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Weight rows held in a Java {@code long[]} (a heap segment of {@code MemorySegment.ofArray(long[])}, as a model
 * file's tensors are when loaded onto the heap), read by the decode dots with array loads. Each load from a memory
 * segment checks the segment's bounds and its arena's liveness; where a program passes segments of several kinds
 * (mapped, native, heap) through the same Vector API loads, C2 leaves those checks inside the loop, before every
 * 64-byte load. An array load's bounds check is moved out of a counted loop.
 */
final class HeapRows {
    private HeapRows() {}

    /**
     * {@code w}'s backing long[] when rows starting at elements {@code r0} and {@code r1} (of {@code elemBytes} bytes)
     * start on 8-byte boundaries of it, so that every load of a whole number of longs from them is an array load;
     * null otherwise (a native or mapped segment, another array type, a read-only view, a row start off a long).
     */
    static long[] array(MemorySegment w, long r0, long r1, int elemBytes) {
        if (!(w.heapBase().orElse(null) instanceof long[] a)) return null;
        long o = w.address(); // a heap segment's address is its offset into the array, in bytes
        return ((o + r0 * elemBytes) & 7) == 0 && ((o + r1 * elemBytes) & 7) == 0 ? a : null;
    }

    /** The width of {@link #floats}: {@link Lanes#PACKED}'s. */
    static final VectorSpecies<Float> F = Lanes.PACKED;

    private static final VectorSpecies<Long> L = VectorSpecies.of(long.class, F.vectorShape());

    /** The {@link #F} vector of floats from long {@code q} of {@code w} (float element 2q). */
    static FloatVector floats(long[] w, int q) {
        return LongVector.fromArray(L, w, q).reinterpretAsFloats();
    }
}
