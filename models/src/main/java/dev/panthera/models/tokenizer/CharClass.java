package dev.panthera.models.tokenizer;

/** Character classes with the definitions HuggingFace tokenizers (Rust) uses. */
final class CharClass {
    private CharClass() {}

    /** Unicode White_Space, as Rust's {@code char::is_whitespace}. */
    static boolean isWhitespace(int c) {
        return switch (c) {
            case '\t', '\n', 0x0B, '\f', '\r', ' ', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true;
            default -> c >= 0x2000 && c <= 0x200A;
        };
    }

    /**
     * BERT's control test (categories Cc, Cf, Cs, Co except tab, newline and carriage return; NUL and U+FFFD are
     * removed alongside) as HuggingFace's tables classify code points: their Unicode version predates the JDK's, so
     * e.g. U+0890 (a format character since Unicode 14) is kept there and here.
     */
    static boolean isControl(int c) {
        return HfCharTables.contains(HfCharTables.BERT_CONTROL, c);
    }

    /**
     * BERT's punctuation (ASCII punctuation or categories Pc, Pd, Ps, Pe, Pi, Pf, Po) as HuggingFace's tables
     * classify code points (see {@link HfCharTables}).
     */
    static boolean isPunctuation(int c) {
        return HfCharTables.contains(HfCharTables.BERT_PUNCTUATION, c);
    }

    /** A nonspacing mark (Mn) by HuggingFace's tables: what BertNormalizer's accent stripping removes after NFD. */
    static boolean isBertMark(int c) {
        return HfCharTables.contains(HfCharTables.BERT_MARKS, c);
    }

    /** A combining mark (Mn, Mc, Me) by HuggingFace's tables: what the StripAccents normalizer removes after NFD. */
    static boolean isCombiningMark(int c) {
        return HfCharTables.contains(HfCharTables.COMBINING_MARKS, c);
    }

    /** The CJK ideograph blocks BERT puts spaces around. */
    static boolean isCjk(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF)
                || (c >= 0x3400 && c <= 0x4DBF)
                || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F)
                || (c >= 0x2B740 && c <= 0x2B81F)
                || (c >= 0x2B920 && c <= 0x2CEAF)
                || (c >= 0xF900 && c <= 0xFAFF)
                || (c >= 0x2F800 && c <= 0x2FA1F);
    }
}
