package dev.panthera.models.peft;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.LlamaAdapter;
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

/**
 * Saves and loads a LLaMA-Adapter ({@link LlamaAdapter}) as peft's {@code save_pretrained} lays out an adaption prompt:
 * {@code adapter_model.safetensors} with {@code base_model.model.<path>.adaption_prompt} [1, len, dim] and
 * {@code adaption_gate} [1] per adapted block, and {@code adapter_config.json} with peft_type ADAPTION_PROMPT,
 * adapter_len, adapter_layers and target_modules {@code self_attn}.
 */
public final class AdaptionPromptFiles {
    private AdaptionPromptFiles() {}

    /** Writes the model's adaption prompts into {@code dir} (created if needed). */
    public static void save(Path dir, CausalLm model, AdapterConfigJson.Info info) throws IOException {
        int[] shape = LlamaAdapter.shape(model);
        if (shape[0] == 0)
            throw new IllegalArgumentException("AdaptionPromptFiles.save: the model has no adaption prompt");
        Files.createDirectories(dir);
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        for (var e : LlamaAdapter.stateDict(model).entrySet())
            items.add(SafetensorsWriter.Item.of(e.getKey(), e.getValue().contiguous()));
        SafetensorsWriter.write(dir.resolve(AdapterFiles.WEIGHTS), Map.of("format", "pt"), items);
        Map<String, Object> f = new TreeMap<>();
        f.put("adapter_layers", shape[0]);
        f.put("adapter_len", shape[1]);
        f.put("auto_mapping", null);
        f.put("base_model_name_or_path", info.baseModelNameOrPath());
        f.put("inference_mode", true);
        f.put("peft_type", "ADAPTION_PROMPT");
        f.put("peft_version", AdapterConfigJson.PEFT_FORMAT_VERSION);
        f.put("revision", info.revision());
        f.put("target_modules", "self_attn");
        f.put("task_type", info.taskType());
        AdapterConfigJson.writeObject(dir.resolve(AdapterFiles.CONFIG), f);
    }

    /**
     * Adds the adaption prompts saved in {@code dir} to {@code model} and copies their weights. Without
     * {@code trainable} (peft's default) the prompts are frozen and the model is put in eval mode.
     *
     * @return {adapter_layers, adapter_len}
     */
    public static int[] load(Path dir, CausalLm model, boolean trainable) throws IOException {
        Path cfg = dir.resolve(AdapterFiles.CONFIG);
        Map<String, Object> f = AdapterConfigJson.readObject(cfg);
        if (!"ADAPTION_PROMPT".equals(f.get("peft_type")))
            throw AdapterConfigJson.bad(cfg, "peft_type is " + f.get("peft_type") + ", expected ADAPTION_PROMPT");
        Object target = f.getOrDefault("target_modules", "self_attn");
        if (target != null && !"self_attn".equals(target))
            throw AdapterConfigJson.bad(cfg, "target_modules " + target + ": only self_attn blocks take prompts");
        int layers = AdapterConfigJson.integer(cfg, f, "adapter_layers", -1);
        int length = AdapterConfigJson.integer(cfg, f, "adapter_len", -1);
        if (layers <= 0 || length <= 0)
            throw AdapterConfigJson.bad(cfg, "needs positive adapter_layers and adapter_len");
        LlamaAdapter.apply(model, layers, length, 0);
        Map<String, Tensor> own = LlamaAdapter.stateDict(model);
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(AdapterFiles.WEIGHTS))) {
            List<String> problems = new ArrayList<>();
            for (var e : own.entrySet()) {
                if (!file.contains(e.getKey())) problems.add("missing " + e.getKey());
                else if (!Arrays.equals(file.shape(e.getKey()), e.getValue().dims()))
                    problems.add("size mismatch " + e.getKey() + ": file " + Arrays.toString(file.shape(e.getKey()))
                            + " vs model " + e.getValue().shape());
            }
            for (String k : file.names()) if (!own.containsKey(k)) problems.add("unexpected " + k);
            if (!problems.isEmpty()) throw new IOException("AdaptionPromptFiles.load " + dir + ": " + problems);
            try (var _ = Autograd.noGrad()) {
                for (var e : own.entrySet()) e.getValue().copy_(file.tensor(e.getKey()));
            }
        }
        if (!trainable) {
            for (Tensor t : own.values()) t.requiresGrad(false);
            model.eval();
        }
        return new int[] {layers, length};
    }
}
