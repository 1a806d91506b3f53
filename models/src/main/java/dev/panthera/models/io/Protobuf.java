package dev.panthera.models.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A reader of the protobuf wire format over a byte range of a segment: tags, varints, fixed32/64 and
 * length-delimited fields. Every length is checked against the range's end, so a nested message can never read
 * past its parent. Groups (wire types 3 and 4) are rejected.
 */
final class Protobuf {
    static final int VARINT = 0, I64 = 1, LEN = 2, I32 = 5;

    final MemorySegment seg;
    final String what;
    long pos;
    long end;
    int field;
    int wire;

    Protobuf(MemorySegment seg, long start, long end, String what) {
        this.seg = seg;
        this.pos = start;
        this.end = end;
        this.what = what;
    }

    /** Points this reader at {@code [start, end)} of the same segment, for reading many small messages. */
    Protobuf reset(long start, long end) {
        this.pos = start;
        this.end = end;
        return this;
    }

    ModelFormatException error(String field, String detail) {
        return new ModelFormatException("onnx", what + "." + field, detail);
    }

    /** Advances to the next field; false at the end of the range. */
    boolean next() throws ModelFormatException {
        if (pos >= end) return false;
        long tag = varint("tag");
        field = (int) (tag >>> 3);
        wire = (int) (tag & 7);
        if (tag >>> 3 > 0x1FFFFFFF || field == 0) throw error("tag", "field number " + (tag >>> 3) + " is invalid");
        if (wire != VARINT && wire != I64 && wire != LEN && wire != I32)
            throw error("tag", "field " + field + " has unsupported wire type " + wire);
        return true;
    }

    long varint(String name) throws ModelFormatException {
        long v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= end) throw error(name, "varint runs past the end of the message");
            int b = seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF;
            v |= (long) (b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
        throw error(name, "varint longer than 10 bytes");
    }

    /** The length of the current LEN field, checked against the message end; {@link #pos} is left at its start. */
    long length(String name) throws ModelFormatException {
        if (wire != LEN) throw error(name, "expected a length-delimited field, wire type " + wire);
        long n = varint(name + " length");
        if (n < 0 || n > end - pos)
            throw error(name, "length " + Long.toUnsignedString(n) + " exceeds the " + (end - pos) + " bytes left");
        return n;
    }

    String string(String name) throws ModelFormatException {
        long n = length(name);
        if (n > 1 << 20) throw error(name, "string of " + n + " bytes is too long");
        byte[] b = seg.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
        pos += n;
        return Cursor.decodeUtf8("onnx", what + "." + name, b);
    }

    /** Skips the current field's value. */
    void skip() throws ModelFormatException {
        switch (wire) {
            case VARINT -> varint("field " + field);
            case I64 -> fixed(8);
            case I32 -> fixed(4);
            default -> {
                long n = length(
                        "field " + field); // read the length before adding: pos += length() would lose the varint
                pos += n;
            }
        }
    }

    void fixed(int n) throws ModelFormatException {
        if (end - pos < n) throw error("field " + field, "fixed" + 8 * n + " runs past the end");
        pos += n;
    }

    /** Number of varints in {@code [from, to)}, each decoded and checked (at most 10 bytes, none cut off at {@code to}). */
    long countVarints(long from, long to, String name) throws ModelFormatException {
        Protobuf q = new Protobuf(seg, from, to, what);
        long n = 0;
        while (q.pos < to) {
            q.varint(name);
            n++;
        }
        return n;
    }
}
