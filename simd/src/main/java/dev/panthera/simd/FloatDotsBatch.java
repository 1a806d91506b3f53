package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Four activation rows against two F32 weight rows per pass, at the machine's full width ({@link Lanes#PACKED}): the
 * F32 form of {@link HalfDotsBatch#dot2x4} for a batch's decode step. Each weight vector is loaded once for the four
 * rows, and the two weight rows are two streams far apart in memory, as the one-row decode reads them.
 */
final class FloatDotsBatch {
    private FloatDotsBatch() {}

    static final VectorSpecies<Float> F = Lanes.PACKED;
    private static final int L = F.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /**
     * out[2t] = Σ_{p in [pc, pe)} x[x0 + t·xs + p]·w[r0 + p], out[2t + 1] the same with row r1, for t < 4. Each sum
     * runs two FMA chains (even and odd vectors), then their lanes (LaneSum's tree, several sums at once as in
     * {@link HalfDotsBatch}), then the elements past the last full pair of vectors one at a time.
     */
    static void dot2x4(
            float[] x, int x0, int xs, MemorySegment w, long r0, long r1, int pc, int pe, float[] out, float[] lanes) {
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, d0 = a0, d1 = a0, d2 = a0, d3 = a0;
        int p = pc;
        for (; p + 2 * L <= pe; p += 2 * L) {
            FloatVector u = FloatVector.fromMemorySegment(F, w, (r0 + p) * 4, NO),
                    v = FloatVector.fromMemorySegment(F, w, (r0 + p + L) * 4, NO);
            FloatVector y = FloatVector.fromMemorySegment(F, w, (r1 + p) * 4, NO),
                    z = FloatVector.fromMemorySegment(F, w, (r1 + p + L) * 4, NO);
            FloatVector e = FloatVector.fromArray(F, x, x0 + p), o = FloatVector.fromArray(F, x, x0 + p + L);
            a0 = e.fma(u, a0);
            b0 = o.fma(v, b0);
            c0 = e.fma(y, c0);
            d0 = o.fma(z, d0);
            e = FloatVector.fromArray(F, x, x1 + p);
            o = FloatVector.fromArray(F, x, x1 + p + L);
            a1 = e.fma(u, a1);
            b1 = o.fma(v, b1);
            c1 = e.fma(y, c1);
            d1 = o.fma(z, d1);
            e = FloatVector.fromArray(F, x, x2 + p);
            o = FloatVector.fromArray(F, x, x2 + p + L);
            a2 = e.fma(u, a2);
            b2 = o.fma(v, b2);
            c2 = e.fma(y, c2);
            d2 = o.fma(z, d2);
            e = FloatVector.fromArray(F, x, x3 + p);
            o = FloatVector.fromArray(F, x, x3 + p + L);
            a3 = e.fma(u, a3);
            b3 = o.fma(v, b3);
            c3 = e.fma(y, c3);
            d3 = o.fma(z, d3);
        }
        HalfDotsBatch.sums8(
                a0.add(b0),
                c0.add(d0),
                a1.add(b1),
                c1.add(d1),
                a2.add(b2),
                c2.add(d2),
                a3.add(b3),
                c3.add(d3),
                lanes,
                out);
        for (; p < pe; p++) {
            float w0 = w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, r0 + p),
                    w1 = w.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, r1 + p);
            for (int t = 0; t < 4; t++) {
                out[2 * t] += x[x0 + t * xs + p] * w0;
                out[2 * t + 1] += x[x0 + t * xs + p] * w1;
            }
        }
    }
}
