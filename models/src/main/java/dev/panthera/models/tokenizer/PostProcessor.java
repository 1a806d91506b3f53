package dev.panthera.models.tokenizer;

import java.util.ArrayList;
import java.util.List;

/** Post-processors of HuggingFace's tokenizer.json: add special tokens ([CLS]/[SEP], BOS) around a sequence. */
sealed interface PostProcessor {
    /** @return the ids with special tokens added */
    int[] process(int[] ids);

    /** @return how many ids {@link #process} adds to one sequence */
    int added();

    /** A template: fixed ids before and after the sequence (TemplateProcessing, BertProcessing, RobertaProcessing). */
    record Template(int[] before, int[] after) implements PostProcessor {
        @Override
        public int[] process(int[] ids) {
            int[] out = new int[before.length + ids.length + after.length];
            System.arraycopy(before, 0, out, 0, before.length);
            System.arraycopy(ids, 0, out, before.length, ids.length);
            System.arraycopy(after, 0, out, before.length + ids.length, after.length);
            return out;
        }

        @Override
        public int added() {
            return before.length + after.length;
        }
    }

    /** Reads the id of a {@code [token, id]} pair. */
    private static int pairId(JsonTree.Node pair, int limit) throws TokenizerFormatException {
        List<JsonTree.Node> a = pair.array();
        if (a.size() != 2) throw pair.error("expected [token, id]");
        a.get(0).str();
        return a.get(1).integer(0, limit - 1);
    }

    /**
     * Builds a post-processor from its JSON object; {@code null} for JSON null and for processors that add no ids.
     * @param limit one more than the largest valid id
     */
    static PostProcessor fromJson(JsonTree.Node n, int limit) throws TokenizerFormatException {
        if (n == null || n.isNull()) return null;
        String type = n.get("type").str();
        switch (type) {
            case "ByteLevel":
                return null;
            case "BertProcessing":
            case "RobertaProcessing":
                return new Template(new int[] {pairId(n.get("cls"), limit)}, new int[] {pairId(n.get("sep"), limit)});
            case "TemplateProcessing": {
                JsonTree.Node specials = n.get("special_tokens");
                List<Integer> before = new ArrayList<>(), after = new ArrayList<>();
                boolean seenA = false;
                for (JsonTree.Node item : n.get("single").array()) {
                    if (item.has("Sequence")) {
                        String id = item.get("Sequence").get("id").str();
                        if (!id.equals("A") || seenA)
                            throw item.get("Sequence").get("id").error("expected one sequence A");
                        seenA = true;
                    } else {
                        JsonTree.Node st = item.get("SpecialToken");
                        String name = st.get("id").str();
                        JsonTree.Node def = specials.opt(name);
                        if (def == null) throw new TokenizerFormatException(specials.path() + "." + name, "missing");
                        for (JsonTree.Node idn : def.get("ids").array())
                            (seenA ? after : before).add(idn.integer(0, limit - 1));
                    }
                }
                if (!seenA) throw n.get("single").error("template has no sequence A");
                return new Template(
                        before.stream().mapToInt(Integer::intValue).toArray(),
                        after.stream().mapToInt(Integer::intValue).toArray());
            }
            case "Sequence": {
                List<Integer> before = new ArrayList<>(), after = new ArrayList<>();
                for (JsonTree.Node item : n.get("processors").array()) {
                    PostProcessor p = fromJson(item, limit);
                    if (p instanceof Template t) {
                        for (int i = t.before.length - 1; i >= 0; i--) before.addFirst(t.before[i]);
                        for (int v : t.after) after.add(v);
                    }
                }
                return new Template(
                        before.stream().mapToInt(Integer::intValue).toArray(),
                        after.stream().mapToInt(Integer::intValue).toArray());
            }
            default:
                throw n.get("type").error("unsupported post-processor type '" + type + "'");
        }
    }
}
