package dev.panthera.models.peft;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.lora.LoraTargets;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * peft's {@code adapter_config.json} for LoRA. Writing emits every field peft 0.21 writes, sorted by name as peft does,
 * with peft's defaults for the features this library does not have. Reading maps the fields this library implements and
 * rejects, naming the field, a file that needs a feature it does not implement (bias training, …), so such an adapter
 * is never loaded with silently different semantics. fan_in_fan_out = true is read as peft reads it for Linear targets:
 * with a warning, as false.
 */
public final class AdapterConfigJson {
    private AdapterConfigJson() {}

    private static final System.Logger LOG = System.getLogger(AdapterConfigJson.class.getName());

    /** The peft version whose adapter_config.json layout this writer follows. */
    public static final String PEFT_FORMAT_VERSION = "0.21.0";

    /**
     * What peft records about the base model beside the LoRA config.
     *
     * @param taskType peft's task_type ({@code "CAUSAL_LM"}, …) or null
     * @param baseModelNameOrPath the base model's hub name or path, or null
     * @param revision the base model's revision, or null
     */
    public record Info(String taskType, String baseModelNameOrPath, String revision) {
        public static final Info NONE = new Info(null, null, null);
    }

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(16)
                    .maxStringLength(1 << 16)
                    .maxNumberLength(64)
                    .maxDocumentLength(1 << 22)
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    /** Writes {@code config} as peft's adapter_config.json at {@code file}. */
    public static void write(Path file, LoraConfig config, Info info) throws IOException {
        Map<String, Object> f = new TreeMap<>();
        LoraTargets t = config.targets();
        f.put("alora_invocation_tokens", null);
        // peft writes with sort_keys, nested objects included; a reader then sees pattern keys in sorted order
        Map<String, Object> alphas = new TreeMap<>();
        config.alphaPattern().forEach((k, v) -> alphas.put(k, intIfIntegral(v)));
        f.put("alpha_pattern", alphas);
        f.put("arrow_config", null);
        f.put("auto_mapping", null);
        f.put("base_model_name_or_path", info.baseModelNameOrPath());
        f.put("bias", "none");
        f.put("corda_config", null);
        f.put("ensure_weight_tying", false);
        f.put("eva_config", null);
        f.put(
                "exclude_modules",
                t.excludeRegex() != null
                        ? t.excludeRegex().pattern()
                        : t.excludeNames().isEmpty() ? null : new ArrayList<>(new TreeSet<>(t.excludeNames())));
        f.put("fan_in_fan_out", false);
        f.put("inference_mode", true);
        f.put(
                "init_lora_weights",
                switch (config.init()) {
                    case DEFAULT -> true;
                    case GAUSSIAN -> "gaussian";
                    case RANDOM -> false;
                });
        f.put("kasa_config", null);
        f.put("layer_replication", null);
        f.put("layers_pattern", t.layersPattern().isEmpty() ? null : t.layersPattern());
        f.put("layers_to_transform", t.layersToTransform().isEmpty() ? null : t.layersToTransform());
        f.put("loftq_config", Map.of());
        f.put("lora_alpha", intIfIntegral(config.alpha()));
        f.put("lora_bias", false);
        f.put("lora_dropout", config.dropout());
        f.put("lora_ga_config", null);
        f.put("megatron_config", null);
        f.put("megatron_core", "megatron.core");
        f.put("modules_to_save", config.modulesToSave().isEmpty() ? null : config.modulesToSave());
        f.put("monteclora_config", null);
        f.put("peft_type", "LORA");
        f.put("peft_version", PEFT_FORMAT_VERSION);
        f.put("qalora_group_size", 16);
        f.put("r", config.r());
        f.put("rank_pattern", new TreeMap<>(config.rankPattern()));
        f.put("revision", info.revision());
        f.put(
                "target_modules",
                t.regex() != null
                        ? t.regex().pattern()
                        : t.allLinear() ? LoraConfig.ALL_LINEAR : new ArrayList<>(new TreeSet<>(t.names())));
        f.put("target_parameters", null);
        f.put("task_type", info.taskType());
        f.put("trainable_token_indices", null);
        f.put("use_bdlora", null);
        f.put("use_dora", config.useDora());
        f.put("use_qalora", false);
        f.put("use_rslora", config.useRsLora());
        f.put("velora_config", null);
        writeObject(file, f);
    }

    /** Writes {@code fields} (nulls, strings, booleans, numbers, lists and maps) as a pretty-printed JSON object. */
    static void writeObject(Path file, Map<String, Object> fields) throws IOException {
        try (JsonGenerator g = new JsonFactory().createGenerator(file.toFile(), JsonEncoding.UTF8)) {
            g.useDefaultPrettyPrinter();
            writeValue(g, fields);
        }
    }

    /** peft types lora_alpha (and alpha_pattern's values) as int: an integral value is written as one. */
    private static Object intIfIntegral(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? (Object) (long) d : (Object) d;
    }

    private static void writeValue(JsonGenerator g, Object v) throws IOException {
        switch (v) {
            case null -> g.writeNull();
            case Map<?, ?> m -> {
                g.writeStartObject();
                for (var e : m.entrySet()) {
                    g.writeFieldName((String) e.getKey());
                    writeValue(g, e.getValue());
                }
                g.writeEndObject();
            }
            case List<?> l -> {
                g.writeStartArray();
                for (Object o : l) writeValue(g, o);
                g.writeEndArray();
            }
            case String s -> g.writeString(s);
            case Boolean b -> g.writeBoolean(b);
            case Integer i -> g.writeNumber(i);
            case Long i -> g.writeNumber(i);
            case Double d -> g.writeNumber(d);
            default -> throw new IllegalArgumentException("AdapterConfigJson: cannot write " + v.getClass());
        }
    }

    /** Reads a LoRA adapter_config.json; fails naming the field for anything malformed or not implemented here. */
    public static LoraConfig read(Path file) throws IOException {
        Map<String, Object> f = readObject(file);
        Object type = f.get("peft_type");
        if (type != null && !"LORA".equals(type)) throw bad(file, "peft_type is " + type + ", expected LORA");
        int r = integer(file, f, "r", 8);
        double alpha = number(file, f, "lora_alpha", 8);
        double dropout = number(file, f, "lora_dropout", 0);
        boolean rs = bool(file, f, "use_rslora", false);
        boolean dora = bool(file, f, "use_dora", false);
        // peft turns fan_in_fan_out off, with a warning, for torch.nn.Linear targets, and every Linear here is one
        if (bool(file, f, "fan_in_fan_out", false))
            LOG.log(
                    System.Logger.Level.WARNING,
                    "{0}: fan_in_fan_out is true but the targets are Linear layers ([out, in] weights); reading it as"
                            + " false, as peft does",
                    file);
        for (String flag : List.of("lora_bias", "use_qalora"))
            if (bool(file, f, flag, false)) throw unsupported(file, flag + " = true");
        Object bias = f.getOrDefault("bias", "none");
        if (!"none".equals(bias)) throw unsupported(file, "bias = " + bias);
        for (String absent : List.of(
                "layer_replication",
                "trainable_token_indices",
                "target_parameters",
                "alora_invocation_tokens",
                "use_bdlora",
                "megatron_config")) if (f.get(absent) != null) throw unsupported(file, absent + " = " + f.get(absent));
        LoraConfig.InitWeights init = switch (f.getOrDefault("init_lora_weights", true)) {
            case Boolean b -> b ? LoraConfig.InitWeights.DEFAULT : LoraConfig.InitWeights.RANDOM;
            case String s when s.equalsIgnoreCase("gaussian") -> LoraConfig.InitWeights.GAUSSIAN;
            case null -> throw bad(file, "init_lora_weights must be true, false or a method name");
            case Object o -> throw unsupported(file, "init_lora_weights = " + o);
        };
        LoraTargets targets = switch (f.get("target_modules")) {
            case String s when s.equalsIgnoreCase(LoraConfig.ALL_LINEAR) -> LoraTargets.of(List.of(s));
            case String s -> LoraTargets.regex(s);
            case List<?> l -> LoraTargets.of(strings(file, "target_modules", l));
            case null -> throw bad(file, "needs target_modules");
            case Object o -> throw bad(file, "target_modules must be a string or a list, got " + o);
        };
        targets = switch (f.get("exclude_modules")) {
            case null -> targets;
            case String s -> targets.withExcludeRegex(s);
            case List<?> l -> targets.withExclude(strings(file, "exclude_modules", l));
            case Object o -> throw bad(file, "exclude_modules must be a string or a list, got " + o);
        };
        List<Integer> layers = switch (f.get("layers_to_transform")) {
            case null -> List.of();
            case Double d -> List.of(index(file, d));
            case List<?> l -> {
                List<Integer> out = new ArrayList<>();
                for (Object o : l)
                    if (o instanceof Double d) out.add(index(file, d));
                    else throw bad(file, "layers_to_transform holds " + o);
                yield out;
            }
            case Object o -> throw bad(file, "layers_to_transform must be an int or a list, got " + o);
        };
        List<String> pattern = switch (f.get("layers_pattern")) {
            case null -> List.of();
            case String s -> s.isEmpty() ? List.of() : List.of(s);
            case List<?> l -> strings(file, "layers_pattern", l);
            case Object o -> throw bad(file, "layers_pattern must be a string or a list, got " + o);
        };
        try {
            targets = targets.withLayers(layers, pattern);
        } catch (IllegalArgumentException e) {
            throw bad(file, e.getMessage());
        }
        Map<String, Integer> ranks = new LinkedHashMap<>();
        for (var e : map(file, f, "rank_pattern").entrySet()) ranks.put(e.getKey(), index(file, e.getValue()));
        Map<String, Double> alphas = new LinkedHashMap<>();
        for (var e : map(file, f, "alpha_pattern").entrySet()) alphas.put(e.getKey(), e.getValue());
        List<String> save = switch (f.get("modules_to_save")) {
            case null -> List.of();
            case List<?> l -> strings(file, "modules_to_save", l);
            case Object o -> throw bad(file, "modules_to_save must be a list, got " + o);
        };
        try {
            return new LoraConfig(r, alpha, dropout, targets, rs, init, ranks, alphas, save, 0, dora);
        } catch (IllegalArgumentException e) {
            throw bad(file, e.getMessage());
        }
    }

    /** One JSON object; numbers come back as Double, null as null. */
    static Map<String, Object> readObject(Path file) throws IOException {
        try (JsonParser p = FACTORY.createParser(file.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw bad(file, "expected a JSON object");
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) readValue(p);
            if (p.nextToken() != null) throw bad(file, "trailing content after the JSON object");
            return m;
        } catch (JsonProcessingException e) {
            throw bad(file, "malformed JSON: " + e.getOriginalMessage());
        }
    }

    private static Object readValue(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String k = p.currentName();
                    p.nextToken();
                    m.put(k, readValue(p));
                }
                return m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) l.add(readValue(p));
                return l;
            }
            case VALUE_STRING -> {
                return p.getText();
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                return p.getDoubleValue();
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return p.getBooleanValue();
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> throw new IOException("unexpected JSON token " + t);
        }
    }

    static int integer(Path file, Map<String, Object> f, String k, int dflt) throws IOException {
        Object v = f.getOrDefault(k, (double) dflt);
        if (v instanceof Double d) return index(file, d);
        throw bad(file, k + " must be a number, got " + v);
    }

    private static int index(Path file, double d) throws IOException {
        if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) throw bad(file, "expected an integer, got " + d);
        return (int) d;
    }

    private static double number(Path file, Map<String, Object> f, String k, double dflt) throws IOException {
        Object v = f.getOrDefault(k, dflt);
        if (v instanceof Double d) return d;
        throw bad(file, k + " must be a number, got " + v);
    }

    private static boolean bool(Path file, Map<String, Object> f, String k, boolean dflt) throws IOException {
        Object v = f.getOrDefault(k, dflt);
        if (v == null) return dflt;
        if (v instanceof Boolean b) return b;
        throw bad(file, k + " must be true or false, got " + v);
    }

    private static Map<String, Double> map(Path file, Map<String, Object> f, String k) throws IOException {
        Map<String, Double> out = new LinkedHashMap<>();
        Object v = f.get(k);
        if (v == null) return out;
        if (!(v instanceof Map<?, ?> m)) throw bad(file, k + " must be an object, got " + v);
        for (var e : m.entrySet()) {
            if (!(e.getValue() instanceof Double d)) throw bad(file, k + "." + e.getKey() + " must be a number");
            Pattern.compile((String) e.getKey()); // peft treats keys as regexes
            out.put((String) e.getKey(), d);
        }
        return out;
    }

    private static List<String> strings(Path file, String k, List<?> l) throws IOException {
        List<String> out = new ArrayList<>();
        for (Object o : l)
            if (o instanceof String s) out.add(s);
            else throw bad(file, k + " must hold strings, got " + Objects.toString(o));
        return out;
    }

    static IOException bad(Path file, String why) {
        return new IOException(file + ": " + why);
    }

    private static IOException unsupported(Path file, String what) {
        return new IOException(file + ": " + what + " is not supported by this library's LoRA");
    }
}
