package dev.panthera.models.bert;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The shape of a BERT encoder, as HuggingFace's {@code BertConfig} names it.
 *
 * @param vocab word-piece vocabulary size (rows of the word embedding)
 * @param hidden model width
 * @param layers number of encoder layers
 * @param heads attention heads; {@code hidden} must be a multiple of it
 * @param intermediate width of the feed-forward layer
 * @param maxPositions rows of the absolute position embedding: the longest input
 * @param typeVocab rows of the token type embedding (2 for BERT's sentence A/B)
 * @param layerNormEps epsilon of every LayerNorm
 * @param activation the feed-forward activation: {@code gelu} (erf), {@code gelu_new}/{@code gelu_pytorch_tanh}
 *     (tanh approximation) or {@code relu}
 */
public record BertConfig(
        int vocab,
        int hidden,
        int layers,
        int heads,
        int intermediate,
        int maxPositions,
        int typeVocab,
        double layerNormEps,
        String activation) {

    public BertConfig {
        check(vocab > 0, "vocab_size", vocab);
        check(hidden > 0, "hidden_size", hidden);
        check(layers >= 0, "num_hidden_layers", layers);
        check(heads > 0 && hidden % heads == 0, "num_attention_heads (must divide hidden_size " + hidden + ")", heads);
        check(intermediate > 0, "intermediate_size", intermediate);
        check(maxPositions > 0, "max_position_embeddings", maxPositions);
        check(typeVocab > 0, "type_vocab_size", typeVocab);
        if (!(layerNormEps > 0))
            throw new IllegalArgumentException("BertConfig: layer_norm_eps must be > 0, got " + layerNormEps);
        switch (activation) {
            case "gelu", "gelu_new", "gelu_pytorch_tanh", "relu" -> {}
            default ->
                throw new IllegalArgumentException("BertConfig: hidden_act '" + activation
                        + "' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)");
        }
    }

    private static void check(boolean ok, String field, long v) {
        if (!ok) throw new IllegalArgumentException("BertConfig: " + field + " is invalid: " + v);
    }

    /** Width of one attention head. */
    public int headDim() {
        return hidden / heads;
    }

    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(32)
                    .maxStringLength(1 << 16)
                    .maxNumberLength(64)
                    .maxDocumentLength(1 << 24)
                    .build())
            .build();

    /**
     * Reads a HuggingFace config.json of a BERT model ({@code model_type} "bert", or absent). Missing optional keys
     * take BertConfig's defaults (type_vocab_size 2, layer_norm_eps 1e-12, hidden_act gelu, max 512 positions).
     */
    public static BertConfig read(Path file) throws IOException {
        Map<String, Object> top = new HashMap<>();
        try (JsonParser p = JSON.createParser(Files.newInputStream(file))) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException(file + ": not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String k = p.currentName();
                JsonToken t = p.nextToken();
                switch (t) {
                    case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> top.put(k, p.getNumberValue());
                    case VALUE_STRING -> top.put(k, p.getText());
                    case START_OBJECT, START_ARRAY -> p.skipChildren();
                    default -> {}
                }
            }
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException(file + ": malformed JSON: " + e.getOriginalMessage(), e);
        }
        Object type = top.get("model_type");
        if (type != null && !type.equals("bert"))
            throw new IllegalArgumentException(file + ": model_type '" + type + "' is not a BERT encoder ('bert')");
        try {
            return new BertConfig(
                    integer(top, "vocab_size", null, file),
                    integer(top, "hidden_size", null, file),
                    integer(top, "num_hidden_layers", null, file),
                    integer(top, "num_attention_heads", null, file),
                    integer(top, "intermediate_size", null, file),
                    integer(top, "max_position_embeddings", 512, file),
                    integer(top, "type_vocab_size", 2, file),
                    number(top, "layer_norm_eps", 1e-12, file),
                    top.getOrDefault("hidden_act", "gelu").toString());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private static int integer(Map<String, Object> m, String key, Integer fallback, Path file) {
        Object v = m.get(key);
        if (v == null) {
            if (fallback == null) throw new IllegalArgumentException(file + ": missing '" + key + "'");
            return fallback;
        }
        if (!(v instanceof Number n)
                || n.doubleValue() != Math.rint(n.doubleValue())
                || Math.abs(n.doubleValue()) > 1e9)
            throw new IllegalArgumentException(file + ": '" + key + "' must be an integer, got " + v);
        return n.intValue();
    }

    private static double number(Map<String, Object> m, String key, double fallback, Path file) {
        Object v = m.get(key);
        if (v == null) return fallback;
        if (!(v instanceof Number n))
            throw new IllegalArgumentException(file + ": '" + key + "' must be a number, got " + v);
        return n.doubleValue();
    }
}
