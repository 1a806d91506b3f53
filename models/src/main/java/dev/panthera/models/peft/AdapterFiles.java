package dev.panthera.models.peft;

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

/**
 * Saves and loads one LoRA adapter alone, as peft's {@code save_pretrained} lays it out: a directory with
 * {@code adapter_model.safetensors} (keys {@code base_model.model.<path>.lora_A.weight} / {@code lora_B.weight}, and
 * {@code base_model.model.<path>.<parameter>} for modules_to_save) and {@code adapter_config.json} (see
 * {@link AdapterConfigJson}). The weights go through {@link SafetensorsWriter} and {@link SafetensorsFile}, so an
 * adapter file is held to the same header checks as any checkpoint.
 */
public final class AdapterFiles {
    private AdapterFiles() {}

    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String CONFIG = "adapter_config.json";

    /** Writes adapter {@code name} of {@code model} with {@code config} into {@code dir} (created if needed). */
    public static void save(Path dir, Module model, String name, LoraConfig config) throws IOException {
        save(dir, model, name, config, AdapterConfigJson.Info.NONE);
    }

    /** As {@link #save(Path, Module, String, LoraConfig)}, recording task type and base model in the config. */
    public static void save(Path dir, Module model, String name, LoraConfig config, AdapterConfigJson.Info info)
            throws IOException {
        Files.createDirectories(dir);
        Map<String, Tensor> weights = Lora.adapterStateDict(model, name);
        if (weights.isEmpty())
            throw new IllegalArgumentException("AdapterFiles.save: the model has no adapter '" + name + "'");
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        for (var e : weights.entrySet())
            items.add(SafetensorsWriter.Item.of(e.getKey(), e.getValue().contiguous()));
        SafetensorsWriter.write(dir.resolve(WEIGHTS), Map.of("format", "pt"), items);
        AdapterConfigJson.write(dir.resolve(CONFIG), config, info);
    }

    /** Reads {@code adapter_config.json} from {@code dir}. */
    public static LoraConfig readConfig(Path dir) throws IOException {
        return AdapterConfigJson.read(dir.resolve(CONFIG));
    }

    /**
     * Loads adapter {@code name} for inference, as peft's {@code from_pretrained} does by default
     * ({@code is_trainable=False}): the adapter becomes active, its weights stay frozen and the whole model is put in
     * eval mode, so LoRA dropout is off and outputs are deterministic.
     */
    public static LoraConfig load(Path dir, Module model, String name) throws IOException {
        return load(dir, model, name, false);
    }

    /**
     * Adds adapter {@code name} to {@code model} from {@code dir}: applies the saved config, copies every weight and
     * activates it. With {@code trainable} (peft's {@code is_trainable=True}) the adapter's weights require grad and the
     * model's train/eval mode is left as it is; without, see {@link #load(Path, Module, String)}. Missing, unexpected or
     * mis-shaped keys fail with all of them listed (the adapter's layers have been added to the model by then, with
     * their initial weights).
     */
    public static LoraConfig load(Path dir, Module model, String name, boolean trainable) throws IOException {
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
        Lora.setActive(model, name, trainable);
        if (!trainable) model.eval();
        return config;
    }
}
