package dev.panthera.models.tokenizer;

/**
 * WordPiece as BERT uses it: greedy longest-match-first over each pre-tokenized word, continuation pieces carrying
 * the {@code ##} prefix; a word longer than {@code maxInputCharsPerWord} code points, or one that cannot be covered
 * by vocabulary pieces, becomes the single unknown token.
 */
final class WordPieceModel implements Model {
    private final Vocab vocab;
    private final int unkId;
    private final String prefix;
    private final int maxChars;

    WordPieceModel(Vocab vocab, String unk, String prefix, int maxChars, String field) throws TokenizerFormatException {
        this.vocab = vocab;
        this.unkId = vocab.id(unk);
        if (unkId < 0)
            throw new TokenizerFormatException(field + ".unk_token", "'" + unk + "' is not in the vocabulary");
        this.prefix = prefix;
        this.maxChars = maxChars;
    }

    @Override
    public void tokenize(String word, IntList out) {
        if (word.codePointCount(0, word.length()) > maxChars) {
            out.add(unkId);
            return;
        }
        int mark = out.size;
        int start = 0;
        while (start < word.length()) {
            int end = word.length();
            int found = -1;
            while (start < end) {
                String sub = word.substring(start, end);
                if (start > 0) sub = prefix + sub;
                int id = vocab.id(sub);
                if (id >= 0) {
                    found = id;
                    break;
                }
                end = Character.isLowSurrogate(word.charAt(end - 1)) && end - 2 >= start ? end - 2 : end - 1;
            }
            if (found < 0) {
                out.size = mark;
                out.add(unkId);
                return;
            }
            out.add(found);
            start = end;
        }
    }

    @Override
    public Vocab vocab() {
        return vocab;
    }
}
