package dev.panthera.models.llama;

import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.layers.Rope;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Saves an nn {@link CausalLm} (for instance one just trained) as a HuggingFace Llama folder, as transformers'
 * {@code save_pretrained} lays it out: {@code config.json} ({@code LlamaForCausalLM}) and {@code model.safetensors} in
 * F32 under the HF state-dict names. {@link LlamaModel#load(Path)} and transformers both read the result.
 */
public final class Pretrained {
    private Pretrained() {}

    /**
     * Writes {@code model} into {@code dir} (created if absent; existing config.json / model.safetensors replaced).
     * {@code bos} and {@code eos} are the special ids recorded in config.json (−1 for none). The model must use HF's
     * half-split RoPE layout (the layout HF checkpoints assume) and hold no unmerged LoRA adapters.
     */
    public static void save(CausalLm model, Path dir, int bos, int eos) throws IOException {
        DecoderConfig c = model.config();
        if (c.ropeLayout() != Rope.Layout.HALF)
            throw new IllegalArgumentException(
                    "Pretrained.save: HF Llama checkpoints assume the half-split RoPE layout;" + " this model uses "
                            + c.ropeLayout());
        Map<String, Tensor> state = model.stateDict();
        for (String name : state.keySet()) {
            if (name.contains("lora_") || name.contains("base_layer"))
                throw new IllegalArgumentException("Pretrained.save: '" + name
                        + "' belongs to a LoRA adapter; merge it first (Lora.mergeAndUnload)");
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), configJson(c, bos, eos));
        try (var scope = MemoryScope.open()) {
            List<SafetensorsWriter.Item> items = new ArrayList<>();
            for (var e : state.entrySet()) {
                Tensor t = e.getValue().detach();
                if (t.dtype() != DType.F32) t = t.to(DType.F32);
                items.add(SafetensorsWriter.Item.of(e.getKey(), t.contiguous()));
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of("format", "pt"), items);
        }
    }

    static String configJson(DecoderConfig c, int bos, int eos) {
        return String.format(
                Locale.ROOT,
                """
                {
                  "architectures": ["LlamaForCausalLM"],
                  "model_type": "llama",
                  "hidden_size": %d,
                  "intermediate_size": %d,
                  "num_hidden_layers": %d,
                  "num_attention_heads": %d,
                  "num_key_value_heads": %d,
                  "vocab_size": %d,
                  "max_position_embeddings": %d,
                  "rms_norm_eps": %s,
                  "rope_theta": %s,
                  "tie_word_embeddings": false,
                  "hidden_act": "silu",
                  "bos_token_id": %s,
                  "eos_token_id": %s,
                  "torch_dtype": "float32"
                }
                """,
                c.dim(),
                c.hidden(),
                c.layers(),
                c.heads(),
                c.kvHeads(),
                c.vocab(),
                c.maxSeq(),
                Double.toString(c.normEps()),
                Double.toString(c.ropeBase()),
                bos < 0 ? "null" : Integer.toString(bos),
                eos < 0 ? "null" : Integer.toString(eos));
    }
}
