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
 * two U+FFFD, not a space and one). Releases therefore fall only after a token that ends such a run.
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
        if (tail.isEmpty() || tail.endsWith("\uFFFD") || isBytePiece(ids[n - 1])) return text + tail;
        text.append(tail);
        prefix = read;
        read = n;
        return text.toString();
    }

    private boolean isBytePiece(int id) {
        String t = tok.idToToken(id);
        return t != null && t.length() == 6 && t.startsWith("<0x") && t.charAt(5) == '>';
    }
}
