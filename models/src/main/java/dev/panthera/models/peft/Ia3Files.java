package dev.panthera.models.peft;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.nn.Module;
import dev.panthera.nn.lora.Ia3;
import dev.panthera.nn.lora.Ia3Config;
import dev.panthera.nn.lora.LoraTargets;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Saves and loads an (IA)³ adapter as peft's {@code save_pretrained} lays it out: {@code adapter_model.safetensors}
 * with {@code base_model.model.<path>.ia3_l} per adapted Linear ([out, 1], or [1, in] for feed-forward modules) and
 * {@code adapter_config.json} with peft_type IA3 and every field peft 0.21 writes for it. Reading refuses, naming the
 * field, what this library does not implement (fan_in_fan_out, modules_to_save, exclude_modules).
 */
public final class Ia3Files {
    private Ia3Files() {}

    /** Writes adapter {@code name} of {@code model} with {@code config} into {@code dir} (created if needed). */
    public static void save(Path dir, Module model, String name, Ia3Config config, AdapterConfigJson.Info info)
            throws IOException {
        Map<String, Tensor> weights = Ia3.adapterStateDict(model, name);
        if (weights.isEmpty())
            throw new IllegalArgumentException("Ia3Files.save: the model has no (IA)³ adapter '" + name + "'");
        Files.createDirectories(dir);
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        for (var e : weights.entrySet())
            items.add(SafetensorsWriter.Item.of(e.getKey(), e.getValue().contiguous()));
        SafetensorsWriter.write(dir.resolve(AdapterFiles.WEIGHTS), Map.of("format", "pt"), items);
        Map<String, Object> f = new TreeMap<>();
        f.put("auto_mapping", null);
        f.put("base_model_name_or_path", info.baseModelNameOrPath());
        f.put("exclude_modules", null);
        f.put("fan_in_fan_out", false);
        f.put("feedforward_modules", targets(config.feedforward()));
        f.put("inference_mode", true);
        f.put("init_ia3_weights", config.initOnes());
        f.put("modules_to_save", null);
        f.put("peft_type", "IA3");
        f.put("peft_version", AdapterConfigJson.PEFT_FORMAT_VERSION);
        f.put("revision", info.revision());
        f.put("target_modules", targets(config.targets()));
        f.put("task_type", info.taskType());
        AdapterConfigJson.writeObject(dir.resolve(AdapterFiles.CONFIG), f);
    }

    private static Object targets(LoraTargets t) {
        return t.regex() != null ? t.regex().pattern() : new ArrayList<>(new TreeSet<>(t.names()));
    }

    /** Reads an IA3 adapter_config.json. */
    public static Ia3Config readConfig(Path dir) throws IOException {
        Path cfg = dir.resolve(AdapterFiles.CONFIG);
        Map<String, Object> f = AdapterConfigJson.readObject(cfg);
        if (!"IA3".equals(f.get("peft_type")))
            throw AdapterConfigJson.bad(cfg, "peft_type is " + f.get("peft_type") + ", expected IA3");
        for (String absent : List.of("modules_to_save", "exclude_modules"))
            if (f.get(absent) != null)
                throw AdapterConfigJson.bad(cfg, "not implemented here: " + absent + " = " + f.get(absent));
        if (Boolean.TRUE.equals(f.get("fan_in_fan_out")))
            throw AdapterConfigJson.bad(cfg, "not implemented here: fan_in_fan_out = true");
        Object init = f.getOrDefault("init_ia3_weights", true);
        if (!(init instanceof Boolean))
            throw AdapterConfigJson.bad(cfg, "init_ia3_weights must be a boolean, got " + init);
        LoraTargets targets = targets(cfg, "target_modules", f.get("target_modules"), false);
        LoraTargets ff = targets(cfg, "feedforward_modules", f.get("feedforward_modules"), true);
        return new Ia3Config(targets, ff, (Boolean) init);
    }

    private static LoraTargets targets(Path cfg, String field, Object v, boolean optional) throws IOException {
        return switch (v) {
            case null -> {
                if (optional) yield LoraTargets.of(List.of());
                throw AdapterConfigJson.bad(cfg, "needs " + field);
            }
            case String s -> LoraTargets.regex(s);
            case List<?> l -> {
                List<String> names = new ArrayList<>();
                for (Object o : l)
                    if (o instanceof String s) names.add(s);
                    else throw AdapterConfigJson.bad(cfg, field + " holds " + o);
                yield LoraTargets.of(names);
            }
            case Object o -> throw AdapterConfigJson.bad(cfg, field + " must be a string or a list, got " + o);
        };
    }

    /**
     * Adds adapter {@code name} from {@code dir} to {@code model} and copies its vectors. Without {@code trainable}
     * (peft's default) the vectors are frozen and the model is put in eval mode. Missing, unexpected or mis-shaped keys
     * fail with all of them listed.
     */
    public static Ia3Config load(Path dir, Module model, String name, boolean trainable) throws IOException {
        Ia3Config config = readConfig(dir);
        Ia3.apply(model, config, name);
        Map<String, Tensor> own = Ia3.adapterStateDict(model, name);
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(AdapterFiles.WEIGHTS))) {
            List<String> problems = new ArrayList<>();
            for (var e : own.entrySet()) {
                if (!file.contains(e.getKey())) problems.add("missing " + e.getKey());
                else if (!Arrays.equals(file.shape(e.getKey()), e.getValue().dims()))
                    problems.add("size mismatch " + e.getKey() + ": file " + Arrays.toString(file.shape(e.getKey()))
                            + " vs model " + e.getValue().shape());
            }
            for (String k : file.names()) if (!own.containsKey(k)) problems.add("unexpected " + k);
            if (!problems.isEmpty()) throw new IOException("Ia3Files.load " + dir + ": " + problems);
            try (var _ = Autograd.noGrad()) {
                for (var e : own.entrySet()) e.getValue().copy_(file.tensor(e.getKey()));
            }
        }
        Ia3.setActive(model, name, trainable);
        if (!trainable) model.eval();
        return config;
    }
}
