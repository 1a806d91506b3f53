package dev.panthera.simd;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.FloatConversions;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.Shape;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Moving one row of a float tensor (F32, BF16 or F16, any stride) into and out of a dense F32 scratch row, so the F32
 * row kernels serve every float dtype and layout. Widening is exact; narrowing rounds to nearest even exactly as the
 * reference backend stores a float value ({@link FloatConversions}), so an F32 row result that equals the
 * reference's float result stores the same bits.
 */
final class FloatRows {
    private FloatRows() {}

    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort SH = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** The float dtypes whose arithmetic this backend does in F32 (F64 is left to the double-precision reference). */
    static boolean computedInF32(DType t) {
        return t == DType.F32 || t == DType.BF16 || t == DType.F16;
    }

    /** True when every dtype is one of {@link #computedInF32}. */
    static boolean computedInF32(DType... ts) {
        for (DType t : ts) if (!computedInF32(t)) return false;
        return true;
    }

    /** The layout as rank ≥ 1: a scalar becomes one row of one element. */
    static Layout atLeast1(Layout l) {
        return l.rank() > 0 ? l : new Layout(Shape.of(1), new long[] {1}, l.offset());
    }

    /** Row starts: the layout without its last dimension (rank ≥ 1). */
    static Layout rows(Layout l) {
        return l.leading(l.rank() - 1);
    }

    static long lastStride(Layout l) {
        return l.rank() == 0 ? 1 : l.stride(l.rank() - 1);
    }

    static int rowLength(Layout l) {
        return l.rank() == 0 ? 1 : Math.toIntExact(l.shape().dim(l.rank() - 1));
    }

    /** scratch[so .. so + n) = the n elements of a {@code t} row from element {@code off}, {@code stride} apart. */
    static void widen(MemorySegment s, DType t, long off, long stride, int n, MemorySegment scratch, long so) {
        if (n == 0) return; // an empty row may start past the end of an empty storage
        if (stride == 1) {
            switch (t) {
                case F32 -> MemorySegment.copy(s, off * 4, scratch, so * 4, n * 4L);
                case BF16 -> Conversions.bf16ToF32(s, off, scratch, so, n);
                case F16 -> Conversions.f16ToF32(s, off, scratch, so, n);
                default -> throw unsupported("widen", t);
            }
            return;
        }
        for (int i = 0; i < n; i++) scratch.setAtIndex(FL, so + i, get(s, t, off + i * stride));
    }

    /** The n elements of scratch from {@code so}, rounded to {@code t}, into a row from {@code off}, stride apart. */
    static void narrow(MemorySegment scratch, long so, int n, MemorySegment d, DType t, long off, long stride) {
        if (n == 0) return;
        if (stride == 1) {
            switch (t) {
                case F32 -> MemorySegment.copy(scratch, so * 4, d, off * 4, n * 4L);
                case BF16 -> Conversions.f32ToBf16(scratch, so, d, off, n);
                case F16 -> Conversions.f32ToF16(scratch, so, d, off, n);
                default -> throw unsupported("narrow", t);
            }
            return;
        }
        for (int i = 0; i < n; i++) set(d, t, off + i * stride, scratch.getAtIndex(FL, so + i));
    }

    /** One element as a float (exact). */
    static float get(MemorySegment s, DType t, long i) {
        return switch (t) {
            case F32 -> s.getAtIndex(FL, i);
            case BF16 -> FloatConversions.bf16ToFloat(s.getAtIndex(SH, i));
            case F16 -> FloatConversions.f16ToFloat(s.getAtIndex(SH, i));
            default -> throw unsupported("get", t);
        };
    }

    /** One float stored as {@code t}, rounded to nearest even. */
    static void set(MemorySegment s, DType t, long i, float v) {
        switch (t) {
            case F32 -> s.setAtIndex(FL, i, v);
            case BF16 -> s.setAtIndex(SH, i, FloatConversions.floatToBf16(v));
            case F16 -> s.setAtIndex(SH, i, FloatConversions.floatToF16(v));
            default -> throw unsupported("set", t);
        }
    }

    private static IllegalArgumentException unsupported(String what, DType t) {
        return new IllegalArgumentException("simd float rows: " + what + " of " + t + " (F32, BF16 or F16 expected)");
    }
}
