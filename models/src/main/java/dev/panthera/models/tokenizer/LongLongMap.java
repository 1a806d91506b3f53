package dev.panthera.models.tokenizer;

/** An open-addressing map from long keys to long values, without boxing; -1 means absent. */
final class LongLongMap {
    private long[] keys;
    private long[] vals;
    private boolean[] used;
    private int size;

    LongLongMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 + 1)) << 1;
        keys = new long[cap];
        vals = new long[cap];
        used = new boolean[cap];
    }

    private static int mix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        return (int) k;
    }

    /** @return the value for {@code k}, or -1 */
    long get(long k) {
        int m = keys.length - 1;
        for (int i = mix(k) & m; used[i]; i = (i + 1) & m) if (keys[i] == k) return vals[i];
        return -1;
    }

    /** Stores the value unless the key is present; @return whether it was stored. */
    boolean putIfAbsent(long k, long v) {
        if ((size + 1) * 2 > keys.length) grow();
        int m = keys.length - 1;
        int i = mix(k) & m;
        for (; used[i]; i = (i + 1) & m) if (keys[i] == k) return false;
        used[i] = true;
        keys[i] = k;
        vals[i] = v;
        size++;
        return true;
    }

    private void grow() {
        long[] ok = keys, ov = vals;
        boolean[] ou = used;
        keys = new long[ok.length * 2];
        vals = new long[ok.length * 2];
        used = new boolean[ok.length * 2];
        size = 0;
        for (int i = 0; i < ok.length; i++) if (ou[i]) putIfAbsent(ok[i], ov[i]);
    }

    static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }
}
