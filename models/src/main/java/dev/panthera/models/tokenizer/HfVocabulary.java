package dev.panthera.models.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The tokenizer of a HuggingFace model folder as GGUF's {@code tokenizer.ggml.*} arrays, laid out as llama.cpp's
 * convert_hf_to_gguf.py lays them out, so that llama.cpp and {@link Tokenizer#fromGgufVocab} tokenize like the folder.
 *
 * <ul>
 *   <li>A {@code tokenizer.model} (SentencePiece BPE, Llama 2 / Mistral): model {@code "llama"}, each piece with its
 *       score and type (unknown 2, control 3, user-defined 4, unused 5, byte 6, else normal 1); ids of
 *       {@code added_tokens.json} past the pieces as user-defined, and {@code added_tokens_decoder} of
 *       tokenizer_config.json as control (special) or user-defined, score -1000. llama.cpp's converter types
 *       SentencePiece user-defined pieces as normal; they stay user-defined here, which is how HuggingFace's
 *       converted tokenizers treat them (matched whole in the text).
 *   <li>A {@code tokenizer.json} BPE model with byte fallback (a Llama-style tokenizer without tokenizer.model): model
 *       {@code "llama"}, {@code <0xNN>} tokens as bytes, added tokens as control or user-defined. llama.cpp's
 *       converter gives every such token the score -1000, which leaves its SentencePiece merge order to position alone;
 *       here the token a merge creates scores minus that merge's rank (the first merge scores highest), the order
 *       HuggingFace applies the merges in, and tokens no merge creates score -1e9.
 *   <li>A {@code tokenizer.json} byte-level BPE: model {@code "gpt2"}, the merges as "left right" strings (a space
 *       inside a merge list entry written as U+0120, as llama.cpp does), no scores, and pre-tokenizer {@code "gpt-2"}
 *       (GPT-2's split: a ByteLevel pre-tokenizer with its regex) or {@code "llama-bpe"} (Llama 3's: its Split regex,
 *       then ByteLevel without one, and ignore_merges). Another split or a normalizer is refused: llama.cpp, which
 *       picks the split by this name, and the GGUF reader here would tokenize it differently.
 * </ul>
 *
 * Ids below the config's vocab_size that no token fills become {@code [PAD<i>]} of type unused. The BOS, EOS, UNK and
 * PAD ids come from tokenizer_config.json's {@code <type>_token} looked up among the added tokens, else config.json's
 * {@code <type>_token_id}; whether BOS and EOS are added from tokenizer_config.json's {@code add_bos_token} /
 * {@code add_eos_token}, else from tokenizer.json's TemplateProcessing post-processor, else a SentencePiece model adds
 * BOS and a GPT-2 one does not (HuggingFace's defaults).
 *
 * @param model {@code tokenizer.ggml.model}: "llama" or "gpt2"
 * @param pre {@code tokenizer.ggml.pre}: "default", "gpt-2" or "llama-bpe"
 * @param merges the merges of a "gpt2" model, else null
 * @param scores the scores of a "llama" model, else null
 * @param bos a token id or -1 (likewise eos, unk, pad)
 * @param addSpacePrefix whether a "llama" model prepends "▁" to the text
 */
public record HfVocabulary(
        String model,
        String pre,
        String[] tokens,
        float[] scores,
        int[] types,
        String[] merges,
        int bos,
        int eos,
        int unk,
        int pad,
        boolean addBos,
        boolean addEos,
        boolean addSpacePrefix) {
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x[0-9A-Fa-f]{2}>");
    private static final String GPT2_SPLIT =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

    /**
     * Reads the tokenizer of {@code dir} (tokenizer.model preferred, as llama.cpp's converter prefers it, else
     * tokenizer.json) for a model of {@code vocabSize} embedding rows; null when the folder has neither file.
     *
     * @throws TokenizerFormatException naming the file and field when the tokenizer is of a kind GGUF's llama or gpt2
     *     vocabularies cannot carry, or has more tokens than {@code vocabSize}
     */
    public static HfVocabulary read(Path dir, int vocabSize) throws IOException {
        Path spm = dir.resolve("tokenizer.model"), json = dir.resolve("tokenizer.json");
        JsonTree.Node tok = Files.isRegularFile(json) ? parse(json, "tokenizer.json") : null;
        Path cfgFile = dir.resolve("tokenizer_config.json");
        JsonTree.Node cfg = Files.isRegularFile(cfgFile) ? parse(cfgFile, "tokenizer_config.json") : null;
        Path modelCfgFile = dir.resolve("config.json");
        JsonTree.Node modelCfg = Files.isRegularFile(modelCfgFile) ? parse(modelCfgFile, "config.json") : null;
        Builder b;
        if (Files.isRegularFile(spm)) {
            long size = Files.size(spm);
            if (size > 1L << 28)
                throw new TokenizerFormatException("tokenizer.model", "file of " + size + " bytes exceeds 256 MiB");
            b = sentencePiece(SentencePieceModel.parse(Files.readAllBytes(spm)), vocabSize, dir, cfg);
        } else if (tok != null) {
            JsonTree.Node m = tok.get("model");
            String type = m.optStr("type", "BPE");
            if (!type.equals("BPE"))
                throw new TokenizerFormatException(
                        "tokenizer.json:model.type", "convert writes BPE vocabularies only, got '" + type + "'");
            b = m.optBool("byte_fallback", false) ? llamaJson(tok, vocabSize) : gpt2Json(tok, vocabSize);
        } else return null;
        b.special(tok, cfg, modelCfg);
        return new HfVocabulary(
                b.model,
                b.pre,
                b.tokens,
                b.scores,
                b.types,
                b.merges,
                b.ids[0],
                b.ids[1],
                b.ids[2],
                b.ids[3],
                b.addBos,
                b.addEos,
                b.addSpacePrefix);
    }

    private static JsonTree.Node parse(Path p, String name) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            return JsonTree.parse(in, name);
        }
    }

    /** The arrays under construction: {@code vocabSize} slots, unfilled ones {@code [PAD<i>]} unused. */
    private static final class Builder {
        final String model;
        String pre = "default";
        final String[] tokens;
        final float[] scores;
        final int[] types;
        String[] merges;
        final int[] ids = {-1, -1, -1, -1}; // bos, eos, unk, pad
        /** The ids a tokenizer.model names, used where neither config file names one. */
        final int[] fallback = {-1, -1, -1, -1};

        boolean addBos, addEos, addSpacePrefix = true;
        /** The added tokens of tokenizer.json (content → id), where special ids are looked up. */
        final Map<String, Integer> added = new HashMap<>();

        Builder(String model, int n, boolean withScores) {
            this.model = model;
            tokens = new String[n];
            types = new int[n];
            scores = withScores ? new float[n] : null;
            for (int i = 0; i < n; i++) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = UNUSED;
                if (scores != null) scores[i] = -1000;
            }
            addBos = model.equals("llama");
        }

        void set(int id, String token, float score, int type, String field, int n) throws TokenizerFormatException {
            if (id < 0 || id >= n)
                throw new TokenizerFormatException(
                        field, "token id " + id + " outside the model's vocab_size " + n + " (config.json)");
            tokens[id] = token;
            types[id] = type;
            if (scores != null) scores[id] = score;
        }

        void addedTokens(JsonTree.Node tok, int n) throws TokenizerFormatException {
            JsonTree.Node list = tok == null ? null : tok.opt("added_tokens");
            if (list == null) return;
            for (JsonTree.Node a : list.array()) {
                int id = a.get("id").integer(0, Integer.MAX_VALUE);
                String content = a.get("content").str();
                added.putIfAbsent(content, id);
                boolean special = a.optBool("special", false);
                int type = special ? CONTROL : USER_DEFINED;
                if (id < n && types[id] == UNKNOWN) type = UNKNOWN;
                set(id, content, -1000, type, a.path(), n);
            }
        }

        /** Special ids and add-BOS/EOS flags, in llama.cpp's SpecialVocab order (see the class comment). */
        void special(JsonTree.Node tok, JsonTree.Node cfg, JsonTree.Node modelCfg) throws TokenizerFormatException {
            String[] kinds = {"bos", "eos", "unk", "pad"};
            for (int k = 0; k < kinds.length; k++) {
                String content = cfg == null ? null : tokenContent(cfg.opt(kinds[k] + "_token"));
                if (content != null && added.containsKey(content)) ids[k] = added.get(content);
                if (ids[k] < 0 && modelCfg != null && modelCfg.opt(kinds[k] + "_token_id") != null) {
                    JsonTree.Node v = modelCfg.get(kinds[k] + "_token_id");
                    if (v.isArray()) v = v.array().isEmpty() ? null : v.array().get(0);
                    if (v != null) ids[k] = v.integer(0, Integer.MAX_VALUE);
                }
                if (ids[k] < 0) ids[k] = fallback[k];
                if (ids[k] >= tokens.length)
                    throw new TokenizerFormatException(
                            kinds[k] + "_token", "id " + ids[k] + " outside the vocabulary of " + tokens.length);
            }
            Boolean bos = null, eos = null;
            JsonTree.Node post = tok == null ? null : tok.opt("post_processor");
            if (post != null && post.optStr("type", "").equals("TemplateProcessing")) {
                List<JsonTree.Node> single = post.get("single").array();
                bos = !single.isEmpty() && isSpecial(single.getFirst(), ids[0]);
                eos = single.size() > 1 && isSpecial(single.getLast(), ids[1]);
            }
            if (cfg != null && cfg.opt("add_bos_token") != null)
                bos = cfg.get("add_bos_token").bool();
            if (cfg != null && cfg.opt("add_eos_token") != null)
                eos = cfg.get("add_eos_token").bool();
            if (bos != null) addBos = bos;
            if (eos != null) addEos = eos;
            if (addBos && ids[0] < 0) throw new TokenizerFormatException("bos_token", "BOS is added but has no id");
        }

        private boolean isSpecial(JsonTree.Node piece, int id) throws TokenizerFormatException {
            JsonTree.Node s = piece.opt("SpecialToken");
            return s != null && id >= 0 && s.get("id").str().equals(tokens[id]);
        }

        private static String tokenContent(JsonTree.Node n) throws TokenizerFormatException {
            if (n == null) return null;
            if (n.isObject())
                return n.opt("content") == null ? null : n.get("content").str();
            return n.value() instanceof String s ? s : null;
        }
    }

    private static Builder sentencePiece(SentencePieceModel.Proto p, int n, Path dir, JsonTree.Node cfg)
            throws IOException {
        if (!p.bpe())
            throw new TokenizerFormatException(
                    "tokenizer.model:trainer_spec.model_type",
                    "convert writes SentencePiece BPE vocabularies (GGUF 'llama') only, got type " + p.modelType());
        int pieces = p.pieces().length;
        if (pieces > n)
            throw new TokenizerFormatException(
                    "tokenizer.model:pieces", pieces + " pieces for a model of vocab_size " + n + " (config.json)");
        Builder b = new Builder("llama", n, true);
        for (int i = 0; i < pieces; i++)
            b.set(i, p.pieces()[i], p.scores()[i], p.types()[i], "tokenizer.model:pieces[" + i + "]", n);
        Path addedFile = dir.resolve("added_tokens.json");
        if (Files.isRegularFile(addedFile)) {
            for (var e : parse(addedFile, "added_tokens.json").entries()) {
                int id = e.getValue().integer(0, Integer.MAX_VALUE);
                if (id >= pieces)
                    b.set(id, e.getKey(), -1000, USER_DEFINED, e.getValue().path(), n);
                b.added.putIfAbsent(e.getKey(), id);
            }
        }
        JsonTree.Node dec = cfg == null ? null : cfg.opt("added_tokens_decoder");
        if (dec != null) {
            for (var e : dec.entries()) {
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException x) {
                    throw new TokenizerFormatException(e.getValue().path(), "key is not a token id");
                }
                String content = e.getValue().get("content").str();
                boolean special = e.getValue().optBool("special", false);
                int type = special ? (id < n && b.types[id] == UNKNOWN ? UNKNOWN : CONTROL) : USER_DEFINED;
                // llama.cpp stores user-defined spaces as spaces, not "▁"
                if (!special) content = content.replace('\u2581', ' ');
                b.set(id, content, -1000, type, e.getValue().path(), n);
                b.added.putIfAbsent(content, id);
            }
        }
        for (int i = 0; i < pieces; i++) b.added.putIfAbsent(p.pieces()[i], i);
        int[] specials = {p.bos(), p.eos(), p.unk()};
        System.arraycopy(specials, 0, b.fallback, 0, 3);
        b.addSpacePrefix = p.dummyPrefix();
        return b;
    }

    private static Builder llamaJson(JsonTree.Node tok, int n) throws TokenizerFormatException {
        JsonTree.Node m = tok.get("model");
        Builder b = new Builder("llama", n, true);
        List<String[]> merges = merges(m.get("merges"));
        Map<String, Integer> created = new HashMap<>();
        for (int r = 0; r < merges.size(); r++) created.putIfAbsent(merges.get(r)[0] + merges.get(r)[1], r);
        String unk = m.optStr("unk_token", null);
        for (var e : m.get("vocab").entries()) {
            String t = e.getKey();
            int id = e.getValue().integer(0, Integer.MAX_VALUE);
            int type = BYTE_TOKEN.matcher(t).matches() ? BYTE : t.equals(unk) ? UNKNOWN : NORMAL;
            Integer rank = created.get(t);
            b.set(id, t, rank == null ? -1e9f : -rank, type, e.getValue().path(), n);
        }
        b.addedTokens(tok, n);
        b.addSpacePrefix = prependsSpace(tok);
        return b;
    }

    /** Whether the normalizer or pre-tokenizer of a SentencePiece-style tokenizer.json puts "▁" before the text. */
    private static boolean prependsSpace(JsonTree.Node tok) throws TokenizerFormatException {
        for (String part : new String[] {"normalizer", "pre_tokenizer"}) {
            JsonTree.Node n = tok.opt(part);
            if (n == null) continue;
            List<JsonTree.Node> steps = n.opt("normalizers") != null
                    ? n.get("normalizers").array()
                    : n.opt("pretokenizers") != null ? n.get("pretokenizers").array() : List.of(n);
            for (JsonTree.Node s : steps) {
                String type = s.optStr("type", "");
                if (type.equals("Prepend") && s.optStr("prepend", "").equals("\u2581")) return true;
                if (type.equals("Metaspace")
                        && !s.optStr("prepend_scheme", "always").equals("never")) return true;
            }
        }
        return false;
    }

    private static Builder gpt2Json(JsonTree.Node tok, int n) throws TokenizerFormatException {
        JsonTree.Node m = tok.get("model");
        if (tok.opt("normalizer") != null)
            throw new TokenizerFormatException(
                    "tokenizer.json:normalizer", "a byte-level BPE with a normalizer is not written to GGUF");
        String split = byteLevelSplit(tok.opt("pre_tokenizer"), m.optBool("ignore_merges", false));
        if (split == null)
            throw new TokenizerFormatException(
                    "tokenizer.json:pre_tokenizer",
                    "convert writes byte-level BPE with GPT-2's split (ByteLevel, add_prefix_space false, use_regex"
                            + " true: GGUF pre 'gpt-2' = " + GPT2_SPLIT + ") or Llama 3's (Split of its regex,"
                            + " Isolated, then ByteLevel with use_regex false, model.ignore_merges true: 'llama-bpe')"
                            + " only");
        Builder b = new Builder("gpt2", n, false);
        b.pre = split;
        for (var e : m.get("vocab").entries())
            b.set(
                    e.getValue().integer(0, Integer.MAX_VALUE),
                    e.getKey(),
                    0,
                    NORMAL,
                    e.getValue().path(),
                    n);
        b.addedTokens(tok, n);
        List<String[]> merges = merges(m.get("merges"));
        b.merges = new String[merges.size()];
        for (int i = 0; i < b.merges.length; i++)
            b.merges[i] = merges.get(i)[0].replace(' ', '\u0120') + " " + merges.get(i)[1].replace(' ', '\u0120');
        b.addSpacePrefix = false;
        return b;
    }

    /** GGUF's name for a byte-level pre-tokenizer ("gpt-2" or "llama-bpe"), or null for another split. */
    private static String byteLevelSplit(JsonTree.Node pre, boolean ignoreMerges) throws TokenizerFormatException {
        if (pre == null) return null;
        String type = pre.optStr("type", "");
        if (type.equals("ByteLevel"))
            return !pre.optBool("add_prefix_space", true) && pre.optBool("use_regex", true) && !ignoreMerges
                    ? "gpt-2"
                    : null;
        if (!type.equals("Sequence") || !ignoreMerges) return null;
        List<JsonTree.Node> steps = pre.get("pretokenizers").array();
        if (steps.size() != 2) return null;
        JsonTree.Node split = steps.get(0), bytes = steps.get(1);
        JsonTree.Node pattern = split.opt("pattern");
        boolean llama3 = split.optStr("type", "").equals("Split")
                && pattern != null
                && pattern.opt("Regex") != null
                && pattern.get("Regex").str().equals(VocabFiles.LLAMA3_SPLIT)
                && split.optStr("behavior", "").equals("Isolated")
                && !split.optBool("invert", false)
                && bytes.optStr("type", "").equals("ByteLevel")
                && !bytes.optBool("add_prefix_space", true)
                && !bytes.optBool("use_regex", true);
        return llama3 ? "llama-bpe" : null;
    }

    /** tokenizer.json merges: "left right" strings or [left, right] pairs. */
    private static List<String[]> merges(JsonTree.Node list) throws TokenizerFormatException {
        List<JsonTree.Node> a = list.array();
        List<String[]> out = new java.util.ArrayList<>(a.size());
        for (JsonTree.Node e : a) {
            if (e.isArray()) {
                List<JsonTree.Node> pair = e.array();
                if (pair.size() != 2) throw e.error("expected [left, right]");
                out.add(new String[] {pair.get(0).str(), pair.get(1).str()});
            } else {
                String s = e.str();
                int sp = s.indexOf(' ');
                if (sp < 0 || s.indexOf(' ', sp + 1) >= 0) throw e.error("expected 'left right'");
                out.add(new String[] {s.substring(0, sp), s.substring(sp + 1)});
            }
        }
        return out;
    }
}
