package dev.panthera.models.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Decoders of HuggingFace's tokenizer.json: a chain from token strings back to text. */
sealed interface Decoder {
    List<String> decodeChain(List<String> tokens);

    /** Byte-level: byte characters back to bytes, then UTF-8 (invalid sequences become U+FFFD). */
    record ByteLevelDecoder() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (String t : tokens) ByteLevel.fromByteChars(t, b);
            return List.of(b.toString(StandardCharsets.UTF_8));
        }
    }

    /** WordPiece: drop the continuation prefix, put a space before other pieces, optionally clean up. */
    record WordPiece(String prefix, boolean cleanup) implements Decoder {
        static String clean(String s) {
            return s.replace(" .", ".")
                    .replace(" ?", "?")
                    .replace(" !", "!")
                    .replace(" ,", ",")
                    .replace(" ' ", "'")
                    .replace(" n't", "n't")
                    .replace(" 'm", "'m")
                    .replace(" do not", " don't")
                    .replace(" 's", "'s")
                    .replace(" 've", "'ve")
                    .replace(" 're", "'re");
        }

        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i);
                if (i != 0) t = t.startsWith(prefix) ? t.substring(prefix.length()) : " " + t;
                out.add(cleanup ? clean(t) : t);
            }
            return out;
        }
    }

    /** Replaces a pattern in each token. */
    record Replace(BoundedRegex pattern, String content) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) out.add(pattern.replaceAll(t, content, Normalizer.maxLength(t.length())));
            return out;
        }
    }

    /** Runs of {@code <0xNN>} tokens become their UTF-8 text, or one U+FFFD per byte when not valid UTF-8. */
    record ByteFallback() implements Decoder {
        static int byteOf(String t) {
            if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') return -1;
            int hi = Character.digit(t.charAt(3), 16), lo = Character.digit(t.charAt(4), 16);
            return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }

        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            ByteArrayOutputStream pending = new ByteArrayOutputStream();
            for (String t : tokens) {
                int b = byteOf(t);
                if (b >= 0) {
                    pending.write(b);
                    continue;
                }
                flush(pending, out);
                out.add(t);
            }
            flush(pending, out);
            return out;
        }

        private static void flush(ByteArrayOutputStream pending, List<String> out) {
            if (pending.size() == 0) return;
            byte[] bytes = pending.toByteArray();
            pending.reset();
            try {
                out.add(StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes))
                        .toString());
            } catch (CharacterCodingException e) {
                for (int i = 0; i < bytes.length; i++) out.add("\uFFFD");
            }
        }
    }

    /** Joins all tokens into one. */
    record Fuse() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing copies of a character from each token. */
    record Strip(char content, int start, int stop) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                int a = 0, b = t.length();
                while (a < start && a < b && t.charAt(a) == content) a++;
                while (t.length() - b < stop && b > a && t.charAt(b - 1) == content) b--;
                out.add(t.substring(a, b));
            }
            return out;
        }
    }

    /** SentencePiece's metaspace: the replacement back to spaces; in the first token (when prefixed) dropped. */
    record Metaspace(String replacement, boolean prefixed) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                // as HuggingFace: in the first token every replacement is dropped, not only a leading one
                out.add(tokens.get(i).replace(replacement, i == 0 && prefixed ? "" : " "));
            }
            return out;
        }
    }

    /** Applies decoders in order. */
    record Sequence(List<Decoder> parts) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            for (Decoder d : parts) tokens = d.decodeChain(tokens);
            return tokens;
        }
    }

    /** Builds a decoder from its JSON object; {@code null} for JSON null. */
    static Decoder fromJson(JsonTree.Node n) throws TokenizerFormatException {
        if (n == null || n.isNull()) return null;
        String type = n.get("type").str();
        return switch (type) {
            case "ByteLevel" -> new ByteLevelDecoder();
            case "WordPiece" -> new WordPiece(n.optStr("prefix", "##"), n.optBool("cleanup", true));
            case "Replace" ->
                new Replace(
                        Normalizer.pattern(n.get("pattern")), n.get("content").str());
            case "ByteFallback" -> new ByteFallback();
            case "Fuse" -> new Fuse();
            case "Strip" -> {
                String c = n.get("content").str();
                if (c.length() != 1) throw n.get("content").error("expected one character");
                yield new Strip(
                        c.charAt(0),
                        n.optInt("start", 0, Integer.MAX_VALUE, 0),
                        n.optInt("stop", 0, Integer.MAX_VALUE, 0));
            }
            case "Metaspace" -> {
                String scheme = n.has("prepend_scheme")
                        ? n.get("prepend_scheme").str()
                        : n.optBool("add_prefix_space", true) ? "always" : "never";
                String rep = n.get("replacement").str();
                if (rep.isEmpty()) throw n.get("replacement").error("empty replacement");
                yield new Metaspace(rep, !scheme.equals("never"));
            }
            case "Sequence" -> {
                List<JsonTree.Node> items = n.get("decoders").array();
                Decoder[] parts = new Decoder[items.size()];
                for (int i = 0; i < parts.length; i++) {
                    parts[i] = fromJson(items.get(i));
                    if (parts[i] == null) throw items.get(i).error("null decoder in a sequence");
                }
                yield new Sequence(List.of(parts));
            }
            default -> throw n.get("type").error("unsupported decoder type '" + type + "'");
        };
    }
}
