package dev.panthera.models.peft;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.PrefixTuning;
import dev.panthera.tensor.Autograd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Saves and loads a prefix-tuning adapter ({@link PrefixTuning}) as peft's {@code save_pretrained} lays out
 * PREFIX_TUNING for a causal LM: {@code adapter_model.safetensors} with one tensor {@code prompt_embeddings}
 * [num_virtual_tokens, num_layers·2·token_dim] and {@code adapter_config.json} with every field peft 0.21 writes,
 * token_dim and num_attention_heads counting key/value heads as peft does for grouped-query models. With
 * prefix_projection the file holds, as peft's, the MLP's output (the prefix itself), not the MLP: it loads as a fixed
 * table for inference, and loading it to train is refused, as peft refuses it, since the MLP cannot be recovered.
 * Reading refuses, naming the field, configs for another model shape.
 */
public final class PrefixTuningFiles {
    private PrefixTuningFiles() {}

    /** Writes {@code tuned}'s prefix table into {@code dir} (created if needed). */
    public static void save(Path dir, PrefixTuning tuned, AdapterConfigJson.Info info) throws IOException {
        Files.createDirectories(dir);
        SafetensorsWriter.write(
                dir.resolve(AdapterFiles.WEIGHTS),
                Map.of("format", "pt"),
                List.of(SafetensorsWriter.Item.of(PromptTuningFiles.KEY, table(tuned))));
        var c = tuned.base().config();
        int tokenDim = PrefixTuning.tokenDim(tuned.base());
        Map<String, Object> f = new TreeMap<>();
        f.put("auto_mapping", null);
        f.put("base_model_name_or_path", info.baseModelNameOrPath());
        f.put("encoder_hidden_size", tuned.encoderHiddenSize());
        f.put("inference_mode", true);
        f.put("init_weights", null);
        f.put("modules_to_save", null);
        f.put("num_attention_heads", c.kvHeads());
        f.put("num_layers", c.layers());
        f.put("num_transformer_submodules", 1);
        f.put("num_virtual_tokens", tuned.numVirtualTokens());
        f.put("peft_type", "PREFIX_TUNING");
        f.put("peft_version", AdapterConfigJson.PEFT_FORMAT_VERSION);
        f.put("prefix_projection", tuned.prefixProjection());
        f.put("revision", info.revision());
        f.put("task_type", info.taskType());
        f.put("token_dim", tokenDim);
        AdapterConfigJson.writeObject(dir.resolve(AdapterFiles.CONFIG), f);
    }

    /** The prefix as peft saves it: the table, or the projection's output, without a graph. */
    private static dev.panthera.tensor.Tensor table(PrefixTuning tuned) {
        try (var _ = Autograd.noGrad()) {
            return tuned.prompt().contiguous();
        }
    }

    /**
     * Wraps {@code model} with the prefix saved in {@code dir}. Without {@code trainable} (peft's default) the table is
     * frozen and the model is put in eval mode. With {@code trainable} a table saved without prefix_projection trains
     * on (peft refuses any trainable prompt-learning load; the table is all there is to train, so this is allowed); one
     * saved with prefix_projection is refused, naming the field.
     */
    public static PrefixTuning load(Path dir, CausalLm model, boolean trainable) throws IOException {
        Path cfg = dir.resolve(AdapterFiles.CONFIG);
        Map<String, Object> f = AdapterConfigJson.readObject(cfg);
        if (!"PREFIX_TUNING".equals(f.get("peft_type")))
            throw AdapterConfigJson.bad(cfg, "peft_type is " + f.get("peft_type") + ", expected PREFIX_TUNING");
        Object projection = f.getOrDefault("prefix_projection", false);
        if (!(projection instanceof Boolean))
            throw AdapterConfigJson.bad(cfg, "prefix_projection must be true or false, got " + projection);
        if (trainable && (Boolean) projection)
            throw AdapterConfigJson.bad(
                    cfg,
                    "prefix_projection = true: the file holds the projected prefix, not the MLP that made it, so it"
                            + " loads for inference only (peft refuses to train it too)");
        if (f.get("modules_to_save") != null)
            throw AdapterConfigJson.bad(cfg, "not implemented here: modules_to_save = " + f.get("modules_to_save"));
        int v = AdapterConfigJson.integer(cfg, f, "num_virtual_tokens", -1);
        if (v <= 0) throw AdapterConfigJson.bad(cfg, "needs a positive num_virtual_tokens");
        int layers =
                AdapterConfigJson.integer(cfg, f, "num_layers", model.config().layers());
        int tokenDim = AdapterConfigJson.integer(cfg, f, "token_dim", PrefixTuning.tokenDim(model));
        if (layers != model.config().layers() || tokenDim != PrefixTuning.tokenDim(model))
            throw AdapterConfigJson.bad(
                    cfg,
                    "num_layers " + layers + " and token_dim " + tokenDim + " but the model has "
                            + model.config().layers() + " layers and kvHeads·headDim " + PrefixTuning.tokenDim(model));
        int hidden = f.get("encoder_hidden_size") == null
                ? tokenDim
                : AdapterConfigJson.integer(cfg, f, "encoder_hidden_size", tokenDim);
        if (hidden <= 0) throw AdapterConfigJson.bad(cfg, "encoder_hidden_size must be positive, got " + hidden);
        long width = (long) layers * 2 * tokenDim;
        PrefixTuning tuned;
        String key = PromptTuningFiles.KEY;
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(AdapterFiles.WEIGHTS))) {
            if (!file.contains(key) || file.names().size() != 1)
                throw new IOException(
                        "PrefixTuningFiles.load " + dir + ": expected exactly " + key + ", found " + file.names());
            if (!Arrays.equals(file.shape(key), new long[] {v, width}))
                throw new IOException("PrefixTuningFiles.load " + dir + ": " + key + " is "
                        + Arrays.toString(file.shape(key)) + ", expected [" + v + ", " + width + "]");
            tuned = PrefixTuning.ofTable(model, file.tensor(key), (Boolean) projection, hidden);
        }
        if (trainable) tuned.prompt().requiresGrad(true);
        else tuned.eval();
        return tuned;
    }
}
