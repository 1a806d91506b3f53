package dev.panthera.models.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A little-endian reader over a segment that checks every read against the bytes left and reports a short or bad
 * field as a {@link ModelFormatException} naming it. Never reads outside the segment.
 */
final class Cursor {
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final String format;
    final MemorySegment seg;
    long pos;

    Cursor(String format, MemorySegment seg, long pos) {
        this.format = format;
        this.seg = seg;
        this.pos = pos;
    }

    long remaining() {
        return seg.byteSize() - pos;
    }

    ModelFormatException error(String field, String detail) {
        return new ModelFormatException(format, field, detail);
    }

    void need(long n, String field) throws ModelFormatException {
        if (n < 0 || n > remaining()) {
            throw error(
                    field,
                    "needs " + (n < 0 ? Long.toUnsignedString(n) : n) + " bytes at offset " + pos + " but only "
                            + remaining() + " remain (file truncated or length field wrong)");
        }
    }

    int u8(String field) throws ModelFormatException {
        need(1, field);
        return seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF;
    }

    short i16(String field) throws ModelFormatException {
        need(2, field);
        short v = seg.get(I16, pos);
        pos += 2;
        return v;
    }

    int i32(String field) throws ModelFormatException {
        need(4, field);
        int v = seg.get(I32, pos);
        pos += 4;
        return v;
    }

    long i64(String field) throws ModelFormatException {
        need(8, field);
        long v = seg.get(I64, pos);
        pos += 8;
        return v;
    }

    float f32(String field) throws ModelFormatException {
        need(4, field);
        float v = seg.get(F32, pos);
        pos += 4;
        return v;
    }

    double f64(String field) throws ModelFormatException {
        need(8, field);
        double v = seg.get(F64, pos);
        pos += 8;
        return v;
    }

    /** A non-negative u64 count or size that must fit in the bytes left when each item takes {@code minItemBytes}. */
    long count(String field, long minItemBytes) throws ModelFormatException {
        long n = i64(field);
        if (n < 0 || (minItemBytes > 0 && n > remaining() / minItemBytes)) {
            throw error(
                    field, "count " + Long.toUnsignedString(n) + " cannot fit in the " + remaining() + " bytes left");
        }
        return n;
    }

    /** Moves past {@code n} bytes of {@code field}, which must all be there. */
    void skip(long n, String field) throws ModelFormatException {
        need(n, field);
        pos += n;
    }

    /**
     * Checks that a tensor of shape {@code dims} can be made: the product of its dimensions, zeros counted as one as
     * {@code Shape} and the strides count them, must fit in a long. A file with {@code [0, 2^62, 2^62]} holds no
     * elements, yet no tensor of that shape exists, so it is rejected when the file is opened.
     */
    static void checkShape(String format, String field, long[] dims) throws ModelFormatException {
        long n = 1;
        for (long d : dims) {
            if (d < 0) throw new ModelFormatException(format, field, "negative dimension in " + Arrays.toString(dims));
            long r = Math.multiplyHigh(n, Math.max(d, 1)) != 0 ? -1 : n * Math.max(d, 1);
            if (r < 0)
                throw new ModelFormatException(
                        format, field, Arrays.toString(dims) + " overflows 2^63 (counting zero dimensions as one)");
            n = r;
        }
    }

    /** {@code n} bytes as strict UTF-8 (malformed input is an error, not a replacement character). */
    String utf8(long n, String field) throws ModelFormatException {
        need(n, field);
        if (n > Integer.MAX_VALUE - 8) throw error(field, "string of " + n + " bytes is too long");
        return decodeUtf8(format, field, bytes(n, field));
    }

    /** The next {@code n} bytes of {@code field} copied into an array (at most {@code Integer.MAX_VALUE - 8}). */
    byte[] bytes(long n, String field) throws ModelFormatException {
        need(n, field);
        if (n > Integer.MAX_VALUE - 8) throw error(field, n + " bytes is too long");
        byte[] b = new byte[(int) n];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, b.length);
        pos += n;
        return b;
    }

    static String decodeUtf8(String format, String field, byte[] b) throws ModelFormatException {
        // The lenient decode replaces every malformed sequence with U+FFFD, so a result without one is the strict
        // decode's; only strings holding U+FFFD (malformed, or that character itself) take the strict decoder.
        String fast = new String(b, StandardCharsets.UTF_8);
        if (fast.indexOf('\uFFFD') < 0) return fast;
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(format, field, "invalid UTF-8", e);
        }
    }
}
