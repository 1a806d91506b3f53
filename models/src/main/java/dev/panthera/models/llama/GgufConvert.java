package dev.panthera.models.llama;

import dev.panthera.models.gpt2.Gpt2ToGguf;
import dev.panthera.models.io.GgufFile;
import dev.panthera.models.io.GgufValue;
import dev.panthera.models.io.GgufVocab;
import dev.panthera.models.io.GgufWriter;
import dev.panthera.models.io.Llama2cCheckpoint;
import dev.panthera.models.io.Llama2cToGguf;
import dev.panthera.models.io.Weights;
import dev.panthera.models.tokenizer.HfVocabulary;
import dev.panthera.quant.ggml.GgmlType;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes a Llama-family model (a HuggingFace folder, a GGUF file or a llama2.c checkpoint) as a llama.cpp GGUF whose
 * matrices are one GGML type, or llama.cpp's Q4_K_M or Q5_K_M mix ({@link Mix}). With one type every 2-D weight takes
 * {@code type}; where its rows do not divide into that type's blocks, the fallback llama.cpp's quantizer uses applies
 * (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then F16 when even 32 does not divide); 1-D tensors (norms, biases), GPT-2's
 * learned positions and BERT's token types stay F32, as llama.cpp keeps them. A GGUF input keeps all its metadata
 * (vocabulary included); a llama2.c input gets its vocabulary from {@code tokenizer} (a llama2.c tokenizer.bin) or a
 * placeholder; a HuggingFace input gets its config as metadata, q/k rows permuted to llama.cpp's adjacent-pair RoPE for
 * the llama architecture, its tokenizer as llama.cpp's converter writes it ({@link HfVocabulary}; the placeholder
 * vocabulary when the folder has no tokenizer.model or tokenizer.json), linear RoPE scaling as {@code rope.scaling.*}
 * and llama3 scaling as the {@code rope_freqs.weight} per-frequency divisors; dynamic (NTK) scaling, which GGUF cannot
 * express, is refused. A HuggingFace GPT-2 folder goes through {@link Gpt2ToGguf} (arch gpt2).
 */
public final class GgufConvert {
    private GgufConvert() {}

    /** The types {@link #convert} writes. */
    public static final List<GgmlType> TYPES = List.of(
            GgmlType.F32,
            GgmlType.F16,
            GgmlType.BF16,
            GgmlType.Q8_0,
            GgmlType.Q4_0,
            GgmlType.Q4_1,
            GgmlType.Q5_0,
            GgmlType.Q5_1,
            GgmlType.Q4_K,
            GgmlType.Q5_K,
            GgmlType.Q6_K);

    /**
     * llama.cpp's K-quant mixes ({@code llama-quantize IN OUT Q4_K_M}): matrices of {@code base}, with Q6_K (Q8_0
     * where rows do not divide into 256) for the output head (the token embedding when the head is tied to it), Q6_K
     * for {@code attn_v} and {@code ffn_down} in the layers llama.cpp gives more bits (the first and last eighth and
     * every third between; a fused {@code attn_qkv} or {@code attn_kv_b} counts as an {@code attn_v}), and for Q4_K_M
     * in a model llama.cpp sizes as "70B" (80 layers) Q5_K for the other {@code attn_v}. These are llama.cpp's rules
     * (its {@code llama_tensor_get_type}, build b10257) for a dense model; {@link #convert(Path, Path, Mix, Path)}
     * refuses a model with experts.
     */
    public enum Mix {
        Q4_K_M(GgmlType.Q4_K, 15),
        Q5_K_M(GgmlType.Q5_K, 17);

        final GgmlType base;
        final int fileType;

        Mix(GgmlType base, int fileType) {
            this.base = base;
            this.fileType = fileType;
        }
    }

    /** A tensor as {@link #mixTypes} sees it: its GGUF name and shape ([rows, row length] for a matrix). */
    public record TensorShape(String name, long[] shape) {}

    /**
     * Each matrix's type in {@code mix} for a model of architecture {@code arch} (GGUF's general.architecture) with
     * {@code layers} blocks, {@code heads} query heads and {@code kvHeads} key/value heads whose tensors are {@code
     * tensors} in file order (the order llama.cpp counts the {@code attn_v} and {@code ffn_down} tensors in). Tensors
     * that stay F32 (1-D ones, {@code rope_freqs}) are left out of the map.
     */
    public static Map<String, GgmlType> mixTypes(
            Mix mix, List<TensorShape> tensors, int layers, int heads, int kvHeads, String arch) {
        boolean tied = tensors.stream().noneMatch(t -> t.name().equals("output.weight"));
        int nV = 0;
        for (TensorShape t : tensors) if (attnVLike(t.name())) nV++;
        // llama.cpp's model size "70B" at 80 layers: for llama when the keys are grouped, for qwen2, deci and olmo
        boolean seventyB = layers == 80
                && switch (arch) {
                    case "llama" -> heads != kvHeads;
                    case "qwen2", "deci", "olmo" -> true;
                    default -> false;
                };
        Map<String, GgmlType> types = new java.util.LinkedHashMap<>();
        int iV = 0, iDown = 0;
        for (TensorShape t : tensors) {
            String n = t.name();
            if (!isMatrix(t.name(), t.shape())) continue;
            long row = t.shape()[1];
            GgmlType ty = mix.base;
            if (n.equals("output.weight") || (tied && n.equals("token_embd.weight"))) {
                ty = row % 256 == 0 ? GgmlType.Q6_K : GgmlType.Q8_0;
            } else if (attnVLike(n)) {
                if (moreBits(iV, nV)) ty = GgmlType.Q6_K;
                if (seventyB && ty == GgmlType.Q4_K) ty = GgmlType.Q5_K;
                iV++;
            } else if (n.contains("ffn_down")) {
                if (moreBits(iDown, layers)) ty = GgmlType.Q6_K;
                iDown++;
            }
            types.put(n, typeFor(ty, row));
        }
        return types;
    }

    /** llama.cpp's use_more_bits: the first and last eighth of the layers and every third one between. */
    private static boolean moreBits(int i, int n) {
        return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
    }

    /** The tensors llama.cpp counts as attn_v for its mixes: attn_v, a fused attn_qkv, attn_kv_b. */
    private static boolean attnVLike(String name) {
        return name.contains("attn_qkv.weight") || name.contains("attn_kv_b.weight") || name.contains("attn_v.weight");
    }

    /**
     * Whether a tensor is written in the chosen type rather than F32: a 2-D weight other than rope_freqs and the ones
     * llama.cpp's quantizer never quantizes (learned positions, BERT's token types).
     */
    private static boolean isMatrix(String name, long[] shape) {
        return shape.length == 2
                && !name.equals("rope_freqs.weight")
                && !name.equals("position_embd.weight")
                && !name.equals("token_types.weight");
    }

    /** The type a matrix with rows of {@code rowLength} weights gets when {@code want} is asked for (llama.cpp's rule). */
    public static GgmlType typeFor(GgmlType want, long rowLength) {
        if (rowLength % want.blockSize() == 0) return want;
        GgmlType fallback = switch (want) {
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            default -> GgmlType.F16;
        };
        return rowLength % fallback.blockSize() == 0 ? fallback : GgmlType.F16;
    }

    /** llama.cpp's {@code general.file_type} (enum llama_ftype) for a file of mostly {@code type}. */
    static int fileType(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case Q4_K -> 14; // Q4_K_S: every matrix Q4_K
            case Q5_K -> 16; // Q5_K_S
            case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("convert: no llama.cpp file type for " + type);
        };
    }

    /**
     * Converts {@code model} to {@code out} with matrices of {@code type}; {@code tokenizer} (or null) is a llama2.c
     * tokenizer.bin for a llama2.c checkpoint.
     */
    public static void convert(Path model, Path tokenizer, GgmlType type, Path out) throws IOException {
        if (!TYPES.contains(type))
            throw new IllegalArgumentException("convert: cannot write " + type + " (one of " + TYPES + ")");
        convert(
                model,
                tokenizer,
                out,
                (g, tensors) -> {
                    Map<String, GgmlType> types = new java.util.HashMap<>();
                    for (TensorShape t : tensors)
                        if (isMatrix(t.name(), t.shape())) types.put(t.name(), typeFor(type, t.shape()[1]));
                    return types;
                },
                fileType(type));
    }

    /**
     * Converts {@code model} to {@code out} in llama.cpp's {@code mix} ({@link #mixTypes}); {@code tokenizer} as for
     * {@link #convert(Path, Path, GgmlType, Path)}.
     */
    public static void convert(Path model, Path tokenizer, Mix mix, Path out) throws IOException {
        convert(
                model,
                tokenizer,
                out,
                (g, tensors) -> {
                    GgufValue a = g.metadata().get("general.architecture");
                    String arch = a == null ? "llama" : a.asString();
                    long experts = meta(g, arch + ".expert_count", 0);
                    if (experts > 1)
                        throw new IllegalArgumentException("convert: " + mix + " is written for dense models; " + arch
                                + ".expert_count is " + experts);
                    long layers = meta(g, arch + ".block_count", -1),
                            heads = meta(g, arch + ".attention.head_count", -1);
                    if (layers < 1 || heads < 1)
                        throw new IllegalArgumentException("convert: " + mix + " needs " + arch + ".block_count and "
                                + arch + ".attention.head_count (got " + layers + ", " + heads + ")");
                    long kvHeads = meta(g, arch + ".attention.head_count_kv", heads);
                    return mixTypes(
                            mix,
                            tensors,
                            Math.toIntExact(layers),
                            Math.toIntExact(heads),
                            Math.toIntExact(kvHeads),
                            arch);
                },
                mix.fileType);
    }

    /** The integer at {@code key} of the GGUF's metadata, or {@code fallback} where it is absent. */
    private static long meta(GgufFile g, String key, long fallback) {
        GgufValue v = g.metadata().get(key);
        return v == null ? fallback : v.asLong();
    }

    /** Each matrix's type for a GGUF's tensors (in file order); those left out stay F32. */
    private interface TypePlan {
        Map<String, GgmlType> types(GgufFile g, List<TensorShape> tensors) throws IOException;
    }

    private static void convert(Path model, Path tokenizer, Path out, TypePlan plan, int fileType) throws IOException {
        if (!Files.exists(model)) throw new NoSuchFileException(model.toString(), null, "no such file or folder");
        if (Files.exists(out) && Files.isSameFile(model, out))
            throw new IllegalArgumentException("convert: the output " + out + " is the input model");
        if (Files.isDirectory(model) || !isGguf(model)) {
            // llama2.c and HuggingFace go through an F32 GGUF beside the output, then the GGUF path
            Path tmp = Files.createTempFile(out.toAbsolutePath().getParent(), ".convert-", ".f32.gguf");
            try {
                if (Files.isDirectory(model) && Gpt2ToGguf.isGpt2(model)) Gpt2ToGguf.write(model, tmp);
                else if (Files.isDirectory(model)) fromHuggingFace(model, tmp);
                else if (model.getFileName().toString().endsWith(".bin")) fromLlama2c(model, tokenizer, tmp);
                else
                    throw new IllegalArgumentException(model + ": not a model (expected a folder with config.json, a"
                            + " .gguf file or a llama2.c .bin checkpoint)");
                fromGguf(tmp, plan, fileType, out);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } else {
            fromGguf(model, plan, fileType, out);
        }
    }

    private static boolean isGguf(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            byte[] m = in.readNBytes(4);
            return m.length == 4 && new String(m, StandardCharsets.US_ASCII).equals("GGUF");
        }
    }

    /** Re-encodes every tensor of a GGUF: matrices as {@code plan} says, the rest as F32. */
    private static void fromGguf(Path in, TypePlan plan, int fileType, Path out) throws IOException {
        try (GgufFile g = GgufFile.open(in)) {
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, GgufValue> e : g.metadata().entrySet()) {
                if (!e.getKey().equals("general.file_type")) w.put(e.getKey(), e.getValue());
            }
            w.putU32("general.file_type", fileType);
            List<TensorShape> shapes = new java.util.ArrayList<>();
            for (GgufFile.TensorInfo t : g.tensorInfos()) shapes.add(new TensorShape(t.name(), t.shape()));
            Map<String, GgmlType> types = plan.types(g, shapes);
            for (GgufFile.TensorInfo t : g.tensorInfos()) {
                long[] shape = t.shape();
                GgmlType as = types.getOrDefault(t.name(), GgmlType.F32);
                float[] v = g.dequantize(t.name());
                try {
                    w.tensor(t.name(), as, shape, v);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("convert: tensor '" + t.name() + "': " + e.getMessage(), e);
                }
            }
            w.write(out);
        }
    }

    /** llama2.c → F32 GGUF, with the vocabulary of a llama2.c tokenizer.bin when given. */
    static void fromLlama2c(Path bin, Path tokenizer, Path out) throws IOException {
        try (Llama2cCheckpoint c = Llama2cCheckpoint.open(bin)) {
            if (tokenizer == null) {
                Llama2cToGguf.convert(c, GgmlType.F32, out);
                return;
            }
            if (!Files.isRegularFile(tokenizer))
                throw new NoSuchFileException(tokenizer.toString(), null, "no such tokenizer file");
            int v = c.config().vocabSize();
            String[] pieces = new String[v];
            float[] scores = new float[v];
            readLlama2cVocab(tokenizer, pieces, scores);
            Llama2cToGguf.convert(c, GgmlType.F32, pieces, scores, out);
        }
    }

    /**
     * A llama2.c tokenizer.bin (i32 max token length, then per token f32 score, i32 length, bytes) as SentencePiece
     * pieces: llama2.c's exporter wrote "▁" as a space and &lt;s&gt;, &lt;/s&gt; wrapped in newlines; both are undone.
     */
    static void readLlama2cVocab(Path file, String[] pieces, float[] scores) throws IOException {
        try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file)))) {
            byte[] four = new byte[4];
            in.readFully(four);
            for (int i = 0; i < pieces.length; i++) {
                in.readFully(four);
                scores[i] = ByteBuffer.wrap(four).order(ByteOrder.LITTLE_ENDIAN).getFloat();
                in.readFully(four);
                int len = ByteBuffer.wrap(four).order(ByteOrder.LITTLE_ENDIAN).getInt();
                if (len < 0 || len > 1 << 16)
                    throw new IllegalArgumentException(file + ": token " + i + " has length " + len);
                String s = new String(in.readNBytes(len), StandardCharsets.UTF_8);
                pieces[i] = i == 1 ? "<s>" : i == 2 ? "</s>" : s.replace(' ', '\u2581');
            }
        } catch (java.io.EOFException e) {
            throw new IllegalArgumentException(
                    file + ": ends before " + pieces.length + " tokens (the checkpoint's vocab_size)");
        }
    }

    /** HuggingFace folder → F32 GGUF: config as llama.cpp metadata, q/k rows permuted for the llama arch. */
    static void fromHuggingFace(Path dir, Path out) throws IOException {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile)) throw new IllegalArgumentException(dir + ": no config.json in this folder");
        LlamaConfig c = LlamaLoader.fromHfConfig(ConfigJson.read(cfgFile));
        String arch = c.architecture().startsWith("Qwen2") || c.architecture().equals("qwen2") ? "qwen2" : "llama";
        if (c.ropeScaling().type() == RopeScaling.Type.DYNAMIC)
            throw new IllegalArgumentException(cfgFile + ": rope_scaling.rope_type 'dynamic' (NTK) has no GGUF form:"
                    + " llama.cpp scales RoPE by type none, linear, yarn or longrope, or by fixed per-frequency factors"
                    + " (rope_freqs), and dynamic NTK changes the base with the sequence length");
        HfVocabulary vocab = HfVocabulary.read(dir, c.vocab());
        Path index = dir.resolve("model.safetensors.index.json"), single = dir.resolve("model.safetensors");
        try (Weights w = Weights.open(Files.isRegularFile(index) ? index : single)) {
            GgufWriter g = new GgufWriter()
                    .put("general.architecture", arch)
                    .put("general.name", dir.getFileName().toString())
                    .putU32(arch + ".context_length", c.maxSeq())
                    .putU32(arch + ".embedding_length", c.dim())
                    .putU32(arch + ".block_count", c.layers())
                    .putU32(arch + ".feed_forward_length", c.hidden())
                    .putU32(arch + ".rope.dimension_count", c.headDim())
                    .putU32(arch + ".attention.head_count", c.heads())
                    .putU32(arch + ".attention.head_count_kv", c.kvHeads())
                    .putU32(arch + ".attention.key_length", c.headDim())
                    .putU32(arch + ".attention.value_length", c.headDim())
                    .put(arch + ".attention.layer_norm_rms_epsilon", (float) c.normEps())
                    .put(arch + ".rope.freq_base", (float) c.ropeTheta());
            if (c.ropeScaling().type() == RopeScaling.Type.LINEAR) {
                g.put(arch + ".rope.scaling.type", "linear").put(arch + ".rope.scaling.factor", (float)
                        c.ropeScaling().factor());
            }
            if (c.slidingWindow() > 0) g.putU32(arch + ".attention.sliding_window", c.slidingWindow());
            if (vocab != null) GgufVocab.write(g, vocab);
            else placeholderVocab(g, c);
            if (c.ropeScaling().type() == RopeScaling.Type.LLAMA3) {
                float[] f = c.ropeScaling().llamaCppFreqFactors(c.headDim(), c.ropeTheta());
                g.tensor("rope_freqs.weight", GgmlType.F32, new long[] {f.length}, f);
            }
            boolean permute = arch.equals("llama");
            for (String n : w.names()) {
                if (!n.startsWith("model.") && !n.equals("lm_head.weight")) continue;
                if (n.endsWith("rotary_emb.inv_freq")) continue;
                if (c.tiedEmbeddings() && n.equals("lm_head.weight")) continue;
                long[] shape = w.shape(n);
                float[] v = w.tensor(n).toFloatArray();
                if (permute && n.contains("self_attn.q_proj.")) v = permuteRows(v, c.heads(), shape);
                if (permute && n.contains("self_attn.k_proj.")) v = permuteRows(v, c.kvHeads(), shape);
                g.tensor(LlamaWeights.ggufName(n), GgmlType.F32, shape, v);
            }
            g.write(out);
        }
    }

    /**
     * llama.cpp's convert_hf_to_gguf permutation of q/k rows (or a bias): each head's rows [2, d/2] become [d/2, 2],
     * so HF's half-split RoPE pairs (i, i + d/2) become adjacent.
     */
    static float[] permuteRows(float[] w, int heads, long[] shape) {
        int rows = (int) shape[0], cols = shape.length > 1 ? (int) shape[1] : 1, hd = rows / heads, half = hd / 2;
        float[] out = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int two = 0; two < 2; two++) {
                    int src = h * hd + two * half + i, dst = h * hd + 2 * i + two;
                    System.arraycopy(w, src * cols, out, dst * cols, cols);
                }
            }
        }
        return out;
    }

    /** The placeholder SentencePiece vocabulary of {@link Llama2cToGguf}: enough for llama.cpp to run on ids. */
    private static void placeholderVocab(GgufWriter g, LlamaConfig c) {
        List<GgufValue> tok = new java.util.ArrayList<>(),
                sc = new java.util.ArrayList<>(),
                types = new java.util.ArrayList<>();
        for (int i = 0; i < c.vocab(); i++) {
            String p = i == 0
                    ? "<unk>"
                    : i == 1 ? "<s>" : i == 2 ? "</s>" : i < 259 ? String.format("<0x%02X>", i - 3) : "\u2581t" + i;
            tok.add(new GgufValue.Str(p));
            sc.add(new GgufValue.F32(i < 259 ? 0 : -i));
            types.add(new GgufValue.I32(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
        }
        g.put("tokenizer.ggml.model", "llama")
                .put("tokenizer.ggml.tokens", new GgufValue.Array(GgufValue.STRING, tok))
                .put("tokenizer.ggml.scores", new GgufValue.Array(GgufValue.FLOAT32, sc))
                .put("tokenizer.ggml.token_type", new GgufValue.Array(GgufValue.INT32, types))
                .putU32("tokenizer.ggml.unknown_token_id", 0)
                .putU32("tokenizer.ggml.bos_token_id", c.bos() >= 0 ? c.bos() : 1)
                .putU32("tokenizer.ggml.eos_token_id", c.eos().length > 0 ? c.eos()[0] : 2);
    }
}
