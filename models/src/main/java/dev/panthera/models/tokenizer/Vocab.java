package dev.panthera.models.tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A token ↔ id table with validated, bounded ids. */
final class Vocab {
    final Map<String, Integer> ids;
    final String[] tokens;

    private Vocab(Map<String, Integer> ids, String[] tokens) {
        this.ids = ids;
        this.tokens = tokens;
    }

    /**
     * Builds the table from (token, id) entries. Ids must be unique and below {@code 2 * entries + 1024}: a file
     * cannot make us allocate an id table much larger than itself.
     */
    static Vocab of(List<Map.Entry<String, Integer>> entries, String field) throws TokenizerFormatException {
        long limit = 2L * entries.size() + 1024;
        int max = -1;
        Map<String, Integer> ids = HashMap.newHashMap(entries.size());
        for (Map.Entry<String, Integer> e : entries) {
            int id = e.getValue();
            if (id < 0 || id >= limit)
                throw new TokenizerFormatException(
                        field + "." + e.getKey(), "id " + id + " outside [0, " + limit + ")");
            if (ids.put(e.getKey(), id) != null)
                throw new TokenizerFormatException(field + "." + e.getKey(), "token listed twice");
            max = Math.max(max, id);
        }
        String[] tokens = new String[max + 1];
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            if (tokens[e.getValue()] != null)
                throw new TokenizerFormatException(
                        field + "." + e.getKey(), "id " + e.getValue() + " used by two tokens");
            tokens[e.getValue()] = e.getKey();
        }
        return new Vocab(ids, tokens);
    }

    /**
     * A vocabulary whose ids are the array positions; a string listed twice (some GGUF vocabularies do) is looked
     * up as its first id, and every id keeps its text for decoding.
     */
    static Vocab ofArray(String[] tokens) {
        Map<String, Integer> ids = HashMap.newHashMap(tokens.length);
        for (int i = 0; i < tokens.length; i++) ids.putIfAbsent(tokens[i], i);
        return new Vocab(ids, tokens.clone());
    }

    int id(String token) {
        Integer i = ids.get(token);
        return i == null ? -1 : i;
    }

    String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }
}
