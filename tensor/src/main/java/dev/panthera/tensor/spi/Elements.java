package dev.panthera.tensor.spi;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.FloatConversions;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Scalar element access to CPU storage by element index, in any dtype. Slow and simple: the reference backend's
 * vocabulary, and a convenience for tests. Integer ↔ float conversions are Java casts.
 */
public final class Elements {
    private Elements() {}

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    /** Element {@code i} of a segment holding {@code t} values, as a double. */
    public static double get(MemorySegment s, DType t, long i) {
        return switch (t) {
            case F32 -> s.getAtIndex(F32, i);
            case F64 -> s.getAtIndex(F64, i);
            case F16 -> FloatConversions.f16ToFloat(s.getAtIndex(I16, i));
            case BF16 -> FloatConversions.bf16ToFloat(s.getAtIndex(I16, i));
            case I8 -> s.get(ValueLayout.JAVA_BYTE, i);
            case U8 -> s.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
            case I32 -> s.getAtIndex(I32, i);
            case I64 -> s.getAtIndex(I64, i);
        };
    }

    /** Stores {@code v} converted to {@code t} (round to nearest even for floats, Java casts for integers). */
    public static void set(MemorySegment s, DType t, long i, double v) {
        switch (t) {
            case F32 -> s.setAtIndex(F32, i, (float) v);
            case F64 -> s.setAtIndex(F64, i, v);
            case F16 -> s.setAtIndex(I16, i, FloatConversions.floatToF16((float) v));
            case BF16 -> s.setAtIndex(I16, i, FloatConversions.floatToBf16((float) v));
            case I8, U8 ->
                s.set(ValueLayout.JAVA_BYTE, i, (byte) (int) v); // Java's double → byte cast; U8 keeps the low 8 bits
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
            case I32 -> s.setAtIndex(I32, i, (int) v);
            case I64 -> s.setAtIndex(I64, i, (long) v);
        }
    }

    /** Element {@code i} of an integer or BOOL segment as a long (exact for I64). */
    public static long getLong(MemorySegment s, DType t, long i) {
        return switch (t) {
            case I64 -> s.getAtIndex(I64, i);
            case I32 -> s.getAtIndex(I32, i);
            case I8 -> s.get(ValueLayout.JAVA_BYTE, i);
            case U8 -> s.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
            case F32, F64, F16, BF16 -> (long) get(s, t, i);
        };
    }

    /**
     * Stores an integer value exactly where the dtype can hold it: wrapping casts for narrower integer types, Java's
     * {@code (float)}/{@code (double)} casts for F32/F64, and F16/BF16 from that F32 value.
     */
    public static void setLong(MemorySegment s, DType t, long i, long v) {
        switch (t) {
            case I64 -> s.setAtIndex(I64, i, v);
            case I32 -> s.setAtIndex(I32, i, (int) v);
            case I8, U8 -> s.set(ValueLayout.JAVA_BYTE, i, (byte) v);
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
            // Java's long → float/double casts round once; going through double first would round twice
            case F32 -> s.setAtIndex(F32, i, (float) v);
            case F64 -> s.setAtIndex(F64, i, (double) v);
            case F16 -> s.setAtIndex(I16, i, FloatConversions.floatToF16((float) v));
            case BF16 -> s.setAtIndex(I16, i, FloatConversions.floatToBf16((float) v));
        }
    }
}
