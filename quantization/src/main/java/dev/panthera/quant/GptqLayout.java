package dev.panthera.quant;

import dev.panthera.quant.gptq.GptqInt4;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * A GPTQ weight's input rows ordered by group, as {@link GptqGroupedKernel} reads them: with act-order, g_idx sends
 * neighbouring input features to different groups, so a kernel that follows the stored order must reload a group's
 * scales and zero points at almost every row. Here the rows are sorted by group once (a stable counting sort), the
 * packed words are rebuilt in that order, and the activations are permuted the same way at each call ({@link #perm});
 * then every group is one run of whole words. Without act-order (g_idx already non-decreasing) the stored qweight is
 * used as it is and no permutation is made. {@link #uniform} is false when some word would mix two groups (a g_idx
 * whose group sizes are not multiples of 8, which no GPTQ quantizer writes): such a weight takes the per-row kernel.
 *
 * <p>Built once per weight and kept while the weight is reachable ({@link #of}: a weak map keyed by the weight; the
 * layout holds the weight's arrays but not the weight, so the entry does not keep its own key alive).
 */
final class GptqLayout {
    /** The weight's sizes and the arrays read as stored (no reference to the weight itself: see {@link #of}). */
    final int out, in;

    final int[] qzeros;
    final float[] scales;
    /** Packed words in group order: input rows 8p..8p+7 (sorted order) of output n in {@code qweight[p·out + n]}. */
    final int[] qweight;
    /** Sorted row i is stored row perm[i]; null when the stored order is already sorted. */
    final int[] perm;
    /** Runs of words in one group: words [runStart[i], runStart[i + 1]) belong to group runGroup[i]. */
    final int[] runStart, runGroup;

    final boolean uniform;

    private static final Map<GptqInt4, GptqLayout> CACHE = Collections.synchronizedMap(new WeakHashMap<>());

    static GptqLayout of(GptqInt4 w) {
        GptqLayout l = CACHE.get(w);
        if (l == null) {
            l = new GptqLayout(w);
            CACHE.put(w, l);
        }
        return l;
    }

    private GptqLayout(GptqInt4 w) {
        out = w.out();
        in = w.in();
        qzeros = w.qzeros();
        scales = w.scales();
        int groups = w.groups();
        int[] g = w.gIdx();
        boolean sorted = true;
        for (int k = 1; k < in && sorted; k++) sorted = g[k - 1] <= g[k];
        int[] order = null;
        if (!sorted) {
            int[] start = new int[groups + 1];
            for (int k = 0; k < in; k++) start[g[k] + 1]++;
            for (int i = 0; i < groups; i++) start[i + 1] += start[i];
            order = new int[in];
            for (int k = 0; k < in; k++) order[start[g[k]]++] = k;
        }
        perm = order;
        int words = in >>> 3;
        int[] rs = new int[words + 1], rg = new int[words];
        int runs = 0;
        boolean uni = true;
        for (int p = 0; p < words; p++) {
            int g0 = g[row(8 * p)];
            for (int j = 1; j < 8; j++) uni &= g[row(8 * p + j)] == g0;
            if (runs == 0 || rg[runs - 1] != g0) {
                rs[runs] = p;
                rg[runs++] = g0;
            }
        }
        rs[runs] = words;
        runStart = java.util.Arrays.copyOf(rs, runs + 1);
        runGroup = java.util.Arrays.copyOf(rg, runs);
        uniform = uni;
        if (perm == null || !uniform) {
            qweight = w.qweight();
        } else {
            int[] src = w.qweight(), q = new int[src.length];
            for (int p = 0; p < words; p++) {
                for (int j = 0; j < 8; j++) {
                    int k = perm[8 * p + j], sw = (k >>> 3) * out, sh = (k & 7) << 2, dw = p * out, dh = j << 2;
                    for (int n = 0; n < out; n++) q[dw + n] |= ((src[sw + n] >>> sh) & 15) << dh;
                }
            }
            qweight = q;
        }
    }

    private int row(int i) {
        return perm == null ? i : perm[i];
    }

    /** x [m, in] in sorted row order (x itself when no permutation is needed). */
    float[] permute(float[] x, int m) {
        if (perm == null) return x;
        float[] p = new float[m * in];
        for (int r = 0; r < m; r++) {
            int o = r * in;
            for (int i = 0; i < in; i++) p[o + i] = x[o + perm[i]];
        }
        return p;
    }
}
