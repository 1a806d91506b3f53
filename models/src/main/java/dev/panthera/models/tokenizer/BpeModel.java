package dev.panthera.models.tokenizer;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-pair encoding by merge rank, as HuggingFace's {@code BPE} model does it: a word starts as its characters
 * (each looked up in the vocabulary; unknown ones become {@code <0xNN>} byte tokens when byte fallback is on, else
 * the unknown token, fused when {@code fuse_unk}), then the adjacent pair with the lowest merge rank is merged,
 * leftmost first on ties, until no listed merge applies. Used by GPT-2 style byte-level tokenizers (whose
 * pre-tokenizer has already mapped bytes to printable characters) and by Llama 2's SentencePiece-converted files.
 */
final class BpeModel implements Model {
    /** Words up to this many chars are cached (word-level pieces repeat; whole sentences do not). */
    private static final int CACHE_WORD_LENGTH = 64;

    private static final int CACHE_LIMIT = 100_000;

    private final Vocab vocab;
    /** (left id, right id) → (rank &lt;&lt; 32 | merged id). */
    private final LongLongMap merges;

    private final int unkId;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final String prefix;
    private final String suffix;
    private final int[] byteIds = new int[256];
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param merges pairs in rank order; each pair and its concatenation must be in the vocabulary
     * @param unk the unknown token or {@code null}
     */
    BpeModel(
            Vocab vocab,
            List<String[]> merges,
            String unk,
            boolean fuseUnk,
            boolean byteFallback,
            boolean ignoreMerges,
            String prefix,
            String suffix,
            String field)
            throws TokenizerFormatException {
        this.vocab = vocab;
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        this.prefix = prefix == null ? "" : prefix;
        this.suffix = suffix == null ? "" : suffix;
        if (unk != null) {
            unkId = vocab.id(unk);
            if (unkId < 0)
                throw new TokenizerFormatException(field + ".unk_token", "'" + unk + "' is not in the vocabulary");
        } else {
            unkId = -1;
        }
        for (int b = 0; b < 256; b++) byteIds[b] = vocab.id(String.format("<0x%02X>", b));
        this.merges = new LongLongMap(merges.size());
        for (int r = 0; r < merges.size(); r++) {
            String a = merges.get(r)[0], b = merges.get(r)[1];
            String f = field + ".merges[" + r + "]";
            int ia = vocab.id(a), ib = vocab.id(b);
            if (ia < 0) throw new TokenizerFormatException(f, "'" + a + "' is not in the vocabulary");
            if (ib < 0) throw new TokenizerFormatException(f, "'" + b + "' is not in the vocabulary");
            String merged =
                    !this.prefix.isEmpty() && b.startsWith(this.prefix) ? a + b.substring(this.prefix.length()) : a + b;
            int im = vocab.id(merged);
            if (im < 0) throw new TokenizerFormatException(f, "merged token '" + merged + "' is not in the vocabulary");
            this.merges.putIfAbsent(LongLongMap.pair(ia, ib), ((long) r << 32) | im);
        }
    }

    @Override
    public void tokenize(String word, IntList out) {
        if (word.length() > CACHE_WORD_LENGTH) {
            out.addAll(encodeWord(word));
            return;
        }
        int[] ids = cache.get(word);
        if (ids == null) {
            ids = encodeWord(word);
            if (cache.size() < CACHE_LIMIT) cache.put(word, ids);
        }
        out.addAll(ids);
    }

    private int[] encodeWord(String word) {
        if (ignoreMerges) {
            int id = vocab.id(word);
            if (id >= 0) return new int[] {id};
        }
        IntList sym = new IntList(word.length());
        boolean lastUnk = false;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int end = i + Character.charCount(cp);
            String s = word.substring(i, end);
            if (i > 0) s = prefix + s;
            if (end == word.length()) s = s + suffix;
            i = end;
            int id = vocab.id(s);
            if (id >= 0) {
                sym.add(id);
                lastUnk = false;
                continue;
            }
            if (byteFallback) {
                byte[] bytes = Character.toString(cp).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                boolean all = true;
                for (byte b : bytes) all &= byteIds[b & 0xff] >= 0;
                if (all) {
                    for (byte b : bytes) sym.add(byteIds[b & 0xff]);
                    lastUnk = false;
                    continue;
                }
            }
            if (unkId >= 0) {
                if (!(fuseUnk && lastUnk)) sym.add(unkId);
                lastUnk = true;
            }
        }
        return merge(sym);
    }

    private int[] merge(IntList sym) {
        int n = sym.size;
        if (n < 2) return sym.toArray();
        int[] id = sym.a;
        int[] next = new int[n], prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        MergeHeap heap = new MergeHeap();
        for (int i = 0; i + 1 < n; i++) {
            long m = merges.get(LongLongMap.pair(id[i], id[i + 1]));
            if (m >= 0) heap.push((m & 0xffffffff00000000L) | i);
        }
        boolean[] dead = new boolean[n];
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int pos = (int) top;
            long rank = top >>> 32;
            if (dead[pos] || next[pos] < 0) continue;
            int r = next[pos];
            long m = merges.get(LongLongMap.pair(id[pos], id[r]));
            if (m < 0 || (m >>> 32) != rank) continue;
            id[pos] = (int) m;
            dead[r] = true;
            next[pos] = next[r];
            if (next[r] >= 0) prev[next[r]] = pos;
            if (prev[pos] >= 0) {
                long pm = merges.get(LongLongMap.pair(id[prev[pos]], id[pos]));
                if (pm >= 0) heap.push((pm & 0xffffffff00000000L) | prev[pos]);
            }
            if (next[pos] >= 0) {
                long nm = merges.get(LongLongMap.pair(id[pos], id[next[pos]]));
                if (nm >= 0) heap.push((nm & 0xffffffff00000000L) | pos);
            }
        }
        IntList out = new IntList(n);
        for (int i = 0; i >= 0; i = next[i]) out.add(id[i]);
        return out.toArray();
    }

    @Override
    public Vocab vocab() {
        return vocab;
    }
}
