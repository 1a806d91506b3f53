package dev.panthera.models.tokenizer;

import java.io.UncheckedIOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A regular expression from a tokenizer file, matched under a budget. java.util.regex backtracks, so a hostile pattern
 * such as {@code (a+)+b} takes exponential time, and it recurses once per repetition, so {@code (a|b)*} exhausts the
 * stack on a long text. Here the engine reads the text through a counter that allows {@link #READS_PER_CHAR} reads
 * per character plus {@link #READS_BASE}, which bounds the work by the text's length; a stack overflow inside the
 * engine is caught. Either way the caller gets an {@link UncheckedIOException} wrapping a
 * {@link TokenizerFormatException} that names the pattern's field: the file is at fault, not the text.
 */
record BoundedRegex(Pattern pattern, String field) {
    /** Character reads allowed per character of text: real tokenizer patterns need a handful. */
    static final long READS_PER_CHAR = 1024;

    static final long READS_BASE = 1 << 16;

    /** The error an encode or decode call throws when a component of the tokenizer file misbehaves on a text. */
    static UncheckedIOException failure(String field, String message) {
        return new UncheckedIOException(new TokenizerFormatException(field, message));
    }

    /** A matcher over {@code text} whose reads are counted. */
    Matcher matcher(CharSequence text) {
        return pattern.matcher(new Counted(text, READS_BASE + READS_PER_CHAR * text.length()));
    }

    /** {@code m.find()}, with a stack overflow in the engine reported as the pattern's fault. */
    boolean find(Matcher m) {
        try {
            return m.find();
        } catch (StackOverflowError e) {
            throw stackOverflow();
        }
    }

    /**
     * Every match in {@code s} replaced by {@code content} (literally), as {@link Matcher#replaceAll} does, failing
     * once the result would exceed {@code maxLength} characters.
     */
    String replaceAll(String s, String content, long maxLength) {
        Matcher m = matcher(s);
        StringBuilder b = null;
        int last = 0;
        while (find(m)) {
            if (b == null) b = new StringBuilder(s.length() + 16);
            b.append(s, last, m.start());
            if (b.length() + (long) content.length() > maxLength) throw grown(s.length(), maxLength);
            b.append(content);
            last = m.end();
        }
        if (b == null) return s;
        if (b.length() + (long) (s.length() - last) > maxLength) throw grown(s.length(), maxLength);
        return b.append(s, last, s.length()).toString();
    }

    private UncheckedIOException stackOverflow() {
        return failure(field, "regular expression /" + pattern + "/ overflowed the stack (too many repetitions)");
    }

    private UncheckedIOException grown(int length, long maxLength) {
        return failure(
                field, "replacing /" + pattern + "/ grows a text of " + length + " characters beyond " + maxLength);
    }

    /** The text as the engine sees it: each read counted against a budget. */
    private final class Counted implements CharSequence {
        private final CharSequence text;
        private long left;

        Counted(CharSequence text, long budget) {
            this.text = text;
            this.left = budget;
        }

        @Override
        public char charAt(int index) {
            if (--left < 0) {
                throw failure(
                        field,
                        "regular expression /" + pattern + "/ needs more than " + READS_PER_CHAR
                                + " steps per character on a text of " + text.length()
                                + " characters (catastrophic backtracking)");
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return text.subSequence(start, end);
        }

        @Override
        public String toString() {
            return text.toString();
        }
    }
}
