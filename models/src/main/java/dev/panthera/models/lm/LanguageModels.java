package dev.panthera.models.lm;

import dev.panthera.models.gpt2.Gpt2Model;
import dev.panthera.models.io.GgufFile;
import dev.panthera.models.llama.ConfigJson;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.QuantizedCheckpoint;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Opens any supported causal LM by looking at the file: GPT-2 when a HuggingFace folder's config.json says
 * {@code model_type: gpt2} (or GPT2LMHeadModel) or a GGUF file says {@code general.architecture = gpt2}; the Llama
 * family otherwise: a folder with a {@code quantization_config} (GPTQ, GWQ, bitsandbytes 4-bit) through
 * {@link QuantizedCheckpoint}, its layers kept packed, anything else through {@link LlamaModel#load(Path, Path)}, which
 * reports unknown architectures.
 */
public final class LanguageModels {
    private LanguageModels() {}

    /** {@code tokenizer} names a llama2.c tokenizer.bin for a llama2.c checkpoint, or is null. */
    public static LanguageModel load(Path path, Path tokenizer) throws IOException {
        if (isGpt2(path)) {
            if (tokenizer != null)
                throw new IllegalArgumentException(path + ": a separate tokenizer file applies only to llama2.c"
                        + " checkpoints; GPT-2 reads its own");
            return Gpt2Model.load(path);
        }
        if (isQuantizedFolder(path)) {
            if (tokenizer != null)
                throw new IllegalArgumentException(path + ": a separate tokenizer file applies only to llama2.c"
                        + " checkpoints; a quantized folder reads its own");
            return QuantizedCheckpoint.load(path);
        }
        return LlamaModel.load(path, tokenizer);
    }

    /** A HuggingFace folder whose config.json has a {@code quantization_config} ({@link QuantizedCheckpoint}). */
    static boolean isQuantizedFolder(Path path) throws IOException {
        if (!Files.isDirectory(path)) return false;
        Path cfg = path.resolve("config.json");
        return Files.isRegularFile(cfg) && ConfigJson.read(cfg).has("quantization_config");
    }

    static boolean isGpt2(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path cfg = path.resolve("config.json");
            if (!Files.isRegularFile(cfg)) return false;
            ConfigJson j = ConfigJson.read(cfg);
            Object archs = j.raw("architectures");
            return j.string("model_type", "").equals("gpt2")
                    || (archs instanceof List<?> l && !l.isEmpty() && "GPT2LMHeadModel".equals(l.get(0)));
        }
        if (!Files.isRegularFile(path)) return false;
        byte[] magic;
        try (InputStream in = Files.newInputStream(path)) {
            magic = in.readNBytes(4);
        }
        if (!new String(magic, StandardCharsets.US_ASCII).equals("GGUF")) return false;
        return "gpt2".equals(GgufFile.metadataString(path, "general.architecture"));
    }
}
