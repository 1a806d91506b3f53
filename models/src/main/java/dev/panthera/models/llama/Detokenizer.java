package dev.panthera.models.llama;

import dev.panthera.models.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * The text of a growing token sequence, decoded incrementally: each step decodes only a short window (the tokens since
 * the last release, plus the tokens of the release before as context) instead of the whole sequence, so a generation
 * of n tokens costs O(n) decoding, not O(n²). The window's context makes decoders that look at neighbours (a leading
 * space stripped at the start, byte fallback, word-piece joining) decode the new tokens as the full sequence would: the
 * new text is the window's decoding minus the context's. Text ending in U+FFFD (a multi-byte character still
 * incomplete) is held back until the next token completes it, and so is text ending in a byte-fallback piece
 * ({@code <0xNN>}): a run of those is decoded as one group, one U+FFFD per byte when the group is not valid UTF-8, so
 * a later byte can replace text the run already gave (a space byte followed by a stray continuation byte decodes to
 * two U+FFFD, not a space and one). Releases therefore fall only after a token that ends such a run; a special token
 * that decode skips does not end it (decode drops it before the byte pieces are grouped).
 */
final class Detokenizer {
    private final Tokenizer tok;
    private final StringBuilder text = new StringBuilder();
    private int prefix, read; // the context window is [prefix, read); [read, n) is not yet released

    Detokenizer(Tokenizer tok) {
        this.tok = tok;
    }

    /**
     * The text of ids[0..n) after ids[n − 1] was appended (n grows by one per call). A tail that ends in U+FFFD is
     * returned but not yet released, so the next call decodes it again with the token that completes it.
     */
    String append(int[] ids, int n) {
        String before = prefix == read ? "" : tok.decode(Arrays.copyOfRange(ids, prefix, read), true);
        String now = tok.decode(Arrays.copyOfRange(ids, prefix, n), true);
        // a decoder that rewrote the context's text cannot be read incrementally: decode everything (rare)
        if (!now.startsWith(before)) return tok.decode(Arrays.copyOf(ids, n), true);
        String tail = now.substring(before.length());
        if (tail.isEmpty() || tail.endsWith("\uFFFD") || inByteRun(ids, n)) return text + tail;
        text.append(tail);
        prefix = read;
        read = n;
        return text.toString();
    }

    /**
     * Whether ids[0..n) ends in a byte-fallback piece, skipped special tokens after it not counting: decode drops those
     * before its decoders run, so a byte after them continues the same run.
     */
    private boolean inByteRun(int[] ids, int n) {
        int i = n - 1;
        while (i >= 0 && skipped(ids[i])) i--;
        return i >= 0 && isBytePiece(ids[i]);
    }

    /** A special token that decode drops: its text is empty only when special tokens are skipped. */
    private boolean skipped(int id) {
        int[] one = {id};
        return tok.decode(one, true).isEmpty() && !tok.decode(one, false).isEmpty();
    }

    private boolean isBytePiece(int id) {
        String t = tok.idToToken(id);
        return t != null && t.length() == 6 && t.startsWith("<0x") && t.charAt(5) == '>';
    }
}
