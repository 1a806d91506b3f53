package dev.panthera.models.gpt2;

import dev.panthera.models.io.GgufFile;
import dev.panthera.models.io.GgufValue;
import dev.panthera.models.io.GgufVocab;
import dev.panthera.models.io.Weights;
import dev.panthera.models.llama.ConfigJson;
import dev.panthera.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Reads a GPT-2 config and weights from a HuggingFace folder (config.json, model.safetensors or shards,
 * tokenizer.json) or a GGUF file written the way llama.cpp's convert_hf_to_gguf writes arch {@code gpt2}: config
 * from {@code gpt2.*} metadata, tokenizer from {@code tokenizer.ggml.*} (BPE tokens and merges).
 */
final class Gpt2Loader {
    private Gpt2Loader() {}

    static Gpt2Model load(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such file or folder");
        if (Files.isDirectory(path)) return huggingFace(path);
        return gguf(path);
    }

    static Gpt2Model huggingFace(Path dir) throws IOException {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile)) throw new IllegalArgumentException(dir + ": no config.json in this folder");
        Gpt2Config c = fromHfConfig(ConfigJson.read(cfgFile));
        Path index = dir.resolve("model.safetensors.index.json"), single = dir.resolve("model.safetensors");
        Weights w;
        if (Files.isRegularFile(index)) w = Weights.open(index);
        else if (Files.isRegularFile(single)) w = Weights.open(single);
        else throw new IllegalArgumentException(dir + ": no model.safetensors or model.safetensors.index.json");
        Path tok = dir.resolve("tokenizer.json");
        try {
            Tokenizer t = Files.isRegularFile(tok) ? Tokenizer.fromHuggingFaceJson(tok) : null;
            return new Gpt2Model(c, w, false, t);
        } catch (IOException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    static Gpt2Config fromHfConfig(ConfigJson j) {
        Object archs = j.raw("architectures");
        String arch =
                archs instanceof List<?> l && !l.isEmpty() ? String.valueOf(l.get(0)) : j.string("model_type", "");
        if (!arch.equals("GPT2LMHeadModel") && !arch.equals("gpt2"))
            throw new IllegalArgumentException(
                    "config.json: architecture '" + arch + "' is not GPT-2 (GPT2LMHeadModel)");
        String act = j.string("activation_function", "gelu_new");
        boolean tanh = switch (act) {
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> true;
            case "gelu" -> false;
            default -> throw new IllegalArgumentException("config.json: unsupported activation_function '" + act + "'");
        };
        // options that change the arithmetic away from GPT-2's are refused rather than silently ignored
        if (j.bool("scale_attn_by_inverse_layer_idx", false))
            throw new IllegalArgumentException("config.json: scale_attn_by_inverse_layer_idx is not supported");
        if (!j.bool("scale_attn_weights", true))
            throw new IllegalArgumentException("config.json: scale_attn_weights=false is not supported");
        if (j.bool("add_cross_attention", false))
            throw new IllegalArgumentException("config.json: add_cross_attention is not supported");
        int dim = j.integer("n_embd");
        int[] bos = j.integers("bos_token_id"), eos = j.integers("eos_token_id");
        return new Gpt2Config(
                dim,
                j.integer("n_inner", 4 * dim),
                j.integer("n_layer"),
                j.integer("n_head"),
                j.integer("vocab_size"),
                j.integer("n_positions", j.integer("n_ctx", 1024)),
                j.number("layer_norm_epsilon", 1e-5),
                tanh,
                bos.length > 0 ? bos[0] : -1,
                eos);
    }

    static Gpt2Model gguf(Path path) throws IOException {
        GgufFile g = GgufFile.open(path);
        try {
            Map<String, GgufValue> kv = g.metadata();
            if (!(kv.get("general.architecture") instanceof GgufValue.Str(String arch)) || !arch.equals("gpt2"))
                throw new IllegalArgumentException(
                        path + ": general.architecture is " + kv.get("general.architecture") + ", not gpt2");
            int dim = integer(kv, "gpt2.embedding_length");
            long[] emb = g.shape("token_embd.weight");
            int bos = kv.containsKey("tokenizer.ggml.bos_token_id") ? integer(kv, "tokenizer.ggml.bos_token_id") : -1;
            int eos = kv.containsKey("tokenizer.ggml.eos_token_id") ? integer(kv, "tokenizer.ggml.eos_token_id") : -1;
            Gpt2Config c = new Gpt2Config(
                    dim,
                    kv.containsKey("gpt2.feed_forward_length") ? integer(kv, "gpt2.feed_forward_length") : 4 * dim,
                    integer(kv, "gpt2.block_count"),
                    integer(kv, "gpt2.attention.head_count"),
                    Math.toIntExact(emb[0]),
                    integer(kv, "gpt2.context_length"),
                    number(kv, "gpt2.attention.layer_norm_epsilon"),
                    true,
                    bos,
                    eos < 0 ? new int[0] : new int[] {eos});
            Tokenizer t = kv.containsKey("tokenizer.ggml.tokens") ? GgufVocab.tokenizer(g) : null;
            return new Gpt2Model(c, g, true, t);
        } catch (IOException | RuntimeException e) {
            g.close();
            throw e;
        }
    }

    private static GgufValue value(Map<String, GgufValue> kv, String key) {
        GgufValue v = kv.get(key);
        if (v == null) throw new IllegalArgumentException("GGUF: metadata '" + key + "' is missing");
        return v;
    }

    private static int integer(Map<String, GgufValue> kv, String key) {
        try {
            return Math.toIntExact(value(kv, key).asLong());
        } catch (IllegalStateException | ArithmeticException e) {
            throw new IllegalArgumentException("GGUF: metadata '" + key + "' is not an int: " + kv.get(key), e);
        }
    }

    private static double number(Map<String, GgufValue> kv, String key) {
        try {
            return value(kv, key).asDouble();
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException("GGUF: metadata '" + key + "' is not a number: " + kv.get(key), e);
        }
    }
}
