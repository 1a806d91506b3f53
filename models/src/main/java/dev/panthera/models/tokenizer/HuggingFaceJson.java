package dev.panthera.models.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builds a {@link Tokenizer} from the JSON tree of a HuggingFace {@code tokenizer.json}. */
final class HuggingFaceJson {
    private HuggingFaceJson() {}

    static Tokenizer load(InputStream in) throws IOException {
        JsonTree.Node root = JsonTree.parse(in, "tokenizer.json");
        if (!root.isObject()) throw root.error("expected an object");
        Model model = model(root.get("model"));
        List<Tokenizer.AddedToken> added = new ArrayList<>();
        JsonTree.Node at = root.opt("added_tokens");
        int limit = model.size() + (at == null ? 0 : at.array().size()) + 1024;
        if (at != null) {
            for (JsonTree.Node t : at.array()) {
                String content = t.get("content").str();
                if (content.isEmpty()) throw t.get("content").error("empty added token");
                added.add(new Tokenizer.AddedToken(
                        content, t.get("id").integer(0, limit - 1), t.optBool("special", false)));
            }
        }
        int size = model.size();
        for (Tokenizer.AddedToken t : added) size = Math.max(size, t.id() + 1);
        int padId = 0;
        JsonTree.Node pad = root.opt("padding");
        if (pad != null) padId = pad.optInt("pad_id", 0, size - 1, 0);
        PostProcessor post = PostProcessor.fromJson(root.opt("post_processor"), size);
        if (post instanceof PostProcessor.Template t) {
            // every id the template inserts must name a token, or decoding what encode returns would fail
            java.util.Set<Integer> addedIds = new java.util.HashSet<>();
            for (Tokenizer.AddedToken a : added) addedIds.add(a.id());
            for (int[] ids : new int[][] {t.before(), t.after()})
                for (int id : ids)
                    if (model.idToToken(id) == null && !addedIds.contains(id))
                        throw root.get("post_processor")
                                .error("special token id " + id + " is neither in the vocabulary nor an added token");
        }
        return new Tokenizer(
                Normalizer.fromJson(root.opt("normalizer")),
                PreTokenizer.fromJson(root.opt("pre_tokenizer")),
                model,
                post,
                Decoder.fromJson(root.opt("decoder")),
                added,
                padId);
    }

    private static Vocab vocab(JsonTree.Node v) throws TokenizerFormatException {
        List<Map.Entry<String, Integer>> entries = new ArrayList<>();
        List<Map.Entry<String, JsonTree.Node>> members = v.entries();
        int limit = 2 * members.size() + 1024;
        for (Map.Entry<String, JsonTree.Node> e : members)
            entries.add(Map.entry(e.getKey(), e.getValue().integer(0, limit - 1)));
        return Vocab.of(entries, v.path());
    }

    private static Model model(JsonTree.Node m) throws TokenizerFormatException {
        String type = m.has("type") ? m.get("type").str() : m.has("merges") ? "BPE" : "WordPiece";
        switch (type) {
            case "BPE": {
                JsonTree.Node dropout = m.opt("dropout");
                if (dropout != null && dropout.num() != 0) throw dropout.error("BPE dropout is not supported");
                List<String[]> merges = new ArrayList<>();
                JsonTree.Node mn = m.opt("merges");
                if (mn != null) {
                    for (JsonTree.Node item : mn.array()) {
                        if (item.isArray()) {
                            List<JsonTree.Node> p = item.array();
                            if (p.size() != 2) throw item.error("expected a pair of tokens");
                            merges.add(new String[] {p.get(0).str(), p.get(1).str()});
                        } else {
                            String s = item.str();
                            int sp = s.indexOf(' ');
                            if (sp < 0 || s.indexOf(' ', sp + 1) >= 0) throw item.error("expected 'left right'");
                            merges.add(new String[] {s.substring(0, sp), s.substring(sp + 1)});
                        }
                    }
                }
                return new BpeModel(
                        vocab(m.get("vocab")),
                        merges,
                        m.optStr("unk_token", null),
                        m.optBool("fuse_unk", false),
                        m.optBool("byte_fallback", false),
                        m.optBool("ignore_merges", false),
                        m.optStr("continuing_subword_prefix", null),
                        m.optStr("end_of_word_suffix", null),
                        m.path());
            }
            case "WordPiece":
                return new WordPieceModel(
                        vocab(m.get("vocab")),
                        m.optStr("unk_token", "[UNK]"),
                        m.optStr("continuing_subword_prefix", "##"),
                        m.optInt("max_input_chars_per_word", 0, Integer.MAX_VALUE, 100),
                        m.path());
            default:
                throw m.get("type").error("unsupported model type '" + type + "'");
        }
    }
}
