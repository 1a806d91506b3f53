package dev.panthera.models.tokenizer;

import java.text.Normalizer.Form;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Text normalizers of HuggingFace's tokenizer.json ({@code normalizer} field). A chain may not grow a text beyond
 * {@link #maxLength}: past it, normalizing throws an {@link java.io.UncheckedIOException} wrapping a
 * {@link TokenizerFormatException} naming the component (a Replace whose content is longer than what it replaces,
 * repeated, could otherwise grow a short text exponentially until the heap is gone).
 */
sealed interface Normalizer {
    /** Most characters normalizing a text of {@code n} may produce (Unicode decompositions grow at most 18 times). */
    static long maxLength(long n) {
        return 64 * n + 4096;
    }

    /** {@code s} normalized; the result and every intermediate text have at most {@code maxLength} characters. */
    String normalize(String s, long maxLength);

    default String normalize(String s) {
        return normalize(s, maxLength(s.length()));
    }

    /** BERT's: drop control characters, whitespace to ' ', space around CJK ideographs, strip accents, lowercase. */
    record Bert(boolean cleanText, boolean chineseChars, boolean stripAccents, boolean lowercase)
            implements Normalizer {
        @Override
        public String normalize(String s, long maxLength) {
            StringBuilder b = new StringBuilder(s.length() + 8);
            s.codePoints().forEach(c -> {
                if (cleanText) {
                    if (c == 0 || c == 0xfffd || CharClass.isControl(c)) return;
                    if (CharClass.isWhitespace(c)) c = ' ';
                }
                if (chineseChars && CharClass.isCjk(c))
                    b.append(' ').appendCodePoint(c).append(' ');
                else b.appendCodePoint(c);
            });
            String out = b.toString();
            if (stripAccents) out = StripAccents.strip(out, true);
            if (lowercase) out = Lowercase.lower(out);
            return out;
        }
    }

    /** Lowercases each code point as Rust's {@code char::to_lowercase} does (no final-sigma context). */
    record Lowercase() implements Normalizer {
        static String lower(String s) {
            StringBuilder b = new StringBuilder(s.length());
            for (int i = 0; i < s.length(); ) {
                int c = s.codePointAt(i);
                i += Character.charCount(c);
                if (c < 128) b.append((char) (c >= 'A' && c <= 'Z' ? c + 32 : c));
                else b.append(Character.toString(c).toLowerCase(Locale.ROOT));
            }
            return b.toString();
        }

        @Override
        public String normalize(String s, long maxLength) {
            return lower(s);
        }
    }

    /**
     * NFD, then drop combining marks. The StripAccents normalizer drops Mn, Mc and Me; BertNormalizer's accent
     * stripping only Mn. Both classify by HuggingFace's own Unicode tables ({@link CharClass#isCombiningMark},
     * {@link CharClass#isBertMark}): a mark newer than those tables, such as U+07FD, stays, as it does there.
     */
    record StripAccents() implements Normalizer {
        static String strip(String s, boolean bert) {
            String d = java.text.Normalizer.normalize(s, Form.NFD);
            StringBuilder b = new StringBuilder(d.length());
            d.codePoints()
                    .filter(c -> !(bert ? CharClass.isBertMark(c) : CharClass.isCombiningMark(c)))
                    .forEach(b::appendCodePoint);
            return b.toString();
        }

        @Override
        public String normalize(String s, long maxLength) {
            return strip(s, false);
        }
    }

    /** One of the Unicode normal forms. */
    record Unicode(Form form) implements Normalizer {
        @Override
        public String normalize(String s, long maxLength) {
            return java.text.Normalizer.normalize(s, form);
        }
    }

    /** Prepends a string to non-empty text (Llama 2's "▁"). */
    record Prepend(String prefix, String field) implements Normalizer {
        @Override
        public String normalize(String s, long maxLength) {
            if (s.isEmpty()) return s;
            if ((long) prefix.length() + s.length() > maxLength)
                throw BoundedRegex.failure(
                        field, "prepending " + prefix.length() + " characters grows the text beyond " + maxLength);
            return prefix + s;
        }
    }

    /** Replaces every match of a literal string or a regular expression. */
    record Replace(BoundedRegex pattern, String content) implements Normalizer {
        @Override
        public String normalize(String s, long maxLength) {
            return pattern.replaceAll(s, content, maxLength);
        }
    }

    /** Strips white space at the left and/or right. */
    record Strip(boolean left, boolean right) implements Normalizer {
        @Override
        public String normalize(String s, long maxLength) {
            int a = 0, b = s.length();
            while (left && a < b && CharClass.isWhitespace(s.codePointAt(a)))
                a += Character.charCount(s.codePointAt(a));
            while (right && b > a && CharClass.isWhitespace(s.codePointBefore(b)))
                b -= Character.charCount(s.codePointBefore(b));
            return s.substring(a, b);
        }
    }

    /** Applies normalizers in order; {@code field} names the sequence in errors. */
    record Sequence(List<Normalizer> parts, String field) implements Normalizer {
        @Override
        public String normalize(String s, long maxLength) {
            for (int i = 0; i < parts.size(); i++) {
                s = parts.get(i).normalize(s, maxLength);
                if (s.length() > maxLength)
                    throw BoundedRegex.failure(
                            field + "[" + i + "]",
                            "the text grows to " + s.length() + " characters, beyond " + maxLength);
            }
            return s;
        }
    }

    /** Reads a {@code pattern} object: {"String": literal} or {"Regex": expression}. */
    static BoundedRegex pattern(JsonTree.Node p) throws TokenizerFormatException {
        JsonTree.Node lit = p.opt("String");
        if (lit != null) return new BoundedRegex(Pattern.compile(Pattern.quote(lit.str())), lit.path());
        JsonTree.Node re = p.get("Regex");
        try {
            return new BoundedRegex(Pattern.compile(re.str(), Pattern.UNICODE_CHARACTER_CLASS), re.path());
        } catch (PatternSyntaxException e) {
            throw new TokenizerFormatException(re.path(), "bad regular expression: " + e.getDescription());
        }
    }

    /** Builds a normalizer from its JSON object; {@code null} for JSON null. */
    static Normalizer fromJson(JsonTree.Node n) throws TokenizerFormatException {
        if (n == null || n.isNull()) return null;
        String type = n.get("type").str();
        return switch (type) {
            case "BertNormalizer" -> {
                boolean lower = n.optBool("lowercase", true);
                JsonTree.Node sa = n.opt("strip_accents");
                yield new Bert(
                        n.optBool("clean_text", true),
                        n.optBool("handle_chinese_chars", true),
                        sa == null ? lower : sa.bool(),
                        lower);
            }
            case "Lowercase" -> new Lowercase();
            case "StripAccents" -> new StripAccents();
            case "NFC" -> new Unicode(Form.NFC);
            case "NFD" -> new Unicode(Form.NFD);
            case "NFKC" -> new Unicode(Form.NFKC);
            case "NFKD" -> new Unicode(Form.NFKD);
            case "Prepend" -> new Prepend(n.get("prepend").str(), n.path());
            case "Replace" ->
                new Replace(pattern(n.get("pattern")), n.get("content").str());
            case "Strip" -> new Strip(n.optBool("strip_left", true), n.optBool("strip_right", true));
            case "Sequence" -> {
                List<JsonTree.Node> items = n.get("normalizers").array();
                Normalizer[] parts = new Normalizer[items.size()];
                for (int i = 0; i < parts.length; i++) {
                    parts[i] = fromJson(items.get(i));
                    if (parts[i] == null) throw items.get(i).error("null normalizer in a sequence");
                }
                yield new Sequence(List.of(parts), n.get("normalizers").path());
            }
            default -> throw n.get("type").error("unsupported normalizer type '" + type + "'");
        };
    }
}
