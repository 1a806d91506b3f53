package dev.panthera.simd;

import dev.panthera.tensor.BinaryOp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row kernels for the index, mask and multi-dimension reduction ops of {@link SimdBackend}: fills, comparisons into
 * BOOL bytes, {@code where} with BOOL masks, argmax/argmin, double-accumulated row sums, and the gather / scatter-add
 * loops. Offsets and lengths are in elements unless a name says bytes. Every kernel reproduces the reference
 * backend's result bit for bit except {@link #sumRow}, whose only difference is the order of its double additions.
 */
final class IndexKernels {
    private IndexKernels() {}

    private static final VectorSpecies<Float> F = FloatKernels.F;
    /** Ints with the float species' lane count: {@code where} moves 4-byte elements as bits (NaN payloads intact). */
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    /**
     * Bytes with the float species' lane count (64 bits for 8 floats), for BOOL masks; null where no such shape exists
     * (a 4-lane float species would need 32-bit byte vectors), and then the row kernels run their scalar loops only.
     */
    private static final VectorSpecies<Byte> B =
            F.length() >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8)) : null;

    private static final VectorSpecies<Double> D = Lanes.D;
    /** Floats with the double species' lane count, widened lane for lane by F2D. */
    private static final VectorSpecies<Float> FD =
            VectorSpecies.of(float.class, VectorShape.forBitSize(D.length() * 32));

    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    /** Elements done by the vector loop of a mask kernel (0 when there is no byte species). */
    private static int maskBound(int n) {
        return B == null ? 0 : F.loopBound(n);
    }

    // ------------------------------------------------------------------------------------------------ fill

    /** s[o .. o+n) = v as F32, by broadcast stores. */
    static void fillRow(MemorySegment s, long o, long n, float v) {
        FloatVector bv = FloatVector.broadcast(F, v);
        long i = 0, bound = n - n % F.length();
        for (; i < bound; i += F.length()) bv.intoMemorySegment(s, (o + i) * 4, NO);
        for (; i < n; i++) s.setAtIndex(F32, o + i, v);
    }

    /**
     * Repeats the element of {@code width} bytes at {@code byteOffset} over {@code bytes} bytes by doubling copies
     * (the first element is already written, so the pattern is the dtype's exact encoding).
     */
    static void repeat(MemorySegment s, long byteOffset, int width, long bytes) {
        for (long have = width; have < bytes; have *= 2) {
            MemorySegment.copy(s, byteOffset, s, byteOffset + have, Math.min(have, bytes - have));
        }
    }

    // ------------------------------------------------------------------------------------------------ masks

    /**
     * dst[i] = a[i·sa] op b[i·sb] ? 1 : 0 as BOOL bytes, sa, sb ∈ {0, 1}, with Java's float comparisons (every
     * comparison with NaN is false except NE, which is true), as the reference's double comparisons of the same values.
     */
    static void compareRow(
            BinaryOp op,
            MemorySegment a,
            long ao,
            int sa,
            MemorySegment b,
            long bo,
            int sb,
            MemorySegment dst,
            long dO,
            int n) {
        VectorOperators.Comparison cmp = switch (op) {
            case EQ -> VectorOperators.EQ;
            case NE -> VectorOperators.NE;
            case LT -> VectorOperators.LT;
            case LE -> VectorOperators.LE;
            case GT -> VectorOperators.GT;
            case GE -> VectorOperators.GE;
            default -> throw new IllegalArgumentException("compareRow: " + op + " is not a comparison");
        };
        int i = 0;
        if (B != null) {
            ByteVector zero = ByteVector.zero(B), one = ByteVector.broadcast(B, (byte) 1);
            for (int bound = maskBound(n); i < bound; i += F.length()) {
                VectorMask<Float> m =
                        FloatKernels.operand(a, ao, sa, i, n).compare(cmp, FloatKernels.operand(b, bo, sb, i, n));
                zero.blend(one, m.cast(B)).intoMemorySegment(dst, dO + i, NO);
            }
        }
        for (; i < n; i++) {
            float x = a.getAtIndex(F32, ao + (long) i * sa), y = b.getAtIndex(F32, bo + (long) i * sb);
            boolean t = switch (op) {
                case EQ -> x == y;
                case NE -> x != y;
                case LT -> x < y;
                case LE -> x <= y;
                case GT -> x > y;
                default -> x >= y;
            };
            dst.set(ValueLayout.JAVA_BYTE, dO + i, (byte) (t ? 1 : 0));
        }
    }

    /**
     * dst[i] = c[i·sc] ≠ 0 ? a[i·sa] : b[i·sb] for 4-byte elements (F32 or I32) moved as bits, with BOOL bytes
     * {@code c} (any non-zero byte is true, as in the reference); sc, sa, sb ∈ {0, 1}. A broadcast condition copies
     * one operand's row. No vector local is ever null: C2 (JDK 25) can reach a Halt node when a broadcast is hoisted
     * into a nullable local.
     */
    static void whereRow(
            MemorySegment c,
            long co,
            int sc,
            MemorySegment a,
            long ao,
            int sa,
            MemorySegment b,
            long bo,
            int sb,
            MemorySegment dst,
            long dO,
            int n) {
        if (sc == 0) {
            boolean take = c.get(ValueLayout.JAVA_BYTE, co) != 0;
            copyRow(take ? a : b, take ? ao : bo, take ? sa : sb, dst, dO, n);
            return;
        }
        int i = 0;
        if (B != null) i = whereVectors(c, co, a, ao, sa, b, bo, sb, dst, dO, maskBound(n));
        for (; i < n; i++) {
            boolean take = c.get(ValueLayout.JAVA_BYTE, co + i) != 0;
            dst.setAtIndex(
                    I32, dO + i, take ? a.getAtIndex(I32, ao + (long) i * sa) : b.getAtIndex(I32, bo + (long) i * sb));
        }
    }

    /**
     * The vector part of {@link #whereRow} up to {@code bound}; returns {@code bound}. One loop per stride combination
     * of the two operands, each without a branch in its body: a stride tested inside the loop lets C2 hoist it as a
     * profiled loop predicate, which traps and recompiles over and over once other callers change the profile.
     */
    private static int whereVectors(
            MemorySegment c,
            long co,
            MemorySegment a,
            long ao,
            int sa,
            MemorySegment b,
            long bo,
            int sb,
            MemorySegment dst,
            long dO,
            int bound) {
        int step = F.length();
        if (sa == 0 && sb == 0) {
            IntVector av = IntVector.broadcast(I, a.getAtIndex(I32, ao)),
                    bv = IntVector.broadcast(I, b.getAtIndex(I32, bo));
            for (int i = 0; i < bound; i += step)
                bv.blend(av, taken(c, co + i)).intoMemorySegment(dst, (dO + i) * 4, NO);
        } else if (sa == 0) {
            IntVector av = IntVector.broadcast(I, a.getAtIndex(I32, ao));
            for (int i = 0; i < bound; i += step)
                IntVector.fromMemorySegment(I, b, (bo + i) * 4, NO)
                        .blend(av, taken(c, co + i))
                        .intoMemorySegment(dst, (dO + i) * 4, NO);
        } else if (sb == 0) {
            IntVector bv = IntVector.broadcast(I, b.getAtIndex(I32, bo));
            for (int i = 0; i < bound; i += step)
                bv.blend(IntVector.fromMemorySegment(I, a, (ao + i) * 4, NO), taken(c, co + i))
                        .intoMemorySegment(dst, (dO + i) * 4, NO);
        } else {
            for (int i = 0; i < bound; i += step)
                IntVector.fromMemorySegment(I, b, (bo + i) * 4, NO)
                        .blend(IntVector.fromMemorySegment(I, a, (ao + i) * 4, NO), taken(c, co + i))
                        .intoMemorySegment(dst, (dO + i) * 4, NO);
        }
        return bound;
    }

    /** The lanes of a BOOL row (bytes from {@code at}) that are non-zero, as an int mask. */
    private static VectorMask<Integer> taken(MemorySegment c, long at) {
        return ByteVector.fromMemorySegment(B, c, at, NO)
                .compare(VectorOperators.NE, (byte) 0)
                .cast(I);
    }

    /** dst[0 .. n) = src row of 4-byte elements (stride 1) or its first element repeated (stride 0). */
    private static void copyRow(MemorySegment src, long so, int stride, MemorySegment dst, long dO, int n) {
        if (stride == 1) {
            MemorySegment.copy(src, so * 4, dst, dO * 4, (long) n * 4);
        } else {
            dst.setAtIndex(I32, dO, src.getAtIndex(I32, so));
            repeat(dst, dO * 4, 4, (long) n * 4);
        }
    }

    // ------------------------------------------------------------------------------------------------ reductions

    /**
     * The index of the largest (or smallest) of n ≥ 1 floats from {@code o}, by the reference's rule: the first NaN
     * if there is one, else the first element equal to the extreme. Two passes: the extreme (NaN-aware), then the
     * first lane that matches it.
     */
    static int argExtremeRow(MemorySegment s, long o, int n, boolean max) {
        float e = FloatKernels.extremeRow(s, o, n, max);
        boolean nan = Float.isNaN(e);
        FloatVector ev = FloatVector.broadcast(F, e);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector v = FloatVector.fromMemorySegment(F, s, (o + i) * 4, NO);
            VectorMask<Float> m = nan ? v.test(VectorOperators.IS_NAN) : v.compare(VectorOperators.EQ, ev);
            if (m.anyTrue()) return i + m.firstTrue();
        }
        for (; i < n; i++) {
            float v = s.getAtIndex(F32, o + i);
            if (nan ? Float.isNaN(v) : v == e) return i;
        }
        throw new IllegalStateException("argExtremeRow: no element matches the extreme " + e + " of " + n);
    }

    /**
     * Σ of n floats from {@code o}, accumulated in double (each float widened exactly): within (n−1)·2⁻⁵³·Σ|x| of the
     * exact sum, like the reference's double loop, which only adds in another order. Rows combined into one output
     * therefore agree with the reference to a float ulp instead of drifting with the float rounding of each row.
     */
    static double sumRow(MemorySegment s, long o, int n) {
        DoubleVector acc0 = DoubleVector.zero(D), acc1 = DoubleVector.zero(D);
        int step = D.length(), i = 0;
        for (; i + 2 * step <= n; i += 2 * step) {
            acc0 = acc0.add(widen(s, o + i));
            acc1 = acc1.add(widen(s, o + i + step));
        }
        double r = LaneSum.sum(acc0.add(acc1));
        for (; i < n; i++) r += s.getAtIndex(F32, o + i);
        return r;
    }

    private static DoubleVector widen(MemorySegment s, long elem) {
        return (DoubleVector)
                FloatVector.fromMemorySegment(FD, s, elem * 4, NO).convertShape(VectorOperators.F2D, D, 0);
    }

    // ------------------------------------------------------------------------------------------------ gather, scatter

    private static long index(MemorySegment idx, boolean i64, long at) {
        return i64 ? idx.getAtIndex(I64, at) : idx.getAtIndex(I32, at);
    }

    private static IndexOutOfBoundsException outOfBounds(String op, long v, long bound) {
        return new IndexOutOfBoundsException(op + ": index " + v + " is out of bounds for dimension of size " + bound);
    }

    /**
     * Index value {@code at} checked against {@code bound}, throwing the reference's exception (the same op name,
     * value and size) when it is out of range.
     */
    static long checkedIndex(MemorySegment idx, boolean i64, long at, long bound, String op) {
        long v = index(idx, i64, at);
        if (v < 0 || v >= bound) throw outOfBounds(op, v, bound);
        return v;
    }

    /**
     * One gather row of n elements of {@code width} bytes (4 or 8): dst[j·ds] = src[idx[j·is]·ss], each index checked
     * against {@code bound} in order, as the reference does.
     */
    static void gatherRow(
            int width,
            MemorySegment src,
            long so,
            long ss,
            long bound,
            MemorySegment idx,
            boolean i64,
            long io,
            long is,
            MemorySegment dst,
            long dO,
            long ds,
            long n) {
        if (width == 4) {
            for (long j = 0; j < n; j++) {
                long v = checkedIndex(idx, i64, io + j * is, bound, "gather");
                dst.setAtIndex(I32, dO + j * ds, src.getAtIndex(I32, so + v * ss));
            }
        } else {
            for (long j = 0; j < n; j++) {
                long v = checkedIndex(idx, i64, io + j * is, bound, "gather");
                dst.setAtIndex(I64, dO + j * ds, src.getAtIndex(I64, so + v * ss));
            }
        }
    }

    /**
     * One F32 scatter-add row of n elements: dst[idx[j·is]·ds] += src[j·ss] in order of j, each index checked when it
     * is reached (so an exception leaves the earlier additions done, as in the reference). A float add equals the
     * reference's double add rounded to float: double has more than 2·24 + 2 bits, so the double rounding is innocuous.
     */
    static void scatterAddRow(
            MemorySegment dst,
            long dO,
            long ds,
            long bound,
            MemorySegment idx,
            boolean i64,
            long io,
            long is,
            MemorySegment src,
            long so,
            long ss,
            long n) {
        for (long j = 0; j < n; j++) {
            long at = dO + checkedIndex(idx, i64, io + j * is, bound, "scatterAdd") * ds;
            dst.setAtIndex(F32, at, dst.getAtIndex(F32, at) + src.getAtIndex(F32, so + j * ss));
        }
    }
}
