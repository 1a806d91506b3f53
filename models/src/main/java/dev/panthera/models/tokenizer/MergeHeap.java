package dev.panthera.models.tokenizer;

import java.util.Arrays;

/** A binary min-heap of longs: merge candidates keyed (priority &lt;&lt; 32 | position), smallest first. */
final class MergeHeap {
    private long[] h = new long[16];
    private int n;

    void clear() {
        n = 0;
    }

    boolean isEmpty() {
        return n == 0;
    }

    void push(long v) {
        if (n == h.length) h = Arrays.copyOf(h, n * 2);
        int i = n++;
        while (i > 0) {
            int p = (i - 1) >>> 1;
            if (h[p] <= v) break;
            h[i] = h[p];
            i = p;
        }
        h[i] = v;
    }

    long pop() {
        long top = h[0];
        long v = h[--n];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && h[c + 1] < h[c]) c++;
            if (h[c] >= v) break;
            h[i] = h[c];
            i = c;
        }
        h[i] = v;
        return top;
    }
}
