package dev.panthera.models.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.CharConversionException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small read-only JSON tree built with Jackson's streaming parser under strict {@link StreamReadConstraints}, with
 * typed accessors whose errors name the field path. Tokenizer files are treated as hostile input.
 */
final class JsonTree {
    /** Deepest nesting a tokenizer.json needs is about 8; 64 leaves room and stops stack-exhaustion attacks. */
    static final int MAX_DEPTH = 64;

    static final int MAX_STRING = 1 << 20;
    static final long MAX_DOCUMENT = 1L << 30;
    /** Total number of JSON values in one document: bounds the memory a file can make us allocate. */
    static final int MAX_VALUES = 8_000_000;

    private static final Object NULL = new Object();
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH)
                    .maxStringLength(MAX_STRING)
                    .maxNumberLength(64)
                    .maxNameLength(MAX_STRING)
                    .maxDocumentLength(MAX_DOCUMENT)
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private JsonTree() {}

    /** Parses one JSON document; anything malformed becomes a {@link TokenizerFormatException}. */
    static Node parse(InputStream in, String root) throws IOException {
        try (JsonParser p = FACTORY.createParser(in)) {
            int[] budget = {MAX_VALUES};
            if (p.nextToken() == null) throw new TokenizerFormatException(root, "empty document");
            Object v = read(p, budget, root);
            if (p.nextToken() != null)
                throw new TokenizerFormatException(root, "trailing content after the JSON value");
            return new Node(root, v);
        } catch (JsonProcessingException e) {
            String where = e instanceof com.fasterxml.jackson.core.JsonParseException jp && jp.getProcessor() != null
                    ? root
                            + jp.getProcessor()
                                    .getParsingContext()
                                    .pathAsPointer()
                                    .toString()
                    : root;
            throw new TokenizerFormatException(where, "malformed JSON: " + e.getOriginalMessage(), e);
        } catch (CharConversionException e) {
            throw new TokenizerFormatException(root, "malformed UTF-8: " + e.getMessage(), e);
        }
    }

    private static Object read(JsonParser p, int[] budget, String root) throws IOException {
        if (--budget[0] < 0) throw new TokenizerFormatException(root, "more than " + MAX_VALUES + " JSON values");
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String k = p.currentName();
                    p.nextToken();
                    m.put(k, read(p, budget, root));
                }
                return m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) l.add(read(p, budget, root));
                return l;
            }
            case VALUE_STRING -> {
                return p.getText();
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                return p.getDoubleValue();
            }
            case VALUE_TRUE -> {
                return Boolean.TRUE;
            }
            case VALUE_FALSE -> {
                return Boolean.FALSE;
            }
            case VALUE_NULL -> {
                return NULL;
            }
            default -> throw new TokenizerFormatException(root, "unexpected JSON token " + t);
        }
    }

    /** A value in the tree with the path that names it in error messages. */
    record Node(String path, Object value) {
        boolean isNull() {
            return value == NULL;
        }

        boolean isObject() {
            return value instanceof Map;
        }

        boolean isArray() {
            return value instanceof List;
        }

        TokenizerFormatException error(String message) {
            return new TokenizerFormatException(path, message);
        }

        @SuppressWarnings("unchecked")
        private Map<String, Object> map() throws TokenizerFormatException {
            if (!(value instanceof Map)) throw error("expected an object");
            return (Map<String, Object>) value;
        }

        /** The member, or an error naming it when it is missing. */
        Node get(String key) throws TokenizerFormatException {
            Map<String, Object> m = map();
            if (!m.containsKey(key)) throw new TokenizerFormatException(path + "." + key, "missing");
            return new Node(path + "." + key, m.get(key));
        }

        /** The member, or {@code null} when it is missing or JSON null. */
        Node opt(String key) throws TokenizerFormatException {
            Object v = map().get(key);
            return v == null || v == NULL ? null : new Node(path + "." + key, v);
        }

        boolean has(String key) throws TokenizerFormatException {
            return opt(key) != null;
        }

        /** The object's members in file order. */
        List<Map.Entry<String, Node>> entries() throws TokenizerFormatException {
            List<Map.Entry<String, Node>> out = new ArrayList<>();
            for (Map.Entry<String, Object> e : map().entrySet())
                out.add(Map.entry(e.getKey(), new Node(path + "." + e.getKey(), e.getValue())));
            return out;
        }

        List<String> keys() throws TokenizerFormatException {
            return new ArrayList<>(map().keySet());
        }

        List<Node> array() throws TokenizerFormatException {
            if (!(value instanceof List<?> l)) throw error("expected an array");
            List<Node> out = new ArrayList<>(l.size());
            for (int i = 0; i < l.size(); i++) out.add(new Node(path + "[" + i + "]", l.get(i)));
            return Collections.unmodifiableList(out);
        }

        String str() throws TokenizerFormatException {
            if (!(value instanceof String s)) throw error("expected a string");
            return s;
        }

        boolean bool() throws TokenizerFormatException {
            if (!(value instanceof Boolean b)) throw error("expected true or false");
            return b;
        }

        double num() throws TokenizerFormatException {
            if (!(value instanceof Double d)) throw error("expected a number");
            return d;
        }

        /** An integer in [min, max]. */
        int integer(int min, int max) throws TokenizerFormatException {
            double d = num();
            if (d != Math.rint(d) || d < min || d > max)
                throw error("expected an integer in [" + min + ", " + max + "], got " + d);
            return (int) d;
        }

        String optStr(String key, String dflt) throws TokenizerFormatException {
            Node n = opt(key);
            return n == null ? dflt : n.str();
        }

        boolean optBool(String key, boolean dflt) throws TokenizerFormatException {
            Node n = opt(key);
            return n == null ? dflt : n.bool();
        }

        int optInt(String key, int min, int max, int dflt) throws TokenizerFormatException {
            Node n = opt(key);
            return n == null ? dflt : n.integer(min, max);
        }
    }
}
