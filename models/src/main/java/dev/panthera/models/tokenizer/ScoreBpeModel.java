package dev.panthera.models.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * SentencePiece-style BPE that merges by vocabulary score, as llama2.c's {@code encode} and llama.cpp's SPM
 * tokenizer do: the text starts as its code points (each looked up in the vocabulary, else split into
 * {@code <0xNN>} byte tokens, else the unknown token), then the adjacent pair whose concatenation is a vocabulary
 * token with the highest score is merged, leftmost first on ties, until no pair concatenates to a token.
 */
final class ScoreBpeModel implements Model {
    private final Vocab vocab;
    private final float[] scores;
    /** (left id, right id) → merged id, for every mergeable token split at every code-point boundary. */
    private final LongLongMap pairs;

    private final int unkId;
    private final int[] byteIds = new int[256];

    /**
     * @param mergeable which ids may be the result of a merge (control and unknown tokens may not)
     */
    ScoreBpeModel(Vocab vocab, float[] scores, boolean[] mergeable, int unkId) {
        this.vocab = vocab;
        this.scores = scores;
        this.unkId = unkId;
        for (int b = 0; b < 256; b++) byteIds[b] = vocab.id(String.format("<0x%02X>", b));
        pairs = new LongLongMap(vocab.tokens.length * 4);
        for (int id = 0; id < vocab.tokens.length; id++) {
            String t = vocab.tokens[id];
            if (t == null || !mergeable[id]) continue;
            for (int k = t.length() > 0 ? Character.charCount(t.codePointAt(0)) : 0;
                    k > 0 && k < t.length();
                    k += Character.charCount(t.codePointAt(k))) {
                int a = vocab.id(t.substring(0, k)), b = vocab.id(t.substring(k));
                if (a >= 0 && b >= 0) pairs.putIfAbsent(LongLongMap.pair(a, b), id);
            }
        }
    }

    /** Maps a float so that signed-int order equals float order. */
    private static long order(float f) {
        int b = Float.floatToIntBits(f);
        return b ^ ((b >> 31) & 0x7fffffff);
    }

    private long key(int mergedId, int pos) {
        return (order(-scores[mergedId]) << 32) | pos;
    }

    @Override
    public void tokenize(String text, IntList out) {
        IntList sym = new IntList(text.length());
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int end = i + Character.charCount(cp);
            int id = vocab.id(text.substring(i, end));
            i = end;
            if (id >= 0) {
                sym.add(id);
                continue;
            }
            byte[] bytes = Character.toString(cp).getBytes(StandardCharsets.UTF_8);
            boolean all = true;
            for (byte b : bytes) all &= byteIds[b & 0xff] >= 0;
            if (all) {
                for (byte b : bytes) sym.add(byteIds[b & 0xff]);
            } else if (unkId >= 0) {
                sym.add(unkId);
            }
        }
        int n = sym.size;
        int[] id = sym.a;
        int[] next = new int[n], prev = new int[n];
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        MergeHeap heap = new MergeHeap();
        for (int i = 0; i + 1 < n; i++) {
            long m = pairs.get(LongLongMap.pair(id[i], id[i + 1]));
            if (m >= 0) heap.push(key((int) m, i));
        }
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int pos = (int) top;
            if (dead[pos] || next[pos] < 0) continue;
            int r = next[pos];
            long m = pairs.get(LongLongMap.pair(id[pos], id[r]));
            if (m < 0 || key((int) m, pos) != top) continue;
            id[pos] = (int) m;
            dead[r] = true;
            next[pos] = next[r];
            if (next[r] >= 0) prev[next[r]] = pos;
            if (prev[pos] >= 0) {
                long pm = pairs.get(LongLongMap.pair(id[prev[pos]], id[pos]));
                if (pm >= 0) heap.push(key((int) pm, prev[pos]));
            }
            if (next[pos] >= 0) {
                long nm = pairs.get(LongLongMap.pair(id[pos], id[next[pos]]));
                if (nm >= 0) heap.push(key((int) nm, pos));
            }
        }
        for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i]) out.add(id[i]);
    }

    @Override
    public Vocab vocab() {
        return vocab;
    }
}
