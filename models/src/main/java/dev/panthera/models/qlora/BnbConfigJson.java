package dev.panthera.models.qlora;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import dev.panthera.models.io.ModelFormatException;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.layers.Rope;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The config.json of a Llama checkpoint quantized by transformers with bitsandbytes 4-bit: the decoder's sizes and
 * the {@code quantization_config} that {@code BitsAndBytesConfig.to_dict()} writes ({@code load_in_4bit},
 * {@code bnb_4bit_quant_type}, {@code bnb_4bit_use_double_quant}, {@code bnb_4bit_compute_dtype},
 * {@code bnb_4bit_quant_storage}, {@code llm_int8_skip_modules}, ...).
 */
public final class BnbConfigJson {
    private BnbConfigJson() {}

    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(16)
                    .maxStringLength(1 << 16)
                    .maxNumberLength(64)
                    .maxDocumentLength(1 << 22)
                    .build())
            .build();

    /** transformers' bitsandbytes 4-bit settings. */
    public record Quantization(
            String quantType, boolean doubleQuant, String computeDtype, String quantStorage, List<String> skipModules) {
        /** The settings QLoRA uses: NF4, double quantization, compute in float32, nothing skipped by name. */
        public static Quantization qlora() {
            return new Quantization("nf4", true, "float32", "uint8", null);
        }
    }

    /** A checkpoint's decoder shape and 4-bit settings. */
    public record Config(DecoderConfig decoder, Quantization quantization) {}

    /** Reads {@code file}; fails naming the key when the model is not a 4-bit bitsandbytes Llama this code supports. */
    public static Config read(Path file) throws IOException {
        Map<String, Object> top = new HashMap<>(), q = null;
        try (JsonParser p = JSON.createParser(Files.newInputStream(file))) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw bad(file, "(root)", "not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String k = p.currentName();
                JsonToken t = p.nextToken();
                if (k.equals("quantization_config") && t == JsonToken.START_OBJECT) q = flat(p);
                else if (t == JsonToken.START_ARRAY) top.put(k, list(p));
                else if (t == JsonToken.START_OBJECT) {
                    p.skipChildren(); // id2label, rope_scaling's contents: only its presence matters here
                    top.put(k, Boolean.TRUE);
                } else top.put(k, scalar(p, t));
            }
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw bad(file, "(root)", "malformed JSON: " + e.getOriginalMessage());
        }
        if (q == null) throw bad(file, "quantization_config", "missing: not a quantized checkpoint");
        if (!"bitsandbytes".equals(q.get("quant_method")) || !Boolean.TRUE.equals(q.get("load_in_4bit")))
            throw bad(
                    file,
                    "quantization_config",
                    "not bitsandbytes 4-bit (quant_method " + q.get("quant_method") + ", load_in_4bit "
                            + q.get("load_in_4bit") + ")");
        String type = str(file, q, "bnb_4bit_quant_type", "fp4"); // transformers' default
        if (!type.equals("nf4") && !type.equals("fp4"))
            throw bad(file, "quantization_config.bnb_4bit_quant_type", "'" + type + "', expected nf4 or fp4");
        String storage = str(file, q, "bnb_4bit_quant_storage", "uint8");
        if (!storage.equals("uint8"))
            throw bad(file, "quantization_config.bnb_4bit_quant_storage", "'" + storage + "'; supported: uint8");
        Object dq = q.getOrDefault("bnb_4bit_use_double_quant", Boolean.FALSE);
        if (!(dq instanceof Boolean)) throw bad(file, "quantization_config.bnb_4bit_use_double_quant", "not a boolean");
        @SuppressWarnings("unchecked")
        List<String> skip = q.get("llm_int8_skip_modules") instanceof List<?> l ? (List<String>) l : null;
        Quantization quant =
                new Quantization(type, (Boolean) dq, str(file, q, "bnb_4bit_compute_dtype", "float32"), storage, skip);

        String modelType = str(file, top, "model_type", "llama");
        if (!modelType.equals("llama")) throw bad(file, "model_type", "'" + modelType + "'; supported: llama");
        if (top.get("rope_scaling") != null) throw bad(file, "rope_scaling", "not supported here");
        int dim = integer(file, top, "hidden_size"), heads = integer(file, top, "num_attention_heads");
        if (top.get("head_dim") != null && integer(file, top, "head_dim") * heads != dim)
            throw bad(file, "head_dim", "head_dim · heads must equal hidden_size " + dim);
        if (Boolean.TRUE.equals(top.get("tie_word_embeddings")))
            throw bad(file, "tie_word_embeddings", "tied embeddings are not supported here");
        DecoderConfig d = new DecoderConfig(
                dim,
                integer(file, top, "intermediate_size"),
                heads,
                top.get("num_key_value_heads") == null ? heads : integer(file, top, "num_key_value_heads"),
                integer(file, top, "vocab_size"),
                integer(file, top, "num_hidden_layers"),
                integer(file, top, "max_position_embeddings"),
                number(file, top, "rms_norm_eps", 1e-6),
                number(file, top, "rope_theta", 10000),
                Rope.Layout.HALF);
        return new Config(d, quant);
    }

    /** Writes a Llama config.json for {@code d} with {@code q} as transformers' quantization_config. */
    public static void write(Path file, DecoderConfig d, Quantization q) throws IOException {
        try (OutputStream out = Files.newOutputStream(file);
                JsonGenerator g = JSON.createGenerator(out).useDefaultPrettyPrinter()) {
            g.writeStartObject();
            g.writeArrayFieldStart("architectures");
            g.writeString("LlamaForCausalLM");
            g.writeEndArray();
            g.writeStringField("model_type", "llama");
            g.writeNumberField("hidden_size", d.dim());
            g.writeNumberField("intermediate_size", d.hidden());
            g.writeNumberField("num_attention_heads", d.heads());
            g.writeNumberField("num_key_value_heads", d.kvHeads());
            g.writeNumberField("head_dim", d.dim() / d.heads());
            g.writeNumberField("vocab_size", d.vocab());
            g.writeNumberField("num_hidden_layers", d.layers());
            g.writeNumberField("max_position_embeddings", d.maxSeq());
            g.writeNumberField("rms_norm_eps", d.normEps());
            g.writeNumberField("rope_theta", d.ropeBase());
            g.writeBooleanField("tie_word_embeddings", false);
            g.writeBooleanField("attention_bias", false);
            g.writeBooleanField("mlp_bias", false);
            g.writeStringField("hidden_act", "silu");
            g.writeFieldName("quantization_config");
            writeQuantization(g, q);
            g.writeEndObject();
        }
    }

    /** {@code q} as the quantization_config object transformers' {@code BitsAndBytesConfig.to_dict()} writes. */
    public static void writeQuantization(JsonGenerator g, Quantization q) throws IOException {
        g.writeStartObject();
        g.writeStringField("quant_method", "bitsandbytes");
        g.writeBooleanField("_load_in_8bit", false);
        g.writeBooleanField("_load_in_4bit", true);
        g.writeNumberField("llm_int8_threshold", 6.0);
        if (q.skipModules() == null) g.writeNullField("llm_int8_skip_modules");
        else {
            g.writeArrayFieldStart("llm_int8_skip_modules");
            for (String s : q.skipModules()) g.writeString(s);
            g.writeEndArray();
        }
        g.writeBooleanField("llm_int8_enable_fp32_cpu_offload", false);
        g.writeBooleanField("llm_int8_has_fp16_weight", false);
        g.writeStringField("bnb_4bit_quant_type", q.quantType());
        g.writeBooleanField("bnb_4bit_use_double_quant", q.doubleQuant());
        g.writeStringField("bnb_4bit_compute_dtype", q.computeDtype());
        g.writeStringField("bnb_4bit_quant_storage", q.quantStorage());
        g.writeBooleanField("load_in_4bit", true);
        g.writeBooleanField("load_in_8bit", false);
        g.writeEndObject();
    }

    private static Map<String, Object> flat(JsonParser p) throws IOException {
        Map<String, Object> m = new HashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String k = p.currentName();
            JsonToken t = p.nextToken();
            if (t == JsonToken.START_ARRAY) m.put(k, list(p));
            else if (t == JsonToken.START_OBJECT) {
                p.skipChildren();
                m.put(k, null);
            } else m.put(k, scalar(p, t));
        }
        return m;
    }

    /** A list of scalars (nested containers become null). */
    private static List<Object> list(JsonParser p) throws IOException {
        List<Object> l = new ArrayList<>();
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                p.skipChildren();
                l.add(null);
            } else l.add(scalar(p, t));
        }
        return l;
    }

    private static Object scalar(JsonParser p, JsonToken t) throws IOException {
        return switch (t) {
            case VALUE_STRING -> p.getText();
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getNumberValue();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            default -> null;
        };
    }

    private static String str(Path file, Map<String, Object> m, String k, String fallback) throws ModelFormatException {
        Object v = m.get(k);
        if (v == null) return fallback;
        if (!(v instanceof String s)) throw bad(file, k, "not a string");
        return s;
    }

    private static int integer(Path file, Map<String, Object> m, String k) throws ModelFormatException {
        if (!(m.get(k) instanceof Number n)
                || n.doubleValue() != Math.rint(n.doubleValue())
                || n.longValue() <= 0
                || n.longValue() > Integer.MAX_VALUE)
            throw bad(file, k, "missing or not a positive integer: " + m.get(k));
        return n.intValue();
    }

    private static double number(Path file, Map<String, Object> m, String k, double fallback)
            throws ModelFormatException {
        Object v = m.get(k);
        if (v == null) return fallback;
        if (!(v instanceof Number n)) throw bad(file, k, "not a number");
        return n.doubleValue();
    }

    private static ModelFormatException bad(Path file, String key, String why) {
        return new ModelFormatException("config.json", file + " " + key, why);
    }
}
