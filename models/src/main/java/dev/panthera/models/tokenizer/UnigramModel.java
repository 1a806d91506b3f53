package dev.panthera.models.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * SentencePiece's unigram model (T5, ALBERT, XLNet, many multilingual models): the segmentation of a piece of text
 * into vocabulary pieces with the largest sum of piece scores (log-probabilities), found by Viterbi over the code
 * points. As sentencepiece's encoder does: only normal and user-defined pieces take part (a user-defined one scores
 * its UTF-8 length × the largest score − 0.1, so it always wins), a code point that starts no one-character piece may
 * be covered by an unknown node scoring the smallest normal score − 10, ties keep the first path found (shorter pieces
 * are tried first), and a run of adjacent unknown nodes becomes one unknown token — or, with byte fallback, the
 * {@code <0xNN>} tokens of its UTF-8 bytes.
 */
final class UnigramModel implements Model {
    private static final float UNK_PENALTY = 10f;

    private final Vocab vocab;
    private final Map<String, Integer> pieces = new HashMap<>();
    private final float[] score;
    private final int maxCodePoints, unkId;
    private final float unkScore;
    private final boolean byteFallback;
    private final int[] byteIds = new int[256];

    /**
     * @param types SentencePiece piece types (1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte)
     */
    UnigramModel(Vocab vocab, float[] scores, int[] types, int unkId, boolean byteFallback) {
        this.vocab = vocab;
        this.unkId = unkId;
        this.byteFallback = byteFallback;
        int n = vocab.tokens.length;
        float max = Float.NEGATIVE_INFINITY, min = Float.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (types[i] == 1) {
                max = Math.max(max, scores[i]);
                min = Math.min(min, scores[i]);
            }
        }
        if (min == Float.POSITIVE_INFINITY) min = max = 0;
        score = new float[n];
        int longest = 1;
        for (int i = 0; i < n; i++) {
            String t = vocab.tokens[i];
            if (t == null || t.isEmpty() || (types[i] != 1 && types[i] != 4)) continue;
            score[i] = types[i] == 4 ? t.getBytes(StandardCharsets.UTF_8).length * max - 0.1f : scores[i];
            pieces.putIfAbsent(t, i);
            longest = Math.max(longest, t.codePointCount(0, t.length()));
        }
        maxCodePoints = longest;
        unkScore = min - UNK_PENALTY;
        for (int b = 0; b < 256; b++) byteIds[b] = vocab.id(String.format("<0x%02X>", b));
    }

    @Override
    public void tokenize(String text, IntList out) {
        int n = text.codePointCount(0, text.length());
        if (n == 0) return;
        int[] at = new int[n + 1]; // char offset of each code point
        for (int k = 0, i = 0; k < n; k++) {
            at[k] = i;
            i += Character.charCount(text.codePointAt(i));
        }
        at[n] = text.length();
        float[] best = new float[n + 1];
        int[] from = new int[n + 1], id = new int[n + 1];
        boolean[] reached = new boolean[n + 1];
        reached[0] = true;
        for (int k = 0; k < n; k++) {
            if (!reached[k]) continue;
            boolean single = false;
            for (int e = k + 1; e <= Math.min(n, k + maxCodePoints); e++) {
                Integer pid = pieces.get(text.substring(at[k], at[e]));
                if (pid == null) continue;
                if (e == k + 1) single = true;
                float cand = best[k] + score[pid];
                if (!reached[e] || cand > best[e]) {
                    reached[e] = true;
                    best[e] = cand;
                    from[e] = k;
                    id[e] = pid;
                }
            }
            if (!single) {
                float cand = best[k] + unkScore;
                if (!reached[k + 1] || cand > best[k + 1]) {
                    reached[k + 1] = true;
                    best[k + 1] = cand;
                    from[k + 1] = k;
                    id[k + 1] = -1; // unknown
                }
            }
        }
        int count = 0;
        for (int e = n; e > 0; e = from[e]) count++;
        int[] ends = new int[count];
        for (int e = n, c = count; e > 0; e = from[e]) ends[--c] = e;
        for (int c = 0, start = 0; c < count; ) {
            int e = ends[c];
            if (id[e] >= 0) {
                out.add(id[e]);
                start = e;
                c++;
                continue;
            }
            int runEnd = e; // adjacent unknown nodes form one run
            while (c + 1 < count && id[ends[c + 1]] < 0) runEnd = ends[++c];
            c++;
            unknown(text.substring(at[start], at[runEnd]), out);
            start = runEnd;
        }
    }

    private void unknown(String run, IntList out) {
        if (byteFallback) {
            boolean all = true;
            byte[] bytes = run.getBytes(StandardCharsets.UTF_8);
            for (byte b : bytes) all &= byteIds[b & 0xff] >= 0;
            if (all) {
                for (byte b : bytes) out.add(byteIds[b & 0xff]);
                return;
            }
        }
        if (unkId < 0)
            throw new IllegalArgumentException("unigram: text '" + run + "' has no pieces and the model no <unk>");
        out.add(unkId);
    }

    @Override
    public Vocab vocab() {
        return vocab;
    }
}
