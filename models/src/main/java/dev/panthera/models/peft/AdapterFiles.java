package dev.panthera.models.peft;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.nn.Module;
import dev.panthera.nn.lora.Lora;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Saves and loads one LoRA adapter alone, as peft's {@code save_pretrained} lays it out: a directory with
 * {@code adapter_model.safetensors} (keys {@code base_model.model.<path>.lora_A.weight} / {@code lora_B.weight}) and
 * {@code adapter_config.json} (peft_type LORA, r, lora_alpha, lora_dropout, target_modules, use_rslora). The weights
 * go through {@link SafetensorsWriter} and {@link SafetensorsFile}, so an adapter file is held to the same header
 * checks as any checkpoint.
 */
public final class AdapterFiles {
    private AdapterFiles() {}

    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String CONFIG = "adapter_config.json";

    /** Writes adapter {@code name} of {@code model} with {@code config} into {@code dir} (created if needed). */
    public static void save(Path dir, Module model, String name, LoraConfig config) throws IOException {
        Files.createDirectories(dir);
        Map<String, Tensor> weights = Lora.adapterStateDict(model, name);
        if (weights.isEmpty())
            throw new IllegalArgumentException("AdapterFiles.save: the model has no adapter '" + name + "'");
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        for (var e : weights.entrySet())
            items.add(SafetensorsWriter.Item.of(e.getKey(), e.getValue().contiguous()));
        SafetensorsWriter.write(dir.resolve(WEIGHTS), Map.of("format", "pt"), items);
        try (JsonGenerator g =
                new JsonFactory().createGenerator(dir.resolve(CONFIG).toFile(), JsonEncoding.UTF8)) {
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeStringField("peft_type", "LORA");
            g.writeNumberField("r", config.r());
            g.writeNumberField("lora_alpha", config.alpha());
            g.writeNumberField("lora_dropout", config.dropout());
            g.writeBooleanField("use_rslora", config.useRsLora());
            g.writeStringField("bias", "none");
            if (config.targetRegex() != null)
                g.writeStringField("target_modules", config.targetRegex().pattern());
            else if (config.targetNames().contains(LoraConfig.ALL_LINEAR))
                g.writeStringField("target_modules", LoraConfig.ALL_LINEAR);
            else {
                g.writeArrayFieldStart("target_modules");
                for (String t : new TreeSet<>(config.targetNames())) g.writeString(t);
                g.writeEndArray();
            }
            g.writeEndObject();
        }
    }

    /** Reads {@code adapter_config.json} from {@code dir}. */
    public static LoraConfig readConfig(Path dir) throws IOException {
        int r = -1;
        double alpha = Double.NaN, dropout = 0;
        boolean rs = false;
        List<String> names = null;
        String regex = null;
        try (JsonParser p = new JsonFactory().createParser(dir.resolve(CONFIG).toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException(CONFIG + ": expected a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String f = p.currentName();
                JsonToken v = p.nextToken();
                switch (f) {
                    case "r" -> r = p.getIntValue();
                    case "lora_alpha" -> alpha = p.getDoubleValue();
                    case "lora_dropout" -> dropout = p.getDoubleValue();
                    case "use_rslora" -> rs = p.getBooleanValue();
                    case "target_modules" -> {
                        if (v == JsonToken.VALUE_STRING) {
                            String s = p.getText();
                            if (s.equals(LoraConfig.ALL_LINEAR)) names = List.of(s);
                            else regex = s;
                        } else if (v == JsonToken.START_ARRAY) {
                            names = new ArrayList<>();
                            while (p.nextToken() == JsonToken.VALUE_STRING) names.add(p.getText());
                        } else if (v != JsonToken.VALUE_NULL)
                            throw new IOException(CONFIG + ": target_modules must be a string or a list");
                    }
                    default -> p.skipChildren();
                }
            }
        }
        if (r <= 0 || Double.isNaN(alpha)) throw new IOException(CONFIG + " in " + dir + ": needs r and lora_alpha");
        if (names == null && regex == null) throw new IOException(CONFIG + " in " + dir + ": needs target_modules");
        return new LoraConfig(r, alpha, dropout, names, regex == null ? null : Pattern.compile(regex), rs, 0);
    }

    /**
     * Adds adapter {@code name} to {@code model} from {@code dir}: applies the saved config, then copies every weight.
     * Missing, unexpected or mis-shaped keys fail with all of them listed (the adapter's layers have been added to the
     * model by then, with A initialised and B zero, so the model's output is unchanged).
     */
    public static LoraConfig load(Path dir, Module model, String name) throws IOException {
        LoraConfig config = readConfig(dir);
        Lora.apply(model, config, name);
        Map<String, Tensor> own = Lora.adapterStateDict(model, name);
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(WEIGHTS))) {
            List<String> problems = new ArrayList<>();
            for (var e : own.entrySet()) {
                if (!file.contains(e.getKey())) problems.add("missing " + e.getKey());
                else if (!Arrays.equals(file.shape(e.getKey()), e.getValue().dims()))
                    problems.add("size mismatch " + e.getKey() + ": file " + Arrays.toString(file.shape(e.getKey()))
                            + " vs model " + e.getValue().shape());
            }
            for (String k : file.names()) if (!own.containsKey(k)) problems.add("unexpected " + k);
            if (!problems.isEmpty()) throw new IOException("AdapterFiles.load " + dir + ": " + problems);
            try (var _ = Autograd.noGrad()) {
                for (var e : own.entrySet()) e.getValue().copy_(file.tensor(e.getKey()));
            }
        }
        return config;
    }
}
