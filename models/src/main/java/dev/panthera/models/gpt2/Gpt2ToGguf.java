package dev.panthera.models.gpt2;

import dev.panthera.models.io.GgufVocab;
import dev.panthera.models.io.GgufWriter;
import dev.panthera.models.io.Weights;
import dev.panthera.models.llama.ConfigJson;
import dev.panthera.models.tokenizer.HfVocabulary;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a HuggingFace GPT-2 folder (GPT2LMHeadModel: config.json, model.safetensors or shards, tokenizer.json) as an
 * F32 GGUF of arch {@code gpt2} the way llama.cpp's convert_hf_to_gguf does: {@code gpt2.*} metadata, tensors under
 * llama.cpp's names with the Conv1D weights ([in, out]) transposed to [out, in], the tied head written out as
 * {@code output.weight} (a copy of the token embedding, which llama.cpp's gpt2 graph reads), and the tokenizer by
 * {@link HfVocabulary}. GGUF's gpt2 arch has the tanh GELU only, so {@code activation_function "gelu"} (erf) is
 * refused.
 */
public final class Gpt2ToGguf {
    private Gpt2ToGguf() {}

    /** Whether {@code dir}'s config.json names GPT-2 (GPT2LMHeadModel or model_type gpt2). */
    public static boolean isGpt2(Path dir) throws IOException {
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) return false;
        ConfigJson j = ConfigJson.read(cfg);
        Object archs = j.raw("architectures");
        String arch = archs instanceof java.util.List<?> l && !l.isEmpty()
                ? String.valueOf(l.get(0))
                : j.string("model_type", "");
        return arch.equals("GPT2LMHeadModel") || arch.equals("gpt2");
    }

    /** Converts the GPT-2 folder {@code dir} to an F32 GGUF at {@code out}. */
    public static void write(Path dir, Path out) throws IOException {
        Path cfgFile = dir.resolve("config.json");
        Gpt2Config c = Gpt2Loader.fromHfConfig(ConfigJson.read(cfgFile));
        if (!c.tanhGelu())
            throw new IllegalArgumentException(
                    cfgFile + ": activation_function 'gelu' (erf) has no GGUF form: llama.cpp's"
                            + " gpt2 arch uses the tanh GELU (gelu_new)");
        HfVocabulary vocab = HfVocabulary.read(dir, c.vocab());
        Path index = dir.resolve("model.safetensors.index.json"), single = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(index) && !Files.isRegularFile(single))
            throw new IllegalArgumentException(dir + ": no model.safetensors or model.safetensors.index.json");
        try (Weights w = Weights.open(Files.isRegularFile(index) ? index : single)) {
            GgufWriter g = new GgufWriter()
                    .put("general.architecture", "gpt2")
                    .put("general.name", dir.getFileName().toString())
                    .putU32("gpt2.context_length", c.maxSeq())
                    .putU32("gpt2.embedding_length", c.dim())
                    .putU32("gpt2.feed_forward_length", c.hidden())
                    .putU32("gpt2.block_count", c.layers())
                    .putU32("gpt2.attention.head_count", c.heads())
                    .put("gpt2.attention.layer_norm_epsilon", (float) c.normEps());
            if (vocab != null) GgufVocab.write(g, vocab);
            String p = w.contains("transformer.wte.weight") ? "transformer." : "";
            copy(g, w, p + "wte.weight", "token_embd.weight", false);
            copy(g, w, p + "wpe.weight", "position_embd.weight", false);
            copy(g, w, p + "wte.weight", "output.weight", false);
            copy(g, w, p + "ln_f.weight", "output_norm.weight", false);
            copy(g, w, p + "ln_f.bias", "output_norm.bias", false);
            for (int l = 0; l < c.layers(); l++) {
                String h = p + "h." + l + ".", b = "blk." + l + ".";
                for (String[] n : new String[][] {{"ln_1", "attn_norm"}, {"ln_2", "ffn_norm"}}) {
                    copy(g, w, h + n[0] + ".weight", b + n[1] + ".weight", false);
                    copy(g, w, h + n[0] + ".bias", b + n[1] + ".bias", false);
                }
                for (String[] n : new String[][] {
                    {"attn.c_attn", "attn_qkv"},
                    {"attn.c_proj", "attn_output"},
                    {"mlp.c_fc", "ffn_up"},
                    {"mlp.c_proj", "ffn_down"}
                }) {
                    copy(g, w, h + n[0] + ".weight", b + n[1] + ".weight", true);
                    copy(g, w, h + n[0] + ".bias", b + n[1] + ".bias", false);
                }
            }
            g.write(out);
        }
    }

    private static void copy(GgufWriter g, Weights w, String from, String to, boolean transpose) {
        if (!w.contains(from))
            throw new IllegalArgumentException("gpt2 convert: the checkpoint has no tensor '" + from + "'");
        Tensor t = w.tensor(from);
        if (transpose) t = t.t().contiguous();
        g.tensor(to, GgmlType.F32, t.dims(), t.toFloatArray());
    }
}
