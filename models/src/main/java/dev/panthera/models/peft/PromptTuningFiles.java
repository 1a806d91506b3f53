package dev.panthera.models.peft;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.PromptTuning;
import dev.panthera.tensor.Autograd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Saves and loads a prompt-tuning adapter ({@link PromptTuning}) as peft's {@code save_pretrained} lays out
 * PROMPT_TUNING for a causal LM: {@code adapter_model.safetensors} with one tensor {@code prompt_embeddings}
 * [num_virtual_tokens, token_dim] and {@code adapter_config.json} with every field peft 0.21 writes. Reading refuses,
 * naming the field, a config for another model width or an encoder-decoder (num_transformer_submodules 2). How the
 * prompt was initialised (RANDOM or TEXT) does not matter for loading: its trained values are in the file.
 */
public final class PromptTuningFiles {
    private PromptTuningFiles() {}

    static final String KEY = "prompt_embeddings";

    /** Writes {@code tuned}'s prompt into {@code dir} (created if needed). */
    public static void save(Path dir, PromptTuning tuned, AdapterConfigJson.Info info) throws IOException {
        Files.createDirectories(dir);
        SafetensorsWriter.write(
                dir.resolve(AdapterFiles.WEIGHTS),
                Map.of("format", "pt"),
                List.of(SafetensorsWriter.Item.of(KEY, tuned.prompt().contiguous())));
        var c = tuned.base().config();
        Map<String, Object> f = new TreeMap<>();
        f.put("auto_mapping", null);
        f.put("base_model_name_or_path", info.baseModelNameOrPath());
        f.put("inference_mode", true);
        f.put("modules_to_save", null);
        f.put("num_attention_heads", c.heads());
        f.put("num_layers", c.layers());
        f.put("num_transformer_submodules", 1);
        f.put("num_virtual_tokens", tuned.numVirtualTokens());
        f.put("peft_type", "PROMPT_TUNING");
        f.put("peft_version", AdapterConfigJson.PEFT_FORMAT_VERSION);
        f.put("prompt_tuning_init", "RANDOM");
        f.put("prompt_tuning_init_text", null);
        f.put("revision", info.revision());
        f.put("task_type", info.taskType());
        f.put("token_dim", c.dim());
        f.put("tokenizer_kwargs", null);
        f.put("tokenizer_name_or_path", null);
        AdapterConfigJson.writeObject(dir.resolve(AdapterFiles.CONFIG), f);
    }

    /**
     * Wraps {@code model} with the prompt saved in {@code dir}. Without {@code trainable} (peft's default) the prompt is
     * frozen and the model is put in eval mode.
     */
    public static PromptTuning load(Path dir, CausalLm model, boolean trainable) throws IOException {
        Path cfg = dir.resolve(AdapterFiles.CONFIG);
        Map<String, Object> f = AdapterConfigJson.readObject(cfg);
        if (!"PROMPT_TUNING".equals(f.get("peft_type")))
            throw AdapterConfigJson.bad(cfg, "peft_type is " + f.get("peft_type") + ", expected PROMPT_TUNING");
        int v = AdapterConfigJson.integer(cfg, f, "num_virtual_tokens", -1);
        if (v <= 0) throw AdapterConfigJson.bad(cfg, "needs a positive num_virtual_tokens");
        int dim = AdapterConfigJson.integer(cfg, f, "token_dim", model.config().dim());
        if (dim != model.config().dim())
            throw AdapterConfigJson.bad(
                    cfg,
                    "token_dim " + dim + " but the model's width is "
                            + model.config().dim());
        int sub = AdapterConfigJson.integer(cfg, f, "num_transformer_submodules", 1);
        if (sub != 1) throw AdapterConfigJson.bad(cfg, "num_transformer_submodules " + sub + ": a decoder has 1");
        if (f.get("modules_to_save") != null)
            throw AdapterConfigJson.bad(cfg, "not implemented here: modules_to_save = " + f.get("modules_to_save"));
        PromptTuning tuned = new PromptTuning(model, v, 0);
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(AdapterFiles.WEIGHTS))) {
            if (!file.contains(KEY) || file.names().size() != 1)
                throw new IOException(
                        "PromptTuningFiles.load " + dir + ": expected exactly " + KEY + ", found " + file.names());
            if (!Arrays.equals(file.shape(KEY), tuned.prompt().dims()))
                throw new IOException(
                        "PromptTuningFiles.load " + dir + ": " + KEY + " is " + Arrays.toString(file.shape(KEY))
                                + ", expected " + tuned.prompt().shape());
            try (var _ = Autograd.noGrad()) {
                tuned.prompt().copy_(file.tensor(KEY));
            }
        }
        if (!trainable) {
            tuned.prompt().requiresGrad(false);
            tuned.eval();
        }
        return tuned;
    }
}
