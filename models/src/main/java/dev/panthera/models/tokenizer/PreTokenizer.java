package dev.panthera.models.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Pre-tokenizers of HuggingFace's tokenizer.json ({@code pre_tokenizer} field): text → pieces for the model. */
sealed interface PreTokenizer {
    /**
     * Appends the pieces of {@code s} to {@code out}.
     * @param first whether {@code s} is the first text segment of the input (Metaspace's "first" scheme)
     */
    void split(String s, boolean first, List<String> out);

    /** GPT-2 byte level: optional prefix space, the GPT-2 regex, then bytes mapped to printable characters. */
    record ByteLevelSplit(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        @Override
        public void split(String s, boolean first, List<String> out) {
            if (addPrefixSpace && !s.startsWith(" ")) s = " " + s;
            if (!useRegex) {
                out.add(ByteLevel.toByteChars(s));
                return;
            }
            int from = out.size();
            ByteLevel.split(s, out);
            for (int i = from; i < out.size(); i++) out.set(i, ByteLevel.toByteChars(out.get(i)));
        }
    }

    /** BERT: split on white space (dropped) and isolate each punctuation character. */
    record Bert() implements PreTokenizer {
        @Override
        public void split(String s, boolean first, List<String> out) {
            int start = -1;
            for (int i = 0; i < s.length(); ) {
                int c = s.codePointAt(i);
                int e = i + Character.charCount(c);
                if (CharClass.isWhitespace(c) || CharClass.isPunctuation(c)) {
                    if (start >= 0) out.add(s.substring(start, i));
                    start = -1;
                    if (!CharClass.isWhitespace(c)) out.add(s.substring(i, e));
                } else if (start < 0) {
                    start = i;
                }
                i = e;
            }
            if (start >= 0) out.add(s.substring(start));
        }
    }

    /** SentencePiece's metaspace: spaces become {@code replacement}, optionally prefixed, optionally split before it. */
    record Metaspace(String replacement, String prependScheme, boolean splitPieces) implements PreTokenizer {
        @Override
        public void split(String s, boolean first, List<String> out) {
            s = s.replace(" ", replacement);
            boolean prepend = prependScheme.equals("always") || (prependScheme.equals("first") && first);
            if (prepend && !s.startsWith(replacement)) s = replacement + s;
            if (!splitPieces) {
                if (!s.isEmpty()) out.add(s);
                return;
            }
            int start = 0;
            for (int i = s.indexOf(replacement, 1); i > 0; i = s.indexOf(replacement, i + 1)) {
                if (i > start) out.add(s.substring(start, i));
                start = i;
            }
            if (start < s.length()) out.add(s.substring(start));
        }
    }

    /** Splits on a pattern with HuggingFace's behaviours (Removed, Isolated, MergedWithPrevious/Next, Contiguous). */
    record Split(BoundedRegex pattern, String behavior, boolean invert) implements PreTokenizer {
        @Override
        public void split(String s, boolean first, List<String> out) {
            List<int[]> spans = new ArrayList<>(); // start, end, isMatch
            Matcher m = pattern.matcher(s);
            int prev = 0;
            while (pattern.find(m)) {
                if (m.end() == m.start()) continue;
                if (m.start() > prev) spans.add(new int[] {prev, m.start(), invert ? 1 : 0});
                spans.add(new int[] {m.start(), m.end(), invert ? 0 : 1});
                prev = m.end();
            }
            if (prev < s.length()) spans.add(new int[] {prev, s.length(), invert ? 1 : 0});
            int pendingStart = -1; // for MergedWithNext / Contiguous
            for (int k = 0; k < spans.size(); k++) {
                int[] sp = spans.get(k);
                boolean match = sp[2] == 1;
                switch (behavior) {
                    case "Removed" -> {
                        if (!match) out.add(s.substring(sp[0], sp[1]));
                    }
                    case "Isolated" -> out.add(s.substring(sp[0], sp[1]));
                    case "MergedWithPrevious" -> {
                        if (match && k > 0 && spans.get(k - 1)[2] == 0)
                            out.set(out.size() - 1, s.substring(spans.get(k - 1)[0], sp[1]));
                        else out.add(s.substring(sp[0], sp[1]));
                    }
                    case "MergedWithNext" -> {
                        if (match && pendingStart < 0) pendingStart = sp[0];
                        else if (match) {
                            out.add(s.substring(pendingStart, sp[0]));
                            pendingStart = sp[0];
                        } else {
                            out.add(s.substring(pendingStart >= 0 ? pendingStart : sp[0], sp[1]));
                            pendingStart = -1;
                        }
                    }
                    default -> { // Contiguous
                        if (match && k > 0 && spans.get(k - 1)[2] == 1)
                            out.set(out.size() - 1, s.substring(spans.get(k - 1)[0], sp[1]));
                        else out.add(s.substring(sp[0], sp[1]));
                    }
                }
            }
            if (pendingStart >= 0) out.add(s.substring(pendingStart));
        }
    }

    /** Applies pre-tokenizers in order, each to every piece of the one before. */
    record Sequence(List<PreTokenizer> parts) implements PreTokenizer {
        @Override
        public void split(String s, boolean first, List<String> out) {
            List<String> cur = new ArrayList<>(List.of(s));
            for (PreTokenizer p : parts) {
                List<String> next = new ArrayList<>();
                for (String piece : cur) p.split(piece, first, next);
                cur = next;
            }
            out.addAll(cur);
        }
    }

    private static BoundedRegex regex(String re, String path) throws TokenizerFormatException {
        try {
            return new BoundedRegex(Pattern.compile(re, Pattern.UNICODE_CHARACTER_CLASS), path);
        } catch (PatternSyntaxException e) {
            throw new TokenizerFormatException(path, "bad regular expression: " + e.getDescription());
        }
    }

    /** Builds a pre-tokenizer from its JSON object; {@code null} for JSON null. */
    static PreTokenizer fromJson(JsonTree.Node n) throws TokenizerFormatException {
        if (n == null || n.isNull()) return null;
        String type = n.get("type").str();
        return switch (type) {
            case "ByteLevel" -> new ByteLevelSplit(n.optBool("add_prefix_space", true), n.optBool("use_regex", true));
            case "BertPreTokenizer" -> new Bert();
            case "Whitespace" -> new Split(regex("\\w+|[^\\w\\s]+", n.path()), "Removed", true);
            case "WhitespaceSplit" -> new Split(regex("\\s+", n.path()), "Removed", false);
            case "Digits" ->
                new Split(
                        regex(n.optBool("individual_digits", false) ? "\\p{N}" : "\\p{N}+", n.path()),
                        "Isolated",
                        false);
            case "Metaspace" -> {
                String scheme = n.has("prepend_scheme")
                        ? n.get("prepend_scheme").str()
                        : n.optBool("add_prefix_space", true) ? "always" : "never";
                if (!List.of("always", "first", "never").contains(scheme))
                    throw n.get("prepend_scheme").error("expected always, first or never");
                String rep = n.get("replacement").str();
                if (rep.isEmpty()) throw n.get("replacement").error("empty replacement");
                yield new Metaspace(rep, scheme, n.optBool("split", true));
            }
            case "Split" -> {
                JsonTree.Node p = n.get("pattern");
                BoundedRegex pat = p.has("String")
                        ? new BoundedRegex(
                                Pattern.compile(Pattern.quote(p.get("String").str())), p.path() + ".String")
                        : regex(p.get("Regex").str(), p.path() + ".Regex");
                String beh = n.get("behavior").str();
                if (!List.of("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous")
                        .contains(beh)) throw n.get("behavior").error("unsupported split behavior '" + beh + "'");
                yield new Split(pat, beh, n.optBool("invert", false));
            }
            case "Sequence" -> {
                List<JsonTree.Node> items = n.get("pretokenizers").array();
                PreTokenizer[] parts = new PreTokenizer[items.size()];
                for (int i = 0; i < parts.length; i++) {
                    parts[i] = fromJson(items.get(i));
                    if (parts[i] == null) throw items.get(i).error("null pre-tokenizer in a sequence");
                }
                yield new Sequence(List.of(parts));
            }
            default -> throw n.get("type").error("unsupported pre-tokenizer type '" + type + "'");
        };
    }
}
