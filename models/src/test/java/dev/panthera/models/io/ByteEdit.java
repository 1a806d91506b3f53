package dev.panthera.models.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;

/**
 * One edit of a binary file, drawn by jqwik: a bit flip, a byte or a 4- or 8-byte little-endian length/offset/count
 * field overwritten with a boundary value or moved by a small delta, a truncation, a deleted run or an inserted run of
 * bytes. Positions are drawn in [0, {@link #POSITIONS}) and taken modulo the length of the file the edit meets, so any
 * drawn edit applies to any file (the file's length changes as earlier edits apply). A failing list of edits shrinks
 * toward fewer edits, positions toward the file's start, values toward the first boundary value (0) and deltas toward
 * 0.
 */
public sealed interface ByteEdit {
    /** The edited copy of {@code b} (never {@code b} itself when it changes); {@code b} is not empty. */
    byte[] apply(byte[] b);

    /** Drawn positions: uniform in [0, 2^16), beyond every seed file's length, so the modulo is near uniform. */
    int POSITIONS = 1 << 16;

    /** Byte and field values a hostile file tries: the small counts, the type widths' limits, negative numbers. */
    long[] BOUNDARY = {
        0,
        1,
        2,
        3,
        4,
        7,
        8,
        31,
        32,
        63,
        64,
        127,
        128,
        255,
        256,
        0x7FFF,
        0xFFFF,
        0x7FFFFFFFL,
        0xFFFFFFFFL,
        0x80000000L,
        1L << 32,
        1L << 40,
        Long.MAX_VALUE,
        Long.MIN_VALUE,
        -1,
        -2,
        -8
    };

    /** Bit {@code bit} of the byte at {@code at} flipped. */
    record Flip(int at, int bit) implements ByteEdit {
        public byte[] apply(byte[] b) {
            byte[] c = b.clone();
            c[at % c.length] ^= (byte) (1 << bit);
            return c;
        }
    }

    /** The byte at {@code at} set to the low byte of {@code value}. */
    record SetByte(int at, long value) implements ByteEdit {
        public byte[] apply(byte[] b) {
            byte[] c = b.clone();
            c[at % c.length] = (byte) value;
            return c;
        }
    }

    /**
     * The {@code width}-byte little-endian field at {@code at} (rounded down to a multiple of the width when {@code
     * aligned}) set to {@code value} ({@code add} false) or moved by {@code value} ({@code add} true); files shorter
     * than the width are left as they are.
     */
    record Field(int width, int at, boolean aligned, boolean add, long value) implements ByteEdit {
        public byte[] apply(byte[] b) {
            if (b.length < width) return b;
            byte[] c = b.clone();
            int i = at % (c.length - width + 1);
            if (aligned) i -= i % width;
            ByteBuffer bb = ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN);
            long cur = width == 4 ? bb.getInt(i) : bb.getLong(i);
            long v = add ? cur + value : value;
            if (width == 4) bb.putInt(i, (int) v);
            else bb.putLong(i, v);
            return c;
        }
    }

    /** The first {@code at} (modulo the length) bytes kept. */
    record Truncate(int at) implements ByteEdit {
        public byte[] apply(byte[] b) {
            return Arrays.copyOf(b, at % b.length);
        }
    }

    /** {@code n} bytes (fewer at the end of the file) deleted from {@code at}. */
    record Delete(int at, int n) implements ByteEdit {
        public byte[] apply(byte[] b) {
            int i = at % b.length, k = Math.min(b.length - i, n);
            byte[] c = new byte[b.length - k];
            System.arraycopy(b, 0, c, 0, i);
            System.arraycopy(b, i + k, c, i, b.length - i - k);
            return c;
        }
    }

    /** {@code bytes} inserted before position {@code at} modulo (length + 1). */
    record Insert(int at, List<Byte> bytes) implements ByteEdit {
        public byte[] apply(byte[] b) {
            int i = at % (b.length + 1), n = bytes.size();
            byte[] c = new byte[b.length + n];
            System.arraycopy(b, 0, c, 0, i);
            for (int k = 0; k < n; k++) c[i + k] = bytes.get(k);
            System.arraycopy(b, i, c, i + n, b.length - i);
            return c;
        }
    }

    /** {@code edits} applied in order to a copy of {@code file}; edits meeting an empty file are skipped. */
    static byte[] apply(byte[] file, List<ByteEdit> edits) {
        byte[] b = file;
        for (ByteEdit e : edits) if (b.length > 0) b = e.apply(b);
        return b;
    }

    /** One to four edits, each kind equally likely except the field writes (two kinds: set and add). */
    static Arbitrary<List<ByteEdit>> edits() {
        return edit().list().ofMinSize(1).ofMaxSize(4);
    }

    /** One edit. */
    static Arbitrary<ByteEdit> edit() {
        Arbitrary<Integer> at =
                Arbitraries.integers().between(0, POSITIONS - 1).withDistribution(RandomDistribution.uniform());
        Arbitrary<Long> boundary =
                Arbitraries.of(Arrays.stream(BOUNDARY).boxed().toList());
        Arbitrary<Integer> width = Arbitraries.of(4, 8);
        Arbitrary<ByteEdit> flip =
                Combinators.combine(at, Arbitraries.integers().between(0, 7)).as(Flip::new);
        Arbitrary<ByteEdit> set = Combinators.combine(at, boundary).as(SetByte::new);
        Arbitrary<ByteEdit> setField = Combinators.combine(width, at, Arbitraries.of(false, true), boundary)
                .as((w, i, al, v) -> new Field(w, i, al, false, v));
        Arbitrary<ByteEdit> addField = Combinators.combine(
                        width,
                        at,
                        Arbitraries.of(false, true),
                        Arbitraries.longs().between(-32, 32))
                .as((w, i, al, d) -> new Field(w, i, al, true, d));
        Arbitrary<ByteEdit> truncate = at.map(Truncate::new);
        Arbitrary<ByteEdit> delete =
                Combinators.combine(at, Arbitraries.integers().between(1, 8)).as(Delete::new);
        Arbitrary<ByteEdit> insert = Combinators.combine(
                        at, Arbitraries.bytes().list().ofMinSize(1).ofMaxSize(8))
                .as(Insert::new);
        return Arbitraries.frequencyOf(
                Tuple.of(1, flip),
                Tuple.of(1, set),
                Tuple.of(1, setField),
                Tuple.of(1, addField),
                Tuple.of(1, truncate),
                Tuple.of(1, delete),
                Tuple.of(1, insert));
    }
}
