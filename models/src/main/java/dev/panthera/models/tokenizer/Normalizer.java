package dev.panthera.models.tokenizer;

import java.text.Normalizer.Form;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Text normalizers of HuggingFace's tokenizer.json ({@code normalizer} field). */
sealed interface Normalizer {
    String normalize(String s);

    /** BERT's: drop control characters, whitespace to ' ', space around CJK ideographs, strip accents, lowercase. */
    record Bert(boolean cleanText, boolean chineseChars, boolean stripAccents, boolean lowercase)
            implements Normalizer {
        @Override
        public String normalize(String s) {
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
            if (stripAccents) out = StripAccents.strip(out);
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
        public String normalize(String s) {
            return lower(s);
        }
    }

    /** NFD, then drop nonspacing marks (Unicode category Mn). */
    record StripAccents() implements Normalizer {
        static String strip(String s) {
            String d = java.text.Normalizer.normalize(s, Form.NFD);
            StringBuilder b = new StringBuilder(d.length());
            d.codePoints()
                    .filter(c -> Character.getType(c) != Character.NON_SPACING_MARK)
                    .forEach(b::appendCodePoint);
            return b.toString();
        }

        @Override
        public String normalize(String s) {
            return strip(s);
        }
    }

    /** One of the Unicode normal forms. */
    record Unicode(Form form) implements Normalizer {
        @Override
        public String normalize(String s) {
            return java.text.Normalizer.normalize(s, form);
        }
    }

    /** Prepends a string to non-empty text (Llama 2's "▁"). */
    record Prepend(String prefix) implements Normalizer {
        @Override
        public String normalize(String s) {
            return s.isEmpty() ? s : prefix + s;
        }
    }

    /** Replaces every match of a literal string or a regular expression. */
    record Replace(Pattern pattern, String content) implements Normalizer {
        @Override
        public String normalize(String s) {
            return pattern.matcher(s).replaceAll(Matcher.quoteReplacement(content));
        }
    }

    /** Strips white space at the left and/or right. */
    record Strip(boolean left, boolean right) implements Normalizer {
        @Override
        public String normalize(String s) {
            int a = 0, b = s.length();
            while (left && a < b && CharClass.isWhitespace(s.codePointAt(a)))
                a += Character.charCount(s.codePointAt(a));
            while (right && b > a && CharClass.isWhitespace(s.codePointBefore(b)))
                b -= Character.charCount(s.codePointBefore(b));
            return s.substring(a, b);
        }
    }

    /** Applies normalizers in order. */
    record Sequence(List<Normalizer> parts) implements Normalizer {
        @Override
        public String normalize(String s) {
            for (Normalizer n : parts) s = n.normalize(s);
            return s;
        }
    }

    /** Reads a {@code pattern} object: {"String": literal} or {"Regex": expression}. */
    static Pattern pattern(JsonTree.Node p) throws TokenizerFormatException {
        JsonTree.Node lit = p.opt("String");
        if (lit != null) return Pattern.compile(Pattern.quote(lit.str()));
        JsonTree.Node re = p.get("Regex");
        try {
            return Pattern.compile(re.str(), Pattern.UNICODE_CHARACTER_CLASS);
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
            case "Prepend" -> new Prepend(n.get("prepend").str());
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
                yield new Sequence(List.of(parts));
            }
            default -> throw n.get("type").error("unsupported normalizer type '" + type + "'");
        };
    }
}
