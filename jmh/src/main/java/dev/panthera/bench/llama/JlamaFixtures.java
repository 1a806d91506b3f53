package dev.panthera.bench.llama;

import dev.panthera.models.io.Llama2cCheckpoint;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.models.llama.GgufConvert;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The random-weight Llama of the stories110M shape (dim 768, 12 layers, 12 heads, FFN 2048, vocab 32000, tied head,
 * context 1024; the weights of {@link LlamaFixtures}' "110M" checkpoint) written as a HuggingFace folder that both
 * Panthera and Jlama load: config.json (model_type "llama", which Jlama's loader keys on), model.safetensors (every
 * tensor in F32 or BF16, no lm_head: the head is tied) and a tokenizer.json. The benchmark feeds token ids to both
 * engines, so the tokenizer only has to satisfy the loaders (Jlama refuses a folder without tokenizer.json): a BPE
 * model with byte fallback over 32000 entries, {@code <unk> <s> </s>}, the 256 byte tokens, then placeholders, and no
 * merges.
 *
 * <p>The llama2.c checkpoint's matrices are written under their HuggingFace names as they are, without the q/k row
 * permutation that turns llama2.c's adjacent-pair RoPE into HuggingFace's rotate-half: with random weights that only
 * makes this a different random model, and both engines read this folder with HuggingFace's convention. Folders go to
 * {@code $TMPDIR/panthera-llama-bench/110M-hf-f32} (and {@code -bf16}); as a program it prints each folder's path,
 * writing it first where absent: {@code JlamaFixtures F32 BF16 Q4_0 JQ4} (the 4-bit rows: {@link #q4Gguf()},
 * {@link #jlamaQ4()}).
 */
public final class JlamaFixtures {
    static final int VOCAB = 32000, CONTEXT = 1024;

    private JlamaFixtures() {}

    public static void main(String[] args) {
        for (String a : args)
            System.out.println(
                    switch (a) {
                        case "Q4_0" -> q4Gguf();
                        case "JQ4" -> jlamaQ4();
                        default -> folder(DType.valueOf(a));
                    });
    }

    /**
     * The F32 folder quantized by Jlama's own converter ({@code SafeTensorSupport.quantizeModel}, what its
     * {@code quantize} command runs) to its Q4 (blocks of 32 with an F32 scale, each matrix beside a ".qb" tensor of
     * scales), the norms left in F32: Jlama's 4-bit row. Quantizing at load instead leaves the attention matrices in
     * F32 (Jlama does not quantize the row-sharded tensors it loads them as) and then fails in its I8 path.
     */
    static Path jlamaQ4() {
        Path f32 = folder(DType.F32);
        Path out = f32.resolveSibling("110M-hf-jq4");
        if (Files.isRegularFile(out.resolve("model.safetensors"))) return out;
        try {
            Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
            deleteTree(tmp);
            Path readme = f32.resolve("README.md"); // Jlama's converter copies it
            if (!Files.exists(readme)) Files.writeString(readme, "Random-weight Llama of the stories110M shape.\n");
            com.github.tjake.jlama.safetensors.SafeTensorSupport.quantizeModel(
                    f32,
                    com.github.tjake.jlama.safetensors.DType.Q4,
                    new String[] {"norm"},
                    null,
                    java.util.Optional.of(tmp));
            Files.move(tmp, out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The F32 folder converted by {@link GgufConvert} to a GGUF with Q4_0 matrices (llama.cpp's 4-bit blocks of 32
     * with an F16 scale; q/k rows permuted to llama.cpp's RoPE pairing, so the same function as the folder): our
     * 4-bit row beside {@link #jlamaQ4()}, Jlama's own Q4 of the same F32 weights.
     */
    static Path q4Gguf() {
        Path f32 = folder(DType.F32);
        Path out = f32.resolveSibling("110M-hf-q4_0.gguf");
        if (Files.exists(out)) return out;
        try {
            Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
            GgufConvert.convert(f32, null, GgmlType.Q4_0, tmp);
            Files.move(tmp, out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The folder of the 110M model with its tensors in {@code dtype} (F32 or BF16). */
    static Path folder(DType dtype) {
        if (dtype != DType.F32 && dtype != DType.BF16)
            throw new IllegalArgumentException("JlamaFixtures: dtype must be F32 or BF16, not " + dtype);
        // LlamaFixtures writes the llama2.c checkpoint 110M.bin beside the GGUF it converts it to
        Path gguf = LlamaFixtures.gguf("110M");
        Path bin = gguf.resolveSibling("110M.bin");
        if (!Files.isRegularFile(bin))
            throw new IllegalStateException("JlamaFixtures: " + bin + " is absent (LlamaFixtures writes it)");
        Path dir = gguf.resolveSibling("110M-hf-" + dtype.name().toLowerCase(Locale.ROOT));
        if (Files.isRegularFile(dir.resolve("model.safetensors"))) return dir;
        try {
            Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp");
            deleteTree(tmp);
            Files.createDirectories(tmp);
            try (Llama2cCheckpoint ck = Llama2cCheckpoint.open(bin);
                    MemoryScope scope = MemoryScope.open()) {
                Llama2cCheckpoint.Config c = ck.config();
                if (c.dim() != 768 || c.nLayers() != 12 || c.vocabSize() != VOCAB || !c.sharedClassifier())
                    throw new IllegalStateException("JlamaFixtures: " + bin + " is not the 110M shape: " + c);
                List<SafetensorsWriter.Item> items = new ArrayList<>();
                for (String name : ck.names()) {
                    if (name.equals("lm_head.weight")) continue; // tied to the embedding
                    Tensor t = ck.tensor(name);
                    items.add(SafetensorsWriter.Item.of(name, dtype == DType.F32 ? t : t.to(dtype)));
                }
                SafetensorsWriter.write(tmp.resolve("model.safetensors"), Map.of("format", "pt"), items);
                Files.writeString(tmp.resolve("config.json"), config(c, dtype));
            }
            writeTokenizer(tmp.resolve("tokenizer.json"));
            Files.move(tmp, dir);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String config(Llama2cCheckpoint.Config c, DType dtype) {
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
                  "rms_norm_eps": 1e-05,
                  "rope_theta": 10000.0,
                  "hidden_act": "silu",
                  "tie_word_embeddings": true,
                  "bos_token_id": 1,
                  "eos_token_id": 2,
                  "torch_dtype": "%s"
                }
                """,
                c.dim(),
                c.hiddenDim(),
                c.nLayers(),
                c.nHeads(),
                c.nKvHeads(),
                c.vocabSize(),
                CONTEXT,
                dtype == DType.F32 ? "float32" : "bfloat16");
    }

    private static void writeTokenizer(Path out) throws IOException {
        try (Writer w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            w.write("{\"version\":\"1.0\",\"added_tokens\":["
                    + "{\"id\":0,\"content\":\"<unk>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
                    + "\"normalized\":false,\"special\":true},"
                    + "{\"id\":1,\"content\":\"<s>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
                    + "\"normalized\":false,\"special\":true},"
                    + "{\"id\":2,\"content\":\"</s>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
                    + "\"normalized\":false,\"special\":true}],"
                    + "\"normalizer\":null,\"pre_tokenizer\":null,\"post_processor\":null,\"decoder\":null,"
                    + "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":\"<unk>\","
                    + "\"continuing_subword_prefix\":null,\"end_of_word_suffix\":null,\"fuse_unk\":true,"
                    + "\"byte_fallback\":true,\"vocab\":{\"<unk>\":0,\"<s>\":1,\"</s>\":2");
            for (int b = 0; b < 256; b++) w.write(String.format(Locale.ROOT, ",\"<0x%02X>\":%d", b, 3 + b));
            for (int id = 259; id < VOCAB; id++) w.write(",\"tok" + id + "\":" + id);
            w.write("},\"merges\":[]}}\n");
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
