package dev.panthera.models.gpt2;

import dev.panthera.models.io.GgufValue;
import dev.panthera.models.io.GgufWriter;
import dev.panthera.models.io.Weights;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a HuggingFace GPT-2 fixture folder as a GGUF file the way llama.cpp's convert_hf_to_gguf writes arch gpt2:
 * {@code gpt2.*} metadata, tensors under llama.cpp's names with the Conv1D weights transposed to [out, in], norms and
 * biases in F32. With {@code headCopy} the tied head is also written as output.weight, a copy of the token embedding
 * (as llama.cpp's converter does for GPT-2, and as the llama.cpp bundled with de.kherud:llama 4.2.0 requires);
 * without it the file has no output.weight and the reader must tie the head itself. The vocabulary is a byte-level BPE one sized to the fixture:
 * ids 0..2 are control tokens (pad, BOS, EOS as in the fixture's config), then 'Ġ' (a space in GPT-2's byte-to-unicode
 * map) and the printable ASCII characters '!'..'|', with no merges, so every text over those characters is one token
 * per character.
 */
public final class Gpt2Gguf {
    private Gpt2Gguf() {}

    static final int VOCAB = 96;

    /** The token of each id (the vocabulary above). */
    static String piece(int id) {
        return switch (id) {
            case 0 -> "<|pad|>";
            case 1 -> "<|bos|>";
            case 2 -> "<|endoftext|>";
            case 3 -> "\u0120";
            default -> String.valueOf((char) ('!' + id - 4));
        };
    }

    /**
     * Writes {@code HF_DIR} as a gpt2 GGUF with the head copied: {@code Gpt2Gguf HF_DIR F32|F16 OUT.gguf} (used by
     * models/src/test/gpt2-llamacpp-logits.sh).
     */
    public static void main(String[] args) throws Exception {
        if (args.length != 3) throw new IllegalArgumentException("usage: Gpt2Gguf HF_DIR F32|F16 OUT.gguf");
        write(Path.of(args[0]), GgmlType.valueOf(args[1]), Path.of(args[2]), true);
    }

    public static void write(Path hfDir, GgmlType type, Path out, boolean headCopy) throws Exception {
        Gpt2Config c = Gpt2Loader.fromHfConfig(dev.panthera.models.llama.ConfigJson.read(hfDir.resolve("config.json")));
        if (c.vocab() != VOCAB) throw new IllegalArgumentException("fixture vocabulary " + c.vocab() + " != " + VOCAB);
        GgufWriter w = new GgufWriter()
                .put("general.architecture", "gpt2")
                .putU32("gpt2.context_length", c.maxSeq())
                .putU32("gpt2.embedding_length", c.dim())
                .putU32("gpt2.feed_forward_length", c.hidden())
                .putU32("gpt2.block_count", c.layers())
                .putU32("gpt2.attention.head_count", c.heads())
                .put("gpt2.attention.layer_norm_epsilon", (float) c.normEps())
                .put("tokenizer.ggml.model", "gpt2")
                .put("tokenizer.ggml.pre", "gpt-2");
        List<GgufValue> tok = new ArrayList<>(), types = new ArrayList<>();
        for (int i = 0; i < VOCAB; i++) {
            tok.add(new GgufValue.Str(piece(i)));
            types.add(new GgufValue.I32(i < 3 ? 3 : 1)); // 3 = control, 1 = normal
        }
        w.put("tokenizer.ggml.tokens", new GgufValue.Array(GgufValue.STRING, tok))
                .put("tokenizer.ggml.token_type", new GgufValue.Array(GgufValue.INT32, types))
                .put("tokenizer.ggml.merges", new GgufValue.Array(GgufValue.STRING, List.of()))
                .putU32("tokenizer.ggml.bos_token_id", c.bos())
                .putU32("tokenizer.ggml.eos_token_id", c.eos()[0]);
        try (Weights hf = Weights.open(hfDir.resolve("model.safetensors"))) {
            String p = "transformer.";
            matrix(w, hf, p + "wte.weight", "token_embd.weight", type, false);
            matrix(w, hf, p + "wpe.weight", "position_embd.weight", type, false);
            if (headCopy) matrix(w, hf, p + "wte.weight", "output.weight", type, false);
            vector(w, hf, p + "ln_f.weight", "output_norm.weight");
            vector(w, hf, p + "ln_f.bias", "output_norm.bias");
            for (int l = 0; l < c.layers(); l++) {
                String h = p + "h." + l + ".", b = "blk." + l + ".";
                for (String[] n : new String[][] {
                    {"ln_1", "attn_norm"}, {"ln_2", "ffn_norm"},
                }) {
                    vector(w, hf, h + n[0] + ".weight", b + n[1] + ".weight");
                    vector(w, hf, h + n[0] + ".bias", b + n[1] + ".bias");
                }
                for (String[] n : new String[][] {
                    {"attn.c_attn", "attn_qkv"},
                    {"attn.c_proj", "attn_output"},
                    {"mlp.c_fc", "ffn_up"},
                    {"mlp.c_proj", "ffn_down"},
                }) {
                    matrix(w, hf, h + n[0] + ".weight", b + n[1] + ".weight", type, true);
                    vector(w, hf, h + n[0] + ".bias", b + n[1] + ".bias");
                }
            }
        }
        w.write(out);
    }

    private static void matrix(GgufWriter w, Weights hf, String from, String to, GgmlType type, boolean transpose) {
        Tensor t = hf.tensor(from);
        if (transpose) t = t.t();
        w.tensor(to, type, t.dims(), t.toFloatArray());
    }

    private static void vector(GgufWriter w, Weights hf, String from, String to) {
        Tensor t = hf.tensor(from);
        w.tensor(to, GgmlType.F32, t.dims(), t.toFloatArray());
    }
}
