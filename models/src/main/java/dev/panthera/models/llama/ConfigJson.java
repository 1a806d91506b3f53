package dev.panthera.models.llama;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A HuggingFace config.json as nested maps, lists, strings, numbers, booleans and nulls, read with Jackson's streaming
 * parser under tight limits (a config is a few KiB), with typed getters whose errors name the key and the file.
 */
public final class ConfigJson {
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(32)
                    .maxStringLength(1 << 16)
                    .maxNumberLength(64)
                    .maxDocumentLength(1 << 24)
                    .build())
            .build();

    private final Path file;
    private final Map<String, Object> root;

    private ConfigJson(Path file, Map<String, Object> root) {
        this.file = file;
        this.root = root;
    }

    public static ConfigJson read(Path file) throws IOException {
        try (JsonParser p = FACTORY.createParser(Files.newInputStream(file))) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException(file + ": not a JSON object");
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) value(p);
            return new ConfigJson(file, m);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException(file + ": malformed JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static Object value(JsonParser p) throws IOException {
        return switch (p.currentToken()) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String k = p.currentName();
                    p.nextToken();
                    m.put(k, value(p));
                }
                yield m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) l.add(value(p));
                yield l;
            }
            case VALUE_STRING -> p.getText();
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getNumberValue();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            default -> null;
        };
    }

    public Object raw(String key) {
        return root.get(key);
    }

    public boolean has(String key) {
        return root.get(key) != null;
    }

    /** A sub-object, or null when absent or null. */
    public ConfigJson object(String key) {
        Object v = root.get(key);
        if (v == null) return null;
        if (!(v instanceof Map<?, ?>)) throw error(key, "an object");
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) v;
        return new ConfigJson(file, m);
    }

    public int integer(String key) {
        Object v = root.get(key);
        if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) throw error(key, "an integer");
        return Math.toIntExact(n.longValue());
    }

    public int integer(String key, int fallback) {
        return has(key) ? integer(key) : fallback;
    }

    public double number(String key, double fallback) {
        Object v = root.get(key);
        if (v == null) return fallback;
        if (!(v instanceof Number n)) throw error(key, "a number");
        return n.doubleValue();
    }

    public boolean bool(String key, boolean fallback) {
        Object v = root.get(key);
        if (v == null) return fallback;
        if (!(v instanceof Boolean b)) throw error(key, "true or false");
        return b;
    }

    public String string(String key, String fallback) {
        Object v = root.get(key);
        if (v == null) return fallback;
        if (!(v instanceof String s)) throw error(key, "a string");
        return s;
    }

    /** An integer or a list of integers (eos_token_id in Llama 3 configs), or empty when absent. */
    public int[] integers(String key) {
        Object v = root.get(key);
        if (v == null) return new int[0];
        if (v instanceof Number) return new int[] {integer(key)};
        if (!(v instanceof List<?> l)) throw error(key, "an integer or a list of integers");
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(l.get(i) instanceof Number n)) throw error(key, "a list of integers");
            out[i] = n.intValue();
        }
        return out;
    }

    private IllegalArgumentException error(String key, String want) {
        return new IllegalArgumentException(file + ": '" + key + "' must be " + want + ", got " + root.get(key));
    }
}
