package dev.panthera.quant;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.simd.HeapBudget;
import dev.panthera.simd.Sgemm;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.WeakReference;
import java.util.List;

/**
 * A Q4_0, Q8_0, Q4_K, Q5_K or Q6_K weight with its rows regrouped sixteen at a time so that a vector lane holds one
 * output row: for each group of {@value #ROWS} rows and each block column b, the sixteen rows' block b is stored field
 * by field, the rows side by side. A decode then loads one byte of each of sixteen rows with one load, widens it to
 * sixteen float lanes and multiplies it by one broadcast activation, where the row-major layout needs a lane sum per
 * row and a scale conversion per block. llama.cpp regroups these types for the same reason (its "repack" buffers).
 *
 * <p>The group-block of a type whose GGML block has {@code F} half-precision header fields and then {@code S} bytes is:
 * field f of the sixteen rows (16 halves, 32 bytes) for each f, then byte i of the sixteen rows (16 bytes) for each i —
 * sixteen times the block's size, the same bytes in another order. Q4_K's header is stored decoded: d and dmin as
 * sixteen floats each (in native byte order, as the kernels reinterpret them; converted exactly from the halves), then
 * its eight 6-bit scales and eight 6-bit mins as one byte each (16 byte slabs instead of the 12 packed ones), 5.6% more
 * bytes in all: its kernel then has no half conversions, which kept the decode's compilation under C2's inlining node
 * limit (past it, the byte widening was left out of line and the decode ran ten times slower). The quant bytes of
 * Q4_K and Q5_K go in pairs: bytes i and i + 1 (i even) of the sixteen rows as 32 bytes, row r's two at 2r and 2r + 1
 * (the byte transposition in units of two bytes, {@link #pairByte}), so that one 32-byte load widened to 32 shorts
 * holds two weights of each row side by side and its products with two activation values sit in one 32-bit lane per
 * row ({@link InterleavedKIntDot#q4KInt}). Q4_K keeps the two parts
 * apart: every group-block's header ({@value #K_HEADER} bytes) first, group by group, then every group-block's quant
 * slabs ({@value #K_QUANTS} bytes) in the same order. Streamed from memory with each header between its quant slabs,
 * the Q4_K decode ran at half the rate of the same kernel over cached bytes; the decodes of whole models ran faster
 * with the headers apart (BENCHMARKS.md, "Q4_K headers apart"). Q6_K is stored the same way, headers apart, and
 * unpacked: d as sixteen floats and the sixteen 8-bit sub-block scales as byte slabs ({@value #K6_HEADER} bytes), then
 * each weight's 6-bit value minus 32 as a signed byte ({@value #K6_QUANTS} bytes: 8 bits a weight where the block packs
 * 6.5, 31% more bytes), so its kernel widens one byte per weight as the Q8_0 one does instead of joining two bit
 * fields. Q5_K keeps Q4_K's header and stores each weight's 5-bit value minus 16 as a signed byte ({@value #K5_QUANTS}
 * bytes, 59% more bytes than the blocks), for the same reason. Q5_K and Q6_K are regrouped only where their 16-bit
 * kernels run ({@link QuantizedMatmul#groupedInt}). The bytes live on the Java heap, in one array with {@value #PAD}
 * bytes of padding so a vector load at the last slab stays inside it.
 *
 * <p>Only weights whose row count is a multiple of 16 and whose regrouped bytes fit one array are regrouped; the others
 * keep the row-major kernels.
 */
final class InterleavedWeight {
    /** Rows per group: one per float lane at 512 bits, two passes of eight at 256. */
    static final int ROWS = 16;

    /** Bytes after the last group, so a 16-byte load of a 4-lane kernel's last slab stays in the array. */
    static final int PAD = 64;

    final String name;
    final GgmlType type;
    final int out, in;
    /**
     * Bytes of a Q4_K group-block's header (d and dmin of sixteen rows as floats, their 8 scales and 8 mins as bytes)
     * and of its quant slabs.
     */
    static final int K_HEADER = 2 * 64 + 256, K_QUANTS = ROWS * 128;

    /**
     * Bytes of a Q6_K group-block's header (d of sixteen rows as floats, their 16 sub-block scales as bytes) and of its
     * quants (a signed byte per weight).
     */
    static final int K6_HEADER = 64 + 256, K6_QUANTS = ROWS * 256;

    /** Bytes of a Q5_K group-block's quants (a signed byte per weight); its header is Q4_K's ({@link #K_HEADER}). */
    static final int K5_QUANTS = ROWS * 256;

    /** The regrouped bytes: group g, block b's header at {@link #headerAt}, its quant slabs at {@link #quantsAt}. */
    final byte[] data;

    /**
     * The weight whose one-row product followed this one's on the same thread last time ({@link ReadAhead}): weakly,
     * so that a hint never keeps another model's weights alive.
     */
    WeakReference<InterleavedWeight> next;

    /** This weight, weakly: what {@link #next} and {@link ReadAhead}'s per-thread record of the last product hold. */
    final WeakReference<InterleavedWeight> self = new WeakReference<>(this);

    private InterleavedWeight(String name, GgmlType type, int out, int in, byte[] data) {
        this.name = name;
        this.type = type;
        this.out = out;
        this.in = in;
        this.data = data;
    }

    /**
     * Whether {@code w} can be regrouped: Q4_0, Q8_0 or Q4_K, or Q5_K and Q6_K where their 16-bit kernels run ({@link
     * QuantizedMatmul#groupedInt}; it has no float group kernel), rows a multiple of 16, and under 2 GiB regrouped.
     */
    static boolean supports(QuantizedWeight w) {
        return supports(w.type(), w.out(), w.in());
    }

    private static boolean supports(GgmlType t, long out, long in) {
        boolean grouped = t == GgmlType.Q4_0 || t == GgmlType.Q8_0 || t == GgmlType.Q4_K;
        boolean unpacked = t == GgmlType.Q5_K || t == GgmlType.Q6_K; // their 16-bit kernels only
        if (!grouped && !(unpacked && QuantizedMatmul.groupedInt(t, 1))) return false;
        if (out == 0 || out % ROWS != 0 || in == 0) return false;
        return bytes(t, out, in) <= Integer.MAX_VALUE - 16;
    }

    /** The regrouped copy's length in bytes, padding included, for a weight {@link #supports} covers. */
    private static long bytes(GgmlType t, long out, long in) {
        return out / ROWS * (in / t.blockSize()) * (long) groupBlockBytes(t) + PAD;
    }

    /** Bytes of one group-block of {@code t}: 16 of its blocks (Q4_K: header and quant slabs, 128 bytes more). */
    static int groupBlockBytes(GgmlType t) {
        return switch (t) {
            case Q4_0 -> ROWS * 18;
            case Q8_0 -> ROWS * 34;
            case Q4_K -> K_HEADER + K_QUANTS;
            case Q5_K -> K_HEADER + K5_QUANTS;
            case Q6_K -> K6_HEADER + K6_QUANTS;
            default -> throw new IllegalArgumentException("InterleavedWeight: no grouped layout for " + t);
        };
    }

    int blocksPerRow() {
        return in / type.blockSize();
    }

    int groupBlockBytes() {
        return groupBlockBytes(type);
    }

    /**
     * Bytes of one row group: every block column of its sixteen rows (contiguous for Q4_0 and Q8_0; Q4_K's and Q6_K's
     * lie in its header and quant regions, see {@link #headerAt} and {@link #quantsAt}).
     */
    int groupBytes() {
        return blocksPerRow() * groupBlockBytes();
    }

    /** Where group g's block column b starts: its scale fields (Q4_0, Q8_0: followed by its quant slabs). */
    int headerAt(int g, int b) {
        return headerAt(type, blocksPerRow(), g, b);
    }

    /** Where group g's block column b's quant slabs start. */
    int quantsAt(int g, int b) {
        return quantsAt(type, out / ROWS, blocksPerRow(), g, b);
    }

    private static int headerAt(GgmlType t, int nb, int g, int b) {
        return (g * nb + b) * headerBytes(t);
    }

    private static int quantsAt(GgmlType t, int groups, int nb, int g, int b) {
        return switch (t) {
            case Q4_K -> groups * nb * K_HEADER + (g * nb + b) * K_QUANTS;
            case Q5_K -> groups * nb * K_HEADER + (g * nb + b) * K5_QUANTS;
            case Q6_K -> groups * nb * K6_HEADER + (g * nb + b) * K6_QUANTS;
            default -> headerAt(t, nb, g, b) + 32;
        };
    }

    /** The stride of group-block headers: the whole group-block where the quants follow their header. */
    private static int headerBytes(GgmlType t) {
        return switch (t) {
            case Q4_K, Q5_K -> K_HEADER;
            case Q6_K -> K6_HEADER;
            default -> groupBlockBytes(t);
        };
    }

    /**
     * {@code w}'s blocks regrouped, or null where {@link #supports} does not hold, where the copy would pass the
     * regrouping budget ({@link #BUDGET}), or where a block's scale (Q4_K, Q5_K: d or dmin; Q6_K: d) is infinite or
     * NaN: the group kernels convert finite halves only (Q4_K's group scales are kept finite the same way), and such a
     * weight keeps the row-major kernels, which carry the NaN or infinity into the product as ggml does.
     */
    static InterleavedWeight regroup(QuantizedWeight w) {
        return regroup(w.name(), List.of(w));
    }

    /**
     * {@link #regroup} of the weights' rows stacked, one after another (a layer's q, k and v, say; one type and one
     * input width, as {@link QuantizedLinear#stacked} checks), straight from their blocks.
     */
    static InterleavedWeight regroup(String name, List<QuantizedWeight> parts) {
        QuantizedWeight first = parts.getFirst();
        long out = 0;
        for (QuantizedWeight p : parts) out = Math.addExact(out, p.out());
        GgmlType t = first.type();
        long in = first.in(), rows = out;
        if (!supports(t, out, in)) return null;
        long bytes = bytes(t, out, in);
        boolean fits = BUDGET.reserve(
                bytes,
                (total, cap) -> "QuantizedLinear: regrouping " + name + " " + t + " [" + rows + ", " + in
                        + "] would hold " + total + " bytes of regrouped weights, past the budget of " + cap
                        + " (panthera.quant.regroupBudgetBytes, default half the heap); it and any later such weight"
                        + " keep the row-major kernels");
        if (!fits) return null;
        InterleavedWeight g = null;
        try {
            g = of(name, parts);
            for (int grp = 0; grp < g.out / ROWS; grp++) {
                for (int b = 0; b < g.blocksPerRow(); b++) {
                    if (!g.finiteScales(g.headerAt(grp, b))) {
                        g = null;
                        return null;
                    }
                }
            }
            BUDGET.releaseWhenCollected(g, bytes);
            return g;
        } finally {
            if (g == null) BUDGET.release(bytes);
        }
    }

    /** Whether the scales of the group-block whose header is at {@code at} are all finite. */
    private boolean finiteScales(int at) {
        if (type != GgmlType.Q4_K && type != GgmlType.Q5_K && type != GgmlType.Q6_K) {
            for (int i = 0; i < ROWS; i++) {
                if ((data[at + 2 * i + 1] & 0x7C) == 0x7C) return false; // exponent 31: infinity or NaN
            }
            return true;
        }
        for (int i = 0; i < (type == GgmlType.Q6_K ? 1 : 2) * ROWS; i++) {
            if (!Float.isFinite(Float.intBitsToFloat((int) LE32.get(data, at + 4 * i)))) return false;
        }
        return true;
    }

    private static final java.lang.invoke.VarHandle LE32 =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.nativeOrder());

    /**
     * The heap the regrouped copies may hold at once: {@code panthera.quant.regroupBudgetBytes}, default half the
     * maximum heap. A weight past it keeps the row-major kernels over its source blocks (slower decode, no copy), so
     * a model loads in a heap too small for a copy of its weights.
     */
    static final HeapBudget BUDGET = new HeapBudget("panthera.quant.regroupBudgetBytes", 2);

    /** {@code w}'s blocks regrouped; {@link #supports} must hold. */
    static InterleavedWeight of(QuantizedWeight w) {
        return of(w.name(), List.of(w));
    }

    /**
     * The parts' rows, stacked, regrouped; {@link #supports} must hold for the stack. Where every part's blocks can be
     * read from other threads the row groups are split over GEMM's threads.
     */
    private static InterleavedWeight of(String name, List<QuantizedWeight> parts) {
        QuantizedWeight first = parts.getFirst();
        GgmlType t = first.type();
        long rows = 0;
        boolean shared = true;
        for (QuantizedWeight p : parts) {
            rows += p.out();
            shared &= p.blocks().isAccessibleBy(PROBE);
        }
        if (!supports(t, rows, first.in()))
            throw new IllegalArgumentException("InterleavedWeight: " + name + " " + t + " [" + rows + ", "
                    + first.in() + "] cannot be regrouped (Q4_0, Q8_0 or Q4_K, or Q5_K and Q6_K where their"
                    + " 16-bit kernels run, with rows a multiple of " + ROWS + ")");
        int out = Math.toIntExact(rows), in = Math.toIntExact(first.in());
        byte[] data = new byte[(int) bytes(t, out, in)];
        QuantizedWeight[] ws = parts.toArray(QuantizedWeight[]::new);
        Sgemm.Range groups = (from, to) -> groups(ws, t, out, in, data, from, to);
        if (shared) Sgemm.parallelRanges(out / ROWS, (long) out * in, 1, groups);
        else groups.run(0, out / ROWS);
        return new InterleavedWeight(name, t, out, in, data);
    }

    /** A thread that never runs: a segment it may access is one every thread may. */
    private static final Thread PROBE = new Thread(() -> {});

    /** Row groups [from, to) of the stacked weights {@code ws} into {@code data}. */
    private static void groups(QuantizedWeight[] ws, GgmlType t, int out, int in, byte[] data, int from, int to) {
        int nb = in / t.blockSize(), bs = blockBytes(t);
        int rb = Math.toIntExact(ws[0].rowBytes());
        byte[] rows = new byte[ROWS * rb];
        // Q5_K and Q6_K: each row's block unpacked to a signed byte per weight, row after row, then transposed
        byte[] unpacked = t == GgmlType.Q5_K || t == GgmlType.Q6_K ? new byte[ROWS * 256] : null;
        int qOff = t == GgmlType.Q4_K ? 16 : 2, qLen = t == GgmlType.Q4_K ? 128 : bs - 2;
        for (int g = from; g < to; g++) {
            stackedRows(ws, (long) g * ROWS, rb, rows);
            for (int b = 0; b < nb; b++) {
                int hd = headerAt(t, nb, g, b), q = quantsAt(t, out / ROWS, nb, g, b);
                for (int r = 0; r < ROWS; r++) header(t, rows, r * rb + b * bs, data, hd, r);
                if (t == GgmlType.Q4_K) {
                    transposePairs(rows, b * bs + qOff, rb, qLen, data, q);
                } else if (unpacked == null) {
                    transpose(rows, b * bs + qOff, rb, qLen, data, q);
                } else {
                    for (int r = 0; r < ROWS; r++) {
                        if (t == GgmlType.Q5_K) unpackQ5(rows, r * rb + b * bs, unpacked, 256 * r);
                        else unpackQ6(rows, r * rb + b * bs, unpacked, 256 * r);
                    }
                    if (t == GgmlType.Q5_K) transposePairs(unpacked, 0, 256, 256, data, q);
                    else transpose(unpacked, 0, 256, 256, data, q);
                }
            }
        }
    }

    /** Rows [first, first + 16) of the weights {@code ws} stacked into {@code dst}, a part at a time. */
    private static void stackedRows(QuantizedWeight[] ws, long first, int rb, byte[] dst) {
        int i = 0;
        long start = 0;
        while (start + ws[i].out() <= first) start += ws[i++].out();
        for (int done = 0; done < ROWS; ) {
            long r = first + done - start;
            int n = (int) Math.min(ROWS - done, ws[i].out() - r);
            MemorySegment.copy(ws[i].blocks(), ValueLayout.JAVA_BYTE, r * rb, dst, done * rb, n * rb);
            done += n;
            start += ws[i++].out();
        }
    }

    /** Bytes of one GGML block of {@code t}. */
    private static int blockBytes(GgmlType t) {
        return Math.toIntExact(t.bytesFor(t.blockSize()));
    }

    /**
     * Row {@code r}'s block header at {@code s} of {@code src} into its lane of the group-block header at {@code hd}:
     * Q4_0, Q8_0 its half d; Q4_K, Q5_K d and dmin as floats and the unpacked scales and mins; Q6_K d as a float and its
     * sixteen scales.
     */
    private static void header(GgmlType t, byte[] src, int s, byte[] dst, int hd, int r) {
        switch (t) {
            case Q4_0, Q8_0 -> {
                dst[hd + 2 * r] = src[s];
                dst[hd + 2 * r + 1] = src[s + 1];
            }
            case Q4_K, Q5_K -> {
                for (int i = 0; i < 2; i++) { // d, dmin
                    short half = (short) ((src[s + 2 * i] & 0xFF) | src[s + 2 * i + 1] << 8);
                    LE32.set(dst, hd + 64 * i + 4 * r, Float.floatToRawIntBits(Float.float16ToFloat(half)));
                }
                for (int j = 0; j < 8; j++) {
                    dst[hd + 128 + ROWS * j + r] = (byte) scaleMin(src, s + 4, j, 0);
                    dst[hd + 128 + ROWS * (8 + j) + r] = (byte) scaleMin(src, s + 4, j, 1);
                }
            }
            case Q6_K -> {
                short half = (short) ((src[s + 208] & 0xFF) | src[s + 209] << 8);
                LE32.set(dst, hd + 4 * r, Float.floatToRawIntBits(Float.float16ToFloat(half)));
                for (int j = 0; j < 16; j++) dst[hd + 64 + ROWS * j + r] = src[s + 192 + j];
            }
            default -> throw new IllegalArgumentException("InterleavedWeight: no grouped layout for " + t);
        }
    }

    /**
     * Sixteen rows of {@code n} bytes (n a multiple of 8; row r at {@code s + r * stride} of {@code src}) into the
     * slabs at {@code q} of {@code dst}: byte i of row r to {@code q + ROWS * i + r}. Eight rows by eight bytes at a
     * time as eight longs, transposed in three rounds of swaps (bytes, then pairs, then quads): eight loads and eight
     * stores per 64 bytes instead of a load and a store per byte.
     */
    private static void transpose(byte[] src, int s, int stride, int n, byte[] dst, int q) {
        for (int h = 0; h < ROWS; h += 8) {
            int row = s + h * stride;
            for (int i = 0; i < n; i += 8) {
                int at = row + i;
                long a0 = (long) LE64.get(src, at), a1 = (long) LE64.get(src, at + stride);
                long a2 = (long) LE64.get(src, at + 2 * stride), a3 = (long) LE64.get(src, at + 3 * stride);
                long a4 = (long) LE64.get(src, at + 4 * stride), a5 = (long) LE64.get(src, at + 5 * stride);
                long a6 = (long) LE64.get(src, at + 6 * stride), a7 = (long) LE64.get(src, at + 7 * stride);
                // byte j of a_k is row k's byte i + j; each round swaps the off-diagonal parts of 2x2 tiles
                long t;
                t = ((a0 >>> 8) ^ a1) & M8;
                a1 ^= t;
                a0 ^= t << 8;
                t = ((a2 >>> 8) ^ a3) & M8;
                a3 ^= t;
                a2 ^= t << 8;
                t = ((a4 >>> 8) ^ a5) & M8;
                a5 ^= t;
                a4 ^= t << 8;
                t = ((a6 >>> 8) ^ a7) & M8;
                a7 ^= t;
                a6 ^= t << 8;
                t = ((a0 >>> 16) ^ a2) & M16;
                a2 ^= t;
                a0 ^= t << 16;
                t = ((a1 >>> 16) ^ a3) & M16;
                a3 ^= t;
                a1 ^= t << 16;
                t = ((a4 >>> 16) ^ a6) & M16;
                a6 ^= t;
                a4 ^= t << 16;
                t = ((a5 >>> 16) ^ a7) & M16;
                a7 ^= t;
                a5 ^= t << 16;
                t = ((a0 >>> 32) ^ a4) & M32;
                a4 ^= t;
                a0 ^= t << 32;
                t = ((a1 >>> 32) ^ a5) & M32;
                a5 ^= t;
                a1 ^= t << 32;
                t = ((a2 >>> 32) ^ a6) & M32;
                a6 ^= t;
                a2 ^= t << 32;
                t = ((a3 >>> 32) ^ a7) & M32;
                a7 ^= t;
                a3 ^= t << 32;
                // now byte k of a_j is row k's byte i + j
                int d = q + ROWS * i + h;
                LE64.set(dst, d, a0);
                LE64.set(dst, d + ROWS, a1);
                LE64.set(dst, d + 2 * ROWS, a2);
                LE64.set(dst, d + 3 * ROWS, a3);
                LE64.set(dst, d + 4 * ROWS, a4);
                LE64.set(dst, d + 5 * ROWS, a5);
                LE64.set(dst, d + 6 * ROWS, a6);
                LE64.set(dst, d + 7 * ROWS, a7);
            }
        }
    }

    /**
     * Where row r's quant byte i of a Q4_K or Q5_K group-block whose quants start at {@code q} lies: bytes i and i + 1
     * (i even) of the sixteen rows are 32 bytes from q + 16·i, row r's pair at 2r.
     */
    static int pairByte(int q, int i, int r) {
        return q + ROWS * (i & ~1) + 2 * r + (i & 1);
    }

    /**
     * Sixteen rows of {@code n} bytes (n a multiple of 8; row r at {@code s + r * stride} of {@code src}) into the
     * pair slabs at {@code q} of {@code dst} ({@link #pairByte}): {@link #transpose} in units of two bytes, four rows by
     * four pairs at a time as four longs, in two rounds of swaps (pairs, then quads).
     */
    private static void transposePairs(byte[] src, int s, int stride, int n, byte[] dst, int q) {
        for (int h = 0; h < ROWS; h += 4) {
            int row = s + h * stride;
            for (int i = 0; i < n; i += 8) {
                int at = row + i;
                long a0 = (long) LE64.get(src, at), a1 = (long) LE64.get(src, at + stride);
                long a2 = (long) LE64.get(src, at + 2 * stride), a3 = (long) LE64.get(src, at + 3 * stride);
                // pair j of a_k is row k's bytes i + 2j, i + 2j + 1
                long t;
                t = ((a0 >>> 16) ^ a1) & M16;
                a1 ^= t;
                a0 ^= t << 16;
                t = ((a2 >>> 16) ^ a3) & M16;
                a3 ^= t;
                a2 ^= t << 16;
                t = ((a0 >>> 32) ^ a2) & M32;
                a2 ^= t;
                a0 ^= t << 32;
                t = ((a1 >>> 32) ^ a3) & M32;
                a3 ^= t;
                a1 ^= t << 32;
                // now pair k of a_j is row k's bytes i + 2j, i + 2j + 1
                int d = q + ROWS * i + 2 * h;
                LE64.set(dst, d, a0);
                LE64.set(dst, d + 2 * ROWS, a1);
                LE64.set(dst, d + 4 * ROWS, a2);
                LE64.set(dst, d + 6 * ROWS, a3);
            }
        }
    }

    private static final long M8 = 0x00FF00FF00FF00FFL, M16 = 0x0000FFFF0000FFFFL, M32 = 0x00000000FFFFFFFFL;

    private static final java.lang.invoke.VarHandle LE64 =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    /**
     * The Q5_K block at {@code s}: each weight's 5-bit value (0 to 31) minus 16, in order, from {@code o}, as ggml's
     * dequantize_row_q5_K unpacks it: in each 64 (p), the low nibble of qs[32p + l] for the first 32 and its high nibble
     * for the next, l = e mod 32, plus 16 where bit 2p (first 32) or 2p + 1 (next 32) of qh[l] is set.
     */
    private static void unpackQ5(byte[] src, int s, byte[] dst, int o) {
        for (int p = 0; p < 4; p++) {
            for (int l = 0; l < 32; l += 8) { // eight weights' bytes to a long, no carry between bytes
                long qs = (long) LE64.get(src, s + 48 + 32 * p + l), qh = (long) LE64.get(src, s + 16 + l) >>> 2 * p;
                LE64.set(dst, o + 64 * p + l, less16(qs & NIBBLES | (qh & BIT0) << 4));
                LE64.set(dst, o + 64 * p + 32 + l, less16(qs >>> 4 & NIBBLES | (qh >>> 1 & BIT0) << 4));
            }
        }
    }

    /**
     * The Q6_K block at {@code s}: each weight's 6-bit value (0 to 63) minus 32, in order, from {@code o}, as ggml's
     * dequantize_row_q6_K unpacks it: in each half of 128 (h), l = e mod 32 and the quarter e / 32 mod 4 pick the low
     * nibble of ql[l], of ql[l + 32], the high nibble of ql[l], of ql[l + 32], and bits 0–1, 2–3, 4–5 or 6–7 of qh[l]
     * as the top two bits.
     */
    private static void unpackQ6(byte[] src, int s, byte[] dst, int o) {
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l += 8) { // eight weights' bytes to a long, no carry between bytes
                long lo = (long) LE64.get(src, s + 64 * h + l), hi = (long) LE64.get(src, s + 64 * h + 32 + l);
                long qh = (long) LE64.get(src, s + 128 + 32 * h + l);
                int e = o + 128 * h + l;
                LE64.set(dst, e, less32(lo & NIBBLES | (qh & BITS01) << 4));
                LE64.set(dst, e + 32, less32(hi & NIBBLES | (qh >>> 2 & BITS01) << 4));
                LE64.set(dst, e + 64, less32(lo >>> 4 & NIBBLES | (qh >>> 4 & BITS01) << 4));
                LE64.set(dst, e + 96, less32(hi >>> 4 & NIBBLES | (qh >>> 6 & BITS01) << 4));
            }
        }
    }

    private static final long NIBBLES = 0x0F0F0F0F0F0F0F0FL, BIT0 = 0x0101010101010101L, BITS01 = 0x0303030303030303L;

    /** Each byte (0 to 31) less 16 as a signed byte: + 0x70 stays below 0x100, then less 0x80 is the top bit's flip. */
    private static long less16(long v) {
        return (v + 0x7070707070707070L) ^ 0x8080808080808080L;
    }

    /** Each byte (0 to 63) less 32 as a signed byte, as {@link #less16}: + 0x60 stays below 0x100. */
    private static long less32(long v) {
        return (v + 0x6060606060606060L) ^ 0x8080808080808080L;
    }

    /** ggml's get_scale_min_k4: sub-block j's 6-bit scale (which 0) or min (which 1) from the 12 bytes at {@code s}. */
    static int scaleMin(byte[] b, int s, int j, int which) {
        if (j < 4) return b[s + j + 4 * which] & 63;
        int lo = b[s + j + 4] & 0xFF;
        return which == 0
                ? (lo & 0xF) | (((b[s + j - 4] & 0xFF) >> 6) << 4)
                : (lo >> 4) | (((b[s + j] & 0xFF) >> 6) << 4);
    }

    /**
     * Row {@code r}'s GGML blocks gathered back from the groups, byte for byte as the source row (Q4_K's scales
     * packed again into their 12 bytes): the regrouping's inverse, for tests.
     */
    byte[] rowBlocks(int r) {
        int nb = blocksPerRow(), bs = blockBytes(type), g = r / ROWS, l = r % ROWS;
        byte[] row = new byte[nb * bs];
        for (int b = 0; b < nb; b++) {
            int base = headerAt(g, b), q = quantsAt(g, b), s = b * bs;
            switch (type) {
                case Q4_0, Q8_0 -> {
                    row[s] = data[base + 2 * l];
                    row[s + 1] = data[base + 2 * l + 1];
                    for (int i = 0; i < bs - 2; i++) row[s + 2 + i] = data[q + ROWS * i + l];
                }
                case Q6_K -> {
                    short half = Float.floatToFloat16(Float.intBitsToFloat((int) LE32.get(data, base + 4 * l)));
                    row[s + 208] = (byte) half;
                    row[s + 209] = (byte) (half >> 8);
                    for (int j = 0; j < 16; j++) row[s + 192 + j] = data[base + 64 + ROWS * j + l];
                    for (int e = 0; e < 256; e++) {
                        int v = data[q + ROWS * e + l] + 32, h = e / 128, i = e % 32, quarter = e % 128 / 32;
                        row[s + 64 * h + 32 * (quarter & 1) + i] |= (byte) (quarter < 2 ? v & 15 : (v & 15) << 4);
                        row[s + 128 + 32 * h + i] |= (byte) ((v >> 4) << 2 * quarter);
                    }
                }
                default -> { // Q4_K, Q5_K
                    for (int i = 0; i < 2; i++) {
                        float f = Float.intBitsToFloat((int) LE32.get(data, base + 64 * i + 4 * l));
                        short half = Float.floatToFloat16(f);
                        row[s + 2 * i] = (byte) half;
                        row[s + 2 * i + 1] = (byte) (half >> 8);
                    }
                    int[] sc = new int[8], mn = new int[8];
                    for (int j = 0; j < 8; j++) {
                        sc[j] = data[base + 128 + ROWS * j + l] & 0xFF;
                        mn[j] = data[base + 128 + ROWS * (8 + j) + l] & 0xFF;
                    }
                    for (int j = 0; j < 4; j++) {
                        row[s + 4 + j] = (byte) (sc[j] | (sc[j + 4] >> 4) << 6);
                        row[s + 8 + j] = (byte) (mn[j] | (mn[j + 4] >> 4) << 6);
                        row[s + 12 + j] = (byte) ((sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4);
                    }
                    if (type == GgmlType.Q4_K) {
                        for (int i = 0; i < 128; i++) row[s + 16 + i] = data[pairByte(q, i, l)];
                    } else {
                        for (int e = 0; e < 256; e++) {
                            int v = data[pairByte(q, e, l)] + 16, p = e / 64, hi = e % 64 / 32, i = e % 32;
                            row[s + 48 + 32 * p + i] |= (byte) (hi == 0 ? v & 15 : (v & 15) << 4);
                            row[s + 16 + i] |= (byte) ((v >> 4) << (2 * p + hi));
                        }
                    }
                }
            }
        }
        return row;
    }
}
