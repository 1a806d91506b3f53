package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Softmax and log-softmax of F32 rows ({@link FloatKernels}' species and exp): along the last dim a row at a time,
 * along another dim a vector of columns at a time.
 */
final class SoftmaxRows {
    private SoftmaxRows() {}

    private static final VectorSpecies<Float> F = FloatKernels.F;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /** dst[i] = src[i] − shift over a contiguous row. */
    private static void shiftRow(MemorySegment src, long so, MemorySegment dst, long dO, int n, float shift) {
        FloatVector sv = FloatVector.broadcast(F, shift);
        int w = F.length(), i = 0;
        for (; i + w <= n; i += w)
            FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO).sub(sv).intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO, m)
                    .sub(sv)
                    .intoMemorySegment(dst, (dO + i) * 4, NO, m);
        }
    }

    /** dst[i] ·= factor over a contiguous row. */
    private static void scaleRow(MemorySegment dst, long dO, int n, float factor) {
        FloatVector fv = FloatVector.broadcast(F, factor);
        int w = F.length(), i = 0;
        for (; i + w <= n; i += w)
            FloatVector.fromMemorySegment(F, dst, (dO + i) * 4, NO).mul(fv).intoMemorySegment(dst, (dO + i) * 4, NO);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromMemorySegment(F, dst, (dO + i) * 4, NO, m)
                    .mul(fv)
                    .intoMemorySegment(dst, (dO + i) * 4, NO, m);
        }
    }

    /** Softmax (or log-softmax) of a contiguous row into a contiguous row. */
    static void softmaxRow(MemorySegment src, long so, MemorySegment dst, long dO, int n, boolean log) {
        float max = FloatKernels.extremeRow(src, so, n, true);
        if (max == Float.NEGATIVE_INFINITY) max = 0; // an all -inf row gives NaN, as in PyTorch
        float sum = expSumRow(src, so, dst, dO, n, max, !log);
        // the exp and the last pass in methods of their own: see the note above FloatKernels.expRow
        if (log) shiftRow(src, so, dst, dO, n, max + (float) Math.log(sum));
        else scaleRow(dst, dO, n, 1f / sum);
    }

    /** Σ e^(src[i] − max) over a row (whole vectors, then the rest one at a time), each term stored when store. */
    private static float expSumRow(
            MemorySegment src, long so, MemorySegment dst, long dO, int n, float max, boolean store) {
        FloatVector mv = FloatVector.broadcast(F, max);
        FloatVector acc = FloatVector.zero(F);
        float tail = 0;
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            FloatVector e = FloatKernels.exp(
                    FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO).sub(mv));
            acc = acc.add(e);
            if (store) e.intoMemorySegment(dst, (dO + i) * 4, NO);
        }
        for (; i < n; i++) {
            float e =
                    (float) Math.exp(src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, so + i) - max);
            tail += e;
            if (store) dst.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, dO + i, e);
        }
        return LaneSum.sum(acc) + tail;
    }

    /**
     * Softmax (or log-softmax) along a dimension other than the last, for {@code len} rows of n contiguous floats
     * that lie {@code ss} (source) and {@code ds} (destination) elements apart: every column of the rows is one
     * softmax, computed for a vector of columns at a time. {@code mx} and {@code sm} are scratch of at least n
     * floats. As in {@link #softmaxRow}, a column whose maximum is −∞ uses 0 instead (an all −∞ column gives NaN).
     */
    static void softmaxColumns(
            MemorySegment src,
            long so,
            long ss,
            MemorySegment dst,
            long dO,
            long ds,
            int len,
            int n,
            boolean log,
            float[] mx,
            float[] sm) {
        int L = F.length(), bound = F.loopBound(n);
        java.util.Arrays.fill(mx, 0, n, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(sm, 0, n, 0f);
        for (int j = 0; j < len; j++) {
            long row = so + j * ss;
            int i = 0;
            for (; i < bound; i += L) {
                FloatVector.fromArray(F, mx, i)
                        .lanewise(VectorOperators.MAX, FloatVector.fromMemorySegment(F, src, (row + i) * 4, NO))
                        .intoArray(mx, i);
            }
            for (; i < n; i++)
                mx[i] = Math.max(mx[i], src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, row + i));
        }
        for (int i = 0; i < n; i++) if (mx[i] == Float.NEGATIVE_INFINITY) mx[i] = 0;
        for (int j = 0; j < len; j++) {
            long row = so + j * ss, out = dO + j * ds;
            int i = 0;
            for (; i < bound; i += L) {
                FloatVector e = FloatKernels.exp(
                        FloatVector.fromMemorySegment(F, src, (row + i) * 4, NO).sub(FloatVector.fromArray(F, mx, i)));
                FloatVector.fromArray(F, sm, i).add(e).intoArray(sm, i);
                if (!log) e.intoMemorySegment(dst, (out + i) * 4, NO);
            }
            for (; i < n; i++) {
                float e = (float)
                        Math.exp(src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, row + i) - mx[i]);
                sm[i] += e;
                if (!log) dst.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, out + i, e);
            }
        }
        // the last pass: log-softmax x − max − log Σ, softmax e · (1/Σ); mx becomes the shift, sm the factor
        for (int i = 0; i < n; i++) {
            if (log) mx[i] += (float) Math.log(sm[i]);
            else sm[i] = 1f / sm[i];
        }
        for (int j = 0; j < len; j++) {
            long row = so + j * ss, out = dO + j * ds;
            int i = 0;
            for (; i < bound; i += L) {
                FloatVector v = log
                        ? FloatVector.fromMemorySegment(F, src, (row + i) * 4, NO)
                                .sub(FloatVector.fromArray(F, mx, i))
                        : FloatVector.fromMemorySegment(F, dst, (out + i) * 4, NO)
                                .mul(FloatVector.fromArray(F, sm, i));
                v.intoMemorySegment(dst, (out + i) * 4, NO);
            }
            for (; i < n; i++) {
                float v = log
                        ? src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, row + i) - mx[i]
                        : dst.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, out + i) * sm[i];
                dst.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, out + i, v);
            }
        }
    }
}
