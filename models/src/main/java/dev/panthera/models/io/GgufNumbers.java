package dev.panthera.models.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.AbstractList;
import java.util.Objects;
import java.util.RandomAccess;

/**
 * The elements of a GGUF array of a fixed-size numeric type as they lie in the file: its little-endian bytes copied
 * in one piece when the header is read, each element boxed only when {@link #get} asks for it. A vocabulary's scores
 * and token types are tens of thousands of values; parsed one boxed value at a time they took tens of milliseconds of
 * a cold model load. Immutable, as {@link GgufValue.Array#values()} promises.
 */
final class GgufNumbers extends AbstractList<GgufValue> implements RandomAccess {
    private final int type;
    private final int size;
    private final int count;
    private final MemorySegment bytes;

    private GgufNumbers(int type, int size, int count, byte[] bytes) {
        this.type = type;
        this.size = size;
        this.count = count;
        this.bytes = MemorySegment.ofArray(bytes);
    }

    /**
     * Whether arrays of GGUF type {@code type} are read this way: the fixed-size types whose every bit pattern is a
     * value (BOOL is not: its bytes are checked one by one).
     */
    static boolean holds(int type) {
        return switch (type) {
            case GgufValue.UINT8,
                    GgufValue.INT8,
                    GgufValue.UINT16,
                    GgufValue.INT16,
                    GgufValue.UINT32,
                    GgufValue.INT32,
                    GgufValue.FLOAT32,
                    GgufValue.UINT64,
                    GgufValue.INT64,
                    GgufValue.FLOAT64 -> true;
            default -> false;
        };
    }

    /**
     * Reads {@code n} elements of {@code type} ({@link #holds}), {@code size} bytes each, from the cursor; {@code n}
     * was checked by {@link Cursor#count} against the bytes left and by the metadata budget.
     */
    static GgufNumbers read(Cursor c, int type, int size, long n, String field) throws ModelFormatException {
        return new GgufNumbers(type, size, Math.toIntExact(n), c.bytes(Math.multiplyExact(n, size), field));
    }

    /** Element type of this array. */
    int type() {
        return type;
    }

    @Override
    public int size() {
        return count;
    }

    @Override
    public GgufValue get(int i) {
        long at = (long) Objects.checkIndex(i, count) * size;
        return switch (type) {
            case GgufValue.UINT8 -> new GgufValue.U8(bytes.get(ValueLayout.JAVA_BYTE, at) & 0xFF);
            case GgufValue.INT8 -> new GgufValue.I8(bytes.get(ValueLayout.JAVA_BYTE, at));
            case GgufValue.UINT16 -> new GgufValue.U16(bytes.get(Cursor.I16, at) & 0xFFFF);
            case GgufValue.INT16 -> new GgufValue.I16(bytes.get(Cursor.I16, at));
            case GgufValue.UINT32 -> new GgufValue.U32(bytes.get(Cursor.I32, at) & 0xFFFFFFFFL);
            case GgufValue.INT32 -> new GgufValue.I32(bytes.get(Cursor.I32, at));
            case GgufValue.FLOAT32 -> new GgufValue.F32(bytes.get(Cursor.F32, at));
            case GgufValue.UINT64 -> new GgufValue.U64(bytes.get(Cursor.I64, at));
            case GgufValue.INT64 -> new GgufValue.I64(bytes.get(Cursor.I64, at));
            case GgufValue.FLOAT64 -> new GgufValue.F64(bytes.get(Cursor.F64, at));
            default -> throw new AssertionError(type);
        };
    }

    /** A FLOAT32 array's values. */
    float[] floats() {
        return bytes.toArray(Cursor.F32);
    }

    /** An INT32 array's values. */
    int[] ints() {
        return bytes.toArray(Cursor.I32);
    }
}
