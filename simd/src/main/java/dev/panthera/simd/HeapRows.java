package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
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
     * {@code w}'s backing long[] when element {@code at} (of {@code elemBytes} bytes) starts on an 8-byte boundary of
     * it, so that every load of a whole number of longs from there is an array load; null otherwise (a native or
     * mapped segment, another array type, a read-only view, a start off a long, an array of more than 2^30 longs).
     */
    static long[] array(MemorySegment w, long at, int elemBytes) {
        // float element indices of the array must fit an int: at most 2^30 longs
        if (!(w.heapBase().orElse(null) instanceof long[] a) || a.length > 1 << 30) return null;
        return ((w.address() + at * elemBytes) & 7) == 0 ? a : null; // a heap segment's address: its offset, in bytes
    }

    /** The width of {@link #floats}: {@link Lanes#PACKED}'s. */
    static final VectorSpecies<Float> F = Lanes.PACKED;

    private static final VectorSpecies<Long> L = VectorSpecies.of(long.class, F.vectorShape());

    /** The {@link #F} vector of floats from long {@code q} of {@code w} (float element 2q). */
    static FloatVector floats(long[] w, int q) {
        return LongVector.fromArray(L, w, q).reinterpretAsFloats();
    }

    /**
     * {@code SkinnyGemm.dotRows2} over two rows held in a long[], pieces of at least one vector: element e of a row is
     * float element {@code r + e} of the array, {@code r + pc} and {@code pe - pc} even. Called from a loop over the
     * rows of its own, so that the loop sees array loads only; the sums are taken in the same order as there with no
     * head.
     */
    static void dot2(float[] av, long[] w, int r0, int r1, int pc, int pe, boolean[] masks, float[] out) {
        int L = F.length(), H = L / 2; // H longs per vector
        FloatVector s0 = FloatVector.zero(F),
                s1 = FloatVector.zero(F),
                t0 = FloatVector.zero(F),
                t1 = FloatVector.zero(F);
        // the loop counts longs: every index below is linear in q, so C2 moves the array bounds checks out of it
        int q0 = (r0 + pc) >>> 1, q1 = (r1 + pc) >>> 1, n = (pe - pc) >>> 1, q = 0;
        for (; q <= n - L; q += L) {
            FloatVector x = FloatVector.fromArray(F, av, pc + 2 * q), y = FloatVector.fromArray(F, av, pc + 2 * q + L);
            s0 = x.fma(floats(w, q0 + q), s0);
            s1 = y.fma(floats(w, q0 + q + H), s1);
            t0 = x.fma(floats(w, q1 + q), t0);
            t1 = y.fma(floats(w, q1 + q + H), t1);
        }
        int p = pc + 2 * q;
        if (p + L <= pe) {
            FloatVector x = FloatVector.fromArray(F, av, p);
            s0 = x.fma(floats(w, (r0 + p) >>> 1), s0);
            t0 = x.fma(floats(w, (r1 + p) >>> 1), t0);
            p += L;
        }
        if (p < pe) { // the tail vector at pe - L, its lanes before p masked off
            VectorMask<Float> keep = VectorMask.fromArray(F, masks, L);
            FloatVector x = FloatVector.fromArray(F, av, pe - L);
            s1 = s1.blend(x.fma(floats(w, (r0 + pe - L) >>> 1), s1), keep);
            t1 = t1.blend(x.fma(floats(w, (r1 + pe - L) >>> 1), t1), keep);
        }
        out[0] = LaneSum.sum(s0.add(s1));
        out[1] = LaneSum.sum(t0.add(t1));
    }
}
