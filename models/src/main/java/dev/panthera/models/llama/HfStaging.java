package dev.panthera.models.llama;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.panthera.models.io.GgufFile;
import dev.panthera.models.io.GgufValue;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.models.io.Weights;
import dev.panthera.models.tokenizer.SentencePieceWriter;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a Llama-family GGUF file or llama2.c checkpoint as a float HuggingFace folder (config.json, model.safetensors
 * and, where the input carries a SentencePiece vocabulary, tokenizer.model), the input {@link QuantizedConvert} reads.
 * q/k rows stored in adjacent-pair RoPE order (llama2.c, GGUF's llama arch) are put back into HuggingFace's half-split
 * order, the inverse of llama.cpp's converter permutation, so the folder runs with HF's rotary layout. F32/F16/BF16
 * tensors keep their dtype; a GGML block-quantized tensor is refused unless {@code allowRequantize}, then dequantized
 * to F32 (see {@link #write}).
 */
final class HfStaging {
    private HfStaging() {}

    /** What was written besides the weights: the tokenizer file, or why there is none. */
    record Result(String tokenizerNote) {}

    /**
     * @param model a GGUF file or a llama2.c .bin checkpoint
     * @param tokenizer for a llama2.c input: a SentencePiece tokenizer.model (copied) or a llama2.c tokenizer.bin
     *     (written as a tokenizer.model), or null; must be null for a GGUF input, which carries its vocabulary
     * @param allowRequantize whether a GGUF's block-quantized matrices may be dequantized and quantized again: refused
     *     by default, as llama.cpp's quantize refuses a quantized input without --allow-requantize, because the two
     *     roundings compound (a Q4_K weight rounded again onto GPTQ's or NF4's grid carries both errors) and the result
     *     would look like a quantization of the original float model
     * @param what the command, for messages (e.g. "convert --type gptq")
     * @param dir an empty or absent folder
     */
    static Result write(Path model, Path tokenizer, boolean allowRequantize, String what, Path dir) throws IOException {
        boolean gguf = !model.getFileName().toString().endsWith(".bin");
        if (gguf && tokenizer != null)
            throw new IllegalArgumentException(what + ": --tokenizer applies to a llama2.c input; " + model
                    + " is a GGUF and carries its own vocabulary");
        if (gguf) checkNotQuantized(model, allowRequantize, what);
        Files.createDirectories(dir);
        // QuantizedWeights.KEEP: the matrices are read below one at a time, never all dequantized at load
        try (LlamaModel m = LlamaLoader.load(model, null, QuantizedWeights.KEEP, null)) {
            LlamaConfig c = m.config();
            if (c.ropeScaling().type() == RopeScaling.Type.FACTORS)
                throw new IllegalArgumentException(what + ": " + model + " scales RoPE by per-frequency factors"
                        + " (rope_freqs.weight), which have no exact config.json form");
            writeWeights(m.weights(), m.rename(), c, dir.resolve("model.safetensors"));
            writeConfig(c, dir.resolve("config.json"));
            String note;
            if (gguf) note = ggufTokenizer(((GgufFile) m.weights()).metadata(), c, dir.resolve("tokenizer.model"));
            else note = llama2cTokenizer(tokenizer, c, dir.resolve("tokenizer.model"));
            return new Result(note);
        }
    }

    private static void checkNotQuantized(Path model, boolean allow, String what) throws IOException {
        if (allow) return;
        try (GgufFile g = GgufFile.open(model)) {
            for (GgufFile.TensorInfo t : g.tensorInfos()) {
                if (t.type().isQuantized())
                    throw new IllegalArgumentException(what + ": " + model + " is already quantized (tensor '"
                            + t.name() + "' is " + t.type() + "); quantizing it again compounds two roundings."
                            + " Convert from the float model, or pass --allow-requantize to dequantize it first");
            }
        }
    }

    /** HF names of every tensor a Llama-family model reads, in file order. */
    private static List<String> names(LlamaConfig c) {
        List<String> n = new ArrayList<>();
        n.add("model.embed_tokens.weight");
        for (int i = 0; i < c.layers(); i++) {
            String p = "model.layers." + i + ".";
            n.add(p + "input_layernorm.weight");
            for (String l : LlamaCalibration.LINEARS) {
                n.add(p + l + ".weight");
                if (c.qkvBias() && (l.endsWith("q_proj") || l.endsWith("k_proj") || l.endsWith("v_proj")))
                    n.add(p + l + ".bias");
            }
            n.add(p + "post_attention_layernorm.weight");
        }
        n.add("model.norm.weight");
        if (!c.tiedEmbeddings()) n.add("lm_head.weight");
        return n;
    }

    private static void writeWeights(
            Weights w, java.util.function.UnaryOperator<String> rename, LlamaConfig c, Path out) throws IOException {
        try (var scope = MemoryScope.open()) {
            List<SafetensorsWriter.Item> items = new ArrayList<>();
            for (String hf : names(c)) {
                Tensor t = w.tensor(rename.apply(hf));
                if (t.dtype() != DType.F32 && t.dtype() != DType.F16 && t.dtype() != DType.BF16) t = t.to(DType.F32);
                if (c.interleavedRope() && hf.contains("self_attn.q_proj.")) t = halfSplit(t, c.heads(), hf);
                if (c.interleavedRope() && hf.contains("self_attn.k_proj.")) t = halfSplit(t, c.kvHeads(), hf);
                items.add(SafetensorsWriter.Item.of(hf, t.contiguous()));
            }
            SafetensorsWriter.write(out, Map.of("format", "pt"), items);
        }
    }

    /**
     * Adjacent-pair rows (or bias entries) back to HF's half-split order: within each head, row 2i + j (j ∈ {0, 1})
     * goes to j·d/2 + i, the inverse of {@link GgufConvert#permuteRows}.
     */
    static Tensor halfSplit(Tensor t, int heads, String name) {
        long rows = t.size(0), cols = t.rank() > 1 ? t.size(1) : 1;
        if (rows % (2L * heads) != 0)
            throw new IllegalArgumentException(
                    "tensor '" + name + "': " + rows + " rows do not split into " + heads + " heads of RoPE pairs");
        Tensor v = t.reshape(heads, rows / heads / 2, 2, cols).transpose(1, 2).contiguous();
        return t.rank() > 1 ? v.reshape(rows, cols) : v.reshape(rows);
    }

    private static void writeConfig(LlamaConfig c, Path out) throws IOException {
        String arch = c.architecture().equals("qwen2")
                ? "Qwen2ForCausalLM"
                : c.slidingWindow() > 0 ? "MistralForCausalLM" : "LlamaForCausalLM";
        String type =
                arch.equals("Qwen2ForCausalLM") ? "qwen2" : arch.equals("MistralForCausalLM") ? "mistral" : "llama";
        try (OutputStream os = Files.newOutputStream(out);
                JsonGenerator g = new JsonFactory().createGenerator(os).useDefaultPrettyPrinter()) {
            g.writeStartObject();
            g.writeArrayFieldStart("architectures");
            g.writeString(arch);
            g.writeEndArray();
            g.writeStringField("model_type", type);
            g.writeNumberField("hidden_size", c.dim());
            g.writeNumberField("intermediate_size", c.hidden());
            g.writeNumberField("num_hidden_layers", c.layers());
            g.writeNumberField("num_attention_heads", c.heads());
            g.writeNumberField("num_key_value_heads", c.kvHeads());
            g.writeNumberField("head_dim", c.headDim());
            g.writeNumberField("vocab_size", c.vocab());
            int maxPos = c.maxSeq();
            if (c.ropeScaling().type() == RopeScaling.Type.LINEAR) {
                // config.json's length is the trained one; the loader multiplies it by the factor again
                maxPos = (int) Math.round(c.maxSeq() / c.ropeScaling().factor());
                g.writeObjectFieldStart("rope_scaling");
                g.writeStringField("rope_type", "linear");
                g.writeNumberField("factor", c.ropeScaling().factor());
                g.writeEndObject();
            }
            g.writeNumberField("max_position_embeddings", maxPos);
            g.writeNumberField("rms_norm_eps", shortest(c.normEps()));
            g.writeNumberField("rope_theta", shortest(c.ropeTheta()));
            g.writeBooleanField("tie_word_embeddings", c.tiedEmbeddings());
            if (!type.equals("qwen2")) g.writeBooleanField("attention_bias", c.qkvBias());
            if (c.slidingWindow() > 0) {
                g.writeNumberField("sliding_window", c.slidingWindow());
                if (type.equals("qwen2")) g.writeBooleanField("use_sliding_window", true);
            }
            g.writeStringField("hidden_act", "silu");
            if (c.bos() >= 0) g.writeNumberField("bos_token_id", c.bos());
            if (c.eos().length == 1) g.writeNumberField("eos_token_id", c.eos()[0]);
            else if (c.eos().length > 1) {
                g.writeArrayFieldStart("eos_token_id");
                for (int e : c.eos()) g.writeNumber(e);
                g.writeEndArray();
            }
            g.writeStringField("torch_dtype", "float32");
            g.writeEndObject();
        }
    }

    /** A value GGUF stored as float32 written as its shortest float decimal (1e-5, not 9.999999747378752e-6). */
    private static double shortest(double v) {
        return v == (float) v ? Double.parseDouble(Float.toString((float) v)) : v;
    }

    /** A GGUF "llama" (SentencePiece) vocabulary as tokenizer.model; another kind is left out and said so. */
    private static String ggufTokenizer(Map<String, GgufValue> kv, LlamaConfig c, Path out) throws IOException {
        if (!(kv.get("tokenizer.ggml.model") instanceof GgufValue.Str(String model)))
            return "no tokenizer written: the GGUF has no vocabulary";
        if (!model.equals("llama"))
            return "no tokenizer written: the GGUF's '" + model + "' vocabulary has no tokenizer.model form";
        List<GgufValue> tok = array(kv, "tokenizer.ggml.tokens"),
                sc = array(kv, "tokenizer.ggml.scores"),
                ty = array(kv, "tokenizer.ggml.token_type");
        int n = tok.size();
        if (n != c.vocab() || sc.size() != n || (ty != null && ty.size() != n))
            throw new IllegalArgumentException("GGUF: tokenizer.ggml.tokens/scores/token_type hold " + n + "/"
                    + sc.size() + "/" + (ty == null ? "-" : ty.size()) + " entries for a vocabulary of " + c.vocab());
        String[] pieces = new String[n];
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            pieces[i] = ((GgufValue.Str) tok.get(i)).value();
            scores[i] = ((GgufValue.F32) sc.get(i)).value();
            types[i] = ty == null ? 1 : ((GgufValue.I32) ty.get(i)).value();
        }
        boolean prefix = !(kv.get("tokenizer.ggml.add_space_prefix") instanceof GgufValue.Bool(boolean b)) || b;
        SentencePieceWriter.write(
                out,
                pieces,
                scores,
                types,
                id(kv, "tokenizer.ggml.unknown_token_id"),
                c.bos(),
                c.eos().length > 0 ? c.eos()[0] : -1,
                prefix);
        return "tokenizer.model from the GGUF's vocabulary";
    }

    private static List<GgufValue> array(Map<String, GgufValue> kv, String key) {
        if (kv.get(key) instanceof GgufValue.Array a) return a.values();
        if (key.endsWith("token_type")) return null;
        throw new IllegalArgumentException("GGUF: '" + key + "' is missing or not an array");
    }

    private static int id(Map<String, GgufValue> kv, String key) {
        return switch (kv.get(key)) {
            case GgufValue.U32(long v) -> (int) v;
            case GgufValue.I32(int v) -> v;
            case null, default -> -1;
        };
    }

    /** llama2.c: a given tokenizer.model copied, a tokenizer.bin written as one, or none. */
    private static String llama2cTokenizer(Path tokenizer, LlamaConfig c, Path out) throws IOException {
        if (tokenizer == null) return "no tokenizer written: a llama2.c checkpoint has none (give --tokenizer FILE)";
        if (!Files.isRegularFile(tokenizer))
            throw new java.nio.file.NoSuchFileException(tokenizer.toString(), null, "no such tokenizer file");
        if (tokenizer.getFileName().toString().endsWith(".model")) {
            int n = dev.panthera.models.tokenizer.Tokenizer.fromSentencePieceModel(tokenizer)
                    .vocabSize();
            if (n != c.vocab())
                throw new IllegalArgumentException(
                        tokenizer + ": tokenizer has " + n + " tokens but the checkpoint's vocabulary is " + c.vocab());
            Files.copy(tokenizer, out, StandardCopyOption.REPLACE_EXISTING);
            return "tokenizer.model copied from " + tokenizer;
        }
        int v = dev.panthera.models.tokenizer.Tokenizer.fromLlama2cBin(tokenizer)
                .vocabSize();
        if (v != c.vocab())
            throw new IllegalArgumentException(
                    tokenizer + ": tokenizer has " + v + " tokens but the checkpoint's vocabulary is " + c.vocab());
        llama2cTokenizerModel(tokenizer, c.vocab(), out);
        return "tokenizer.model written from " + tokenizer;
    }

    /**
     * A llama2.c tokenizer.bin as a SentencePiece tokenizer.model: llama2.c's exporter keeps pieces and scores but not
     * the types, which follow Llama 2's layout (0 unknown, 1–2 control, {@code <0xNN>} byte pieces, the rest normal).
     */
    static void llama2cTokenizerModel(Path bin, int vocab, Path out) throws IOException {
        String[] pieces = new String[vocab];
        float[] scores = new float[vocab];
        GgufConvert.readLlama2cVocab(bin, pieces, scores);
        int[] types = new int[pieces.length];
        for (int i = 0; i < types.length; i++)
            types[i] = i == 0 ? 2 : i <= 2 ? 3 : pieces[i].matches("<0x[0-9A-F]{2}>") ? 6 : 1;
        SentencePieceWriter.write(out, pieces, scores, types, 0, 1, 2, true);
    }
}
