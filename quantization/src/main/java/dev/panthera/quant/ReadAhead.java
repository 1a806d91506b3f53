package dev.panthera.quant;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.simd.Sgemm;
import java.lang.ref.WeakReference;
import java.util.Arrays;

/**
 * Reads ahead, on an idle helper thread, the weight of the one-row product that comes next. Between two quantized
 * GEMVs of a decode step the caller runs the small ops alone (norms, RoPE, attention, the activation's quantization;
 * on a small model a good share of a two-thread step) while the helper polls for the next loop. This has the helper
 * read the next product's rows, one byte per cache line, chunk by chunk in the order the helpers claim them ({@link
 * Sgemm#chunksFromBack}) and as far as a budget, so that when the product starts they come from the helper's cache (or,
 * for chunks the caller ends up taking, from the helper core's cache) instead of from memory. Which product comes next
 * is learned: each regrouped weight records the one whose one-row product ran after it on the same thread last time
 * (a hint only: a wrong one costs a wasted read).
 */
final class ReadAhead implements Sgemm.Background {
    /**
     * The most bytes read ahead for one product: {@code panthera.quant.readAheadKiB} KiB (default 384, a part of a
     * helper core's L2: 1 MiB on Zen 4, 2 MiB on recent Xeons); 0 turns reading ahead off.
     */
    static final int BYTES =
            (int) Math.min(1 << 30, Math.max(0, Long.getLong("panthera.quant.readAheadKiB", 384)) * 1024);

    /** The last one-row product's weight on this thread, weakly. */
    private static final ThreadLocal<WeakReference<InterleavedWeight>> LAST = new ThreadLocal<>();

    /** Bytes touched per step: a step is short, so a posted loop waits little for the helper. */
    private static final int STEP = 4096, LINE = 64;

    /** The weight, weakly: an offer the helpers never ran keeps no weight alive. */
    private final WeakReference<InterleavedWeight> weight;
    /** Byte ranges [from, to) to read, in order. */
    private final int[] ranges;

    private int r, at;
    /** The bytes read, summed, so that the loads stay. */
    private long sum;

    ReadAhead(InterleavedWeight w, int[] ranges) {
        this.weight = w.self;
        this.ranges = ranges;
        this.at = ranges.length > 0 ? ranges[0] : 0;
    }

    /**
     * Called after each one-row product over {@code w} on this thread: records {@code w} as the successor of the
     * product before it, and offers the helpers a read-ahead of the product recorded after {@code w}.
     */
    static void after(InterleavedWeight w) {
        WeakReference<InterleavedWeight> last = LAST.get();
        InterleavedWeight prev = last == null ? null : last.get();
        if (prev != null && prev != w) prev.next = w.self;
        LAST.set(w.self);
        InterleavedWeight next = w.next == null ? null : w.next.get();
        if (next == null || BYTES == 0) return;
        int[] ranges = ranges(next, BYTES);
        if (ranges.length > 0) Sgemm.background(new ReadAhead(next, ranges));
    }

    /**
     * The byte ranges of {@code w}'s regrouped array that a one-row product reads, chunk by chunk in the order its
     * helpers claim them, up to {@code budget} bytes: each chunk's headers, then its quants (Q4_0 and Q8_0 hold both in
     * one range per chunk).
     */
    static int[] ranges(InterleavedWeight w, int budget) {
        int[] chunks = Sgemm.chunksFromBack(w.out, 2L * w.out * w.in, InterleavedWeight.ROWS);
        // the K-quants keep headers and quants in two regions; Q4_0 and Q8_0 keep each group-block whole
        boolean apart = w.type != GgmlType.Q4_0 && w.type != GgmlType.Q8_0;
        int[] out = new int[chunks.length * (apart ? 2 : 1)];
        int n = 0;
        long left = budget;
        for (int i = 0; i < chunks.length && left > 0; i += 2) {
            int g0 = chunks[i] / InterleavedWeight.ROWS, g1 = chunks[i + 1] / InterleavedWeight.ROWS;
            for (int part = 0; part < (apart ? 2 : 1) && left > 0; part++) {
                int from = part == 0 ? w.headerAt(g0, 0) : w.quantsAt(g0, 0);
                int to = part == 0 ? w.headerAt(g1, 0) : w.quantsAt(g1, 0);
                to = (int) Math.min(to, from + left);
                left -= to - from;
                out[n++] = from;
                out[n++] = to;
            }
        }
        return Arrays.copyOf(out, n);
    }

    @Override
    public boolean step() {
        InterleavedWeight w = weight.get();
        if (r >= ranges.length || w == null) return false;
        byte[] d = w.data;
        int stop = Math.min(ranges[r + 1], at + STEP);
        long s = sum;
        for (int i = at; i < stop; i += LINE) s += d[i];
        sum = s;
        at = stop;
        if (at >= ranges[r + 1]) {
            r += 2;
            if (r >= ranges.length) return false;
            at = ranges[r];
        }
        return true;
    }

    /** What the steps read, summed (for tests). */
    long sum() {
        return sum;
    }
}
