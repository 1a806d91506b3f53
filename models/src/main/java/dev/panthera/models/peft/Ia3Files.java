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
 * {@code adapter_config.json} with peft_type IA3 and every field peft 0.21 writes for it. modules_to_save copies go in
 * as {@code base_model.model.<path>.<parameter>} (peft's key for a ModulesToSaveWrapper's active copy), exclude_modules
 * as a list or a regex. {@code fan_in_fan_out = true} is read as peft reads it for a torch.nn.Linear target: with a
 * warning, as false (it describes [in, out] weights, which no Linear here has), and written back as false, as peft
 * saves it after that reset.
 */
public final class Ia3Files {
    private Ia3Files() {}

    private static final System.Logger LOG = System.getLogger(Ia3Files.class.getName());

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
        LoraTargets t = config.targets();
        f.put(
                "exclude_modules",
                t.excludeRegex() != null
                        ? t.excludeRegex().pattern()
                        : t.excludeNames().isEmpty() ? null : new ArrayList<>(new TreeSet<>(t.excludeNames())));
        f.put("fan_in_fan_out", false);
        f.put("feedforward_modules", targets(config.feedforward()));
        f.put("inference_mode", true);
        f.put("init_ia3_weights", config.initOnes());
        f.put("modules_to_save", config.modulesToSave().isEmpty() ? null : config.modulesToSave());
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
        Object fifo = f.getOrDefault("fan_in_fan_out", false);
        if (fifo != null && !(fifo instanceof Boolean))
            throw AdapterConfigJson.bad(cfg, "fan_in_fan_out must be true or false, got " + fifo);
        if (Boolean.TRUE.equals(fifo))
            LOG.log(
                    System.Logger.Level.WARNING,
                    "{0}: fan_in_fan_out is true but the targets are Linear layers ([out, in] weights); reading it as"
                            + " false, as peft does",
                    cfg);
        Object init = f.getOrDefault("init_ia3_weights", true);
        if (!(init instanceof Boolean))
            throw AdapterConfigJson.bad(cfg, "init_ia3_weights must be a boolean, got " + init);
        LoraTargets targets = targets(cfg, "target_modules", f.get("target_modules"), false);
        LoraTargets ff = targets(cfg, "feedforward_modules", f.get("feedforward_modules"), true);
        List<String> save = switch (f.get("modules_to_save")) {
            case null -> List.of();
            case List<?> l -> names(cfg, "modules_to_save", l);
            case Object o -> throw AdapterConfigJson.bad(cfg, "modules_to_save must be a list, got " + o);
        };
        try {
            targets = switch (f.get("exclude_modules")) {
                case null -> targets;
                case String s -> targets.withExcludeRegex(s);
                case List<?> l -> targets.withExclude(names(cfg, "exclude_modules", l));
                case Object o ->
                    throw AdapterConfigJson.bad(cfg, "exclude_modules must be a string or a list, got " + o);
            };
            return new Ia3Config(targets, ff, (Boolean) init, save);
        } catch (IllegalArgumentException e) {
            throw AdapterConfigJson.bad(cfg, e.getMessage());
        }
    }

    private static LoraTargets targets(Path cfg, String field, Object v, boolean optional) throws IOException {
        return switch (v) {
            case null -> {
                if (optional) yield LoraTargets.of(List.of());
                throw AdapterConfigJson.bad(cfg, "needs " + field);
            }
            case String s -> LoraTargets.regex(s);
            case List<?> l -> LoraTargets.of(names(cfg, field, l));
            case Object o -> throw AdapterConfigJson.bad(cfg, field + " must be a string or a list, got " + o);
        };
    }

    private static List<String> names(Path cfg, String field, List<?> l) throws IOException {
        List<String> names = new ArrayList<>();
        for (Object o : l)
            if (o instanceof String s) names.add(s);
            else throw AdapterConfigJson.bad(cfg, field + " holds " + o);
        return names;
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
