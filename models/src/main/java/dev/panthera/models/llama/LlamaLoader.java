package dev.panthera.models.llama;

import dev.panthera.models.io.GgufFile;
import dev.panthera.models.io.GgufValue;
import dev.panthera.models.io.GgufVocab;
import dev.panthera.models.io.Llama2cCheckpoint;
import dev.panthera.models.io.LoadMode;
import dev.panthera.models.io.Weights;
import dev.panthera.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Reads a Llama-family config and its weights from the three layouts: a HuggingFace folder (config.json, one
 * model.safetensors or shards with model.safetensors.index.json, tokenizer.json or else tokenizer.model), a GGUF file (config from the
 * {@code <arch>.*} metadata, tokenizer from its vocabulary) or a llama2.c checkpoint (header; optional tokenizer.bin).
 * HF checkpoints keep q/k rows in the half-split RoPE order; llama2.c and GGUF's llama arch store adjacent pairs
 * (llama.cpp's converter permutes HF rows), while GGUF's qwen2 arch keeps HF's order (llama.cpp's NEOX rope).
 */
final class LlamaLoader {
    private LlamaLoader() {}

    static LlamaModel load(Path path, Path tokenizer, QuantizedWeights quantized, LinearMaker maker)
            throws IOException {
        return load(path, tokenizer, quantized, maker, null);
    }

    /** {@code mode} null: {@link #chosenMode}. */
    static LlamaModel load(Path path, Path tokenizer, QuantizedWeights quantized, LinearMaker maker, LoadMode mode)
            throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such file or folder");
        if (mode == null) mode = chosenMode(path, quantized == QuantizedWeights.KEEP && maker == null);
        if (Files.isDirectory(path)) return huggingFace(path, maker, mode);
        if (isGguf(path)) return gguf(path, quantized, maker, mode);
        if (path.getFileName().toString().endsWith(".bin")) return llama2c(path, tokenizer, maker, mode);
        throw new IllegalArgumentException(path + ": not a model (expected a folder with config.json, a .gguf file or"
                + " a llama2.c .bin checkpoint)");
    }

    /**
     * The load mode when the caller names none: {@link LoadMode#HEAP} (faster decode, see there) when the model's
     * files take at most half of the Java heap still free, else {@link LoadMode#MAP}. A model whose weights are
     * converted at load ({@code asStored} false: a GGUF dequantized to F32, or a {@link LinearMaker}) is mapped: its
     * converted copies can be several times the file's size.
     */
    static LoadMode chosenMode(Path path, boolean asStored) throws IOException {
        if (!asStored) return LoadMode.MAP;
        long bytes = 0;
        if (Files.isDirectory(path)) {
            try (var files = Files.list(path)) {
                for (Path f : (Iterable<Path>) files::iterator)
                    if (f.getFileName().toString().endsWith(".safetensors")) bytes += Files.size(f);
            }
        } else {
            bytes = Files.size(path);
        }
        Runtime r = Runtime.getRuntime();
        long free = r.maxMemory() - (r.totalMemory() - r.freeMemory());
        return bytes <= free / 2 ? LoadMode.HEAP : LoadMode.MAP;
    }

    private static boolean isGguf(Path path) throws IOException {
        byte[] magic = new byte[4];
        try (var in = Files.newInputStream(path)) {
            return in.readNBytes(magic, 0, 4) == 4
                    && new String(magic, java.nio.charset.StandardCharsets.US_ASCII).equals("GGUF");
        }
    }

    // ---- HuggingFace folder ----

    static LlamaModel huggingFace(Path dir, LinearMaker maker, LoadMode mode) throws IOException {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile)) throw new IllegalArgumentException(dir + ": no config.json in this folder");
        LlamaConfig c = fromHfConfig(ConfigJson.read(cfgFile));
        Path index = dir.resolve("model.safetensors.index.json"), single = dir.resolve("model.safetensors");
        Weights w;
        if (Files.isRegularFile(index)) w = Weights.open(index, mode);
        else if (Files.isRegularFile(single)) w = Weights.open(single, mode);
        else throw new IllegalArgumentException(dir + ": no model.safetensors or model.safetensors.index.json");
        Path tok = dir.resolve("tokenizer.json"), spm = dir.resolve("tokenizer.model");
        try {
            // tokenizer.json first (what transformers' fast tokenizers read), else a SentencePiece tokenizer.model
            Tokenizer t = Files.isRegularFile(tok)
                    ? Tokenizer.fromHuggingFaceJson(tok)
                    : Files.isRegularFile(spm) ? Tokenizer.fromSentencePieceModel(spm) : null;
            return new LlamaModel(c, w, UnaryOperator.identity(), t, false, maker);
        } catch (IOException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    static LlamaConfig fromHfConfig(ConfigJson j) {
        Object archs = j.raw("architectures");
        String arch =
                archs instanceof List<?> l && !l.isEmpty() ? String.valueOf(l.get(0)) : j.string("model_type", "");
        boolean qwen = false;
        int window = 0;
        switch (arch) {
            case "LlamaForCausalLM", "llama" -> {}
            case "MistralForCausalLM", "mistral" -> window = j.integer("sliding_window", 0);
            case "Qwen2ForCausalLM", "qwen2" -> {
                qwen = true;
                if (j.bool("use_sliding_window", false)) window = j.integer("sliding_window", 0);
            }
            default ->
                throw new IllegalArgumentException("config.json: unknown architecture '" + arch
                        + "' (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
        }
        int dim = j.integer("hidden_size"), heads = j.integer("num_attention_heads");
        RopeScaling scaling = ropeScaling(j, j.integer("max_position_embeddings"));
        // linear and dynamic scaling exist to run past the trained length: by their factor
        int maxSeq = j.integer("max_position_embeddings");
        if (scaling.type() == RopeScaling.Type.LINEAR || scaling.type() == RopeScaling.Type.DYNAMIC)
            maxSeq = (int) Math.round(maxSeq * scaling.factor());
        int[] bos = j.integers("bos_token_id"), eos = j.integers("eos_token_id");
        return new LlamaConfig(
                arch,
                dim,
                j.integer("intermediate_size"),
                j.integer("num_hidden_layers"),
                heads,
                j.integer("num_key_value_heads", heads),
                j.integer("head_dim", dim / heads),
                j.integer("vocab_size"),
                maxSeq,
                j.number("rms_norm_eps", 1e-6),
                j.number("rope_theta", ropeParam(j, "rope_theta", 10000)),
                scaling,
                false,
                window,
                qwen || j.bool("attention_bias", false),
                j.bool("tie_word_embeddings", false),
                bos.length > 0 ? bos[0] : -1,
                eos);
    }

    /** transformers 5 may keep rope_theta inside rope_parameters. */
    private static double ropeParam(ConfigJson j, String key, double fallback) {
        ConfigJson p = j.object("rope_parameters");
        return p == null ? fallback : p.number(key, fallback);
    }

    static RopeScaling ropeScaling(ConfigJson j, int maxSeq) {
        ConfigJson s = j.object("rope_scaling");
        if (s == null) s = j.object("rope_parameters");
        if (s == null) return RopeScaling.NONE;
        String type = s.string("rope_type", s.string("type", "default"));
        double factor = s.number("factor", 1);
        return switch (type) {
            case "default" -> RopeScaling.NONE;
            case "linear" -> new RopeScaling(RopeScaling.Type.LINEAR, factor, 1, 4, maxSeq);
            case "dynamic" ->
                new RopeScaling(
                        RopeScaling.Type.DYNAMIC, factor, 1, 4, s.integer("original_max_position_embeddings", maxSeq));
            case "llama3" ->
                new RopeScaling(
                        RopeScaling.Type.LLAMA3,
                        factor,
                        s.number("low_freq_factor", 1),
                        s.number("high_freq_factor", 4),
                        s.integer("original_max_position_embeddings"));
            default -> throw new IllegalArgumentException("config.json: unsupported rope_scaling type '" + type + "'");
        };
    }

    // ---- GGUF ----

    static LlamaModel gguf(Path path, QuantizedWeights quantized, LinearMaker maker, LoadMode mode) throws IOException {
        GgufFile g = GgufFile.open(path, mode);
        try {
            Map<String, GgufValue> kv = g.metadata();
            String arch = str(kv, "general.architecture");
            if (!arch.equals("llama") && !arch.equals("qwen2"))
                throw new IllegalArgumentException(
                        path + ": unknown architecture '" + arch + "' (supported: llama, qwen2)");
            int dim = num(kv, arch + ".embedding_length").intValue();
            int heads = num(kv, arch + ".attention.head_count").intValue();
            int kvHeads = opt(kv, arch + ".attention.head_count_kv", heads);
            long[] embShape = g.shape("token_embd.weight");
            RopeScaling scaling = RopeScaling.NONE;
            if (kv.get(arch + ".rope.scaling.type") instanceof GgufValue.Str(String type) && type.equals("linear")) {
                double f = num(kv, arch + ".rope.scaling.factor").doubleValue();
                scaling = new RopeScaling(RopeScaling.Type.LINEAR, f, 1, 4, 0);
            }
            if (g.contains("rope_freqs.weight")) { // llama3 scaling as llama.cpp's converter stores it
                float[] f = g.tensor("rope_freqs.weight").toFloatArray();
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) d[i] = f[i];
                scaling = RopeScaling.factors(d);
            }
            int bos = opt(kv, "tokenizer.ggml.bos_token_id", -1), eos = opt(kv, "tokenizer.ggml.eos_token_id", -1);
            LlamaConfig c = new LlamaConfig(
                    arch,
                    dim,
                    num(kv, arch + ".feed_forward_length").intValue(),
                    num(kv, arch + ".block_count").intValue(),
                    heads,
                    kvHeads,
                    opt(kv, arch + ".attention.key_length", dim / heads),
                    Math.toIntExact(embShape[0]),
                    num(kv, arch + ".context_length").intValue(),
                    num(kv, arch + ".attention.layer_norm_rms_epsilon").doubleValue(),
                    kv.containsKey(arch + ".rope.freq_base")
                            ? num(kv, arch + ".rope.freq_base").doubleValue()
                            : 10000,
                    scaling,
                    arch.equals("llama"),
                    opt(kv, arch + ".attention.sliding_window", 0),
                    g.contains("blk.0.attn_q.bias"),
                    !g.contains("output.weight"),
                    bos,
                    eos < 0 ? new int[0] : new int[] {eos});
            Tokenizer t = kv.containsKey("tokenizer.ggml.tokens") ? GgufVocab.tokenizer(g) : null;
            return new LlamaModel(c, g, LlamaWeights::ggufName, t, quantized == QuantizedWeights.KEEP, maker);
        } catch (IOException | RuntimeException e) {
            g.close();
            throw e;
        }
    }

    private static String str(Map<String, GgufValue> kv, String key) {
        if (kv.get(key) instanceof GgufValue.Str(String s)) return s;
        throw new IllegalArgumentException("GGUF: metadata '" + key + "' is missing or not a string");
    }

    private static Number num(Map<String, GgufValue> kv, String key) {
        return switch (kv.get(key)) {
            case GgufValue.U8(int v) -> v;
            case GgufValue.I8(byte v) -> v;
            case GgufValue.U16(int v) -> v;
            case GgufValue.I16(short v) -> v;
            case GgufValue.U32(long v) -> v;
            case GgufValue.I32(int v) -> v;
            case GgufValue.U64(long v) -> v;
            case GgufValue.I64(long v) -> v;
            case GgufValue.F32(float v) -> v;
            case GgufValue.F64(double v) -> v;
            case null, default ->
                throw new IllegalArgumentException("GGUF: metadata '" + key + "' is missing or not a number");
        };
    }

    private static int opt(Map<String, GgufValue> kv, String key, int fallback) {
        return kv.containsKey(key) ? Math.toIntExact(num(kv, key).longValue()) : fallback;
    }

    // ---- llama2.c ----

    static LlamaModel llama2c(Path path, Path tokenizer, LinearMaker maker, LoadMode mode) throws IOException {
        Llama2cCheckpoint ck = Llama2cCheckpoint.open(path, mode);
        try {
            Llama2cCheckpoint.Config h = ck.config();
            // run.c: eps 1e-5, base 10000, adjacent pairs; its tokenizer has <unk> 0, <s> 1, </s> 2
            LlamaConfig c = new LlamaConfig(
                    "llama2c",
                    h.dim(),
                    h.hiddenDim(),
                    h.nLayers(),
                    h.nHeads(),
                    h.nKvHeads(),
                    h.headSize(),
                    h.vocabSize(),
                    h.seqLen(),
                    1e-5,
                    10000,
                    RopeScaling.NONE,
                    true,
                    0,
                    false,
                    h.sharedClassifier(),
                    1,
                    new int[] {2});
            Tokenizer t = null;
            if (tokenizer != null) {
                if (!Files.isRegularFile(tokenizer))
                    throw new NoSuchFileException(tokenizer.toString(), null, "no such tokenizer file");
                t = Tokenizer.fromLlama2cBin(tokenizer);
                if (t.vocabSize() != h.vocabSize())
                    throw new IllegalArgumentException(tokenizer + ": tokenizer has " + t.vocabSize()
                            + " tokens but the checkpoint's vocabulary is " + h.vocabSize());
            }
            return new LlamaModel(c, ck, UnaryOperator.identity(), t, false, maker);
        } catch (IOException | RuntimeException e) {
            ck.close();
            throw e;
        }
    }
}
