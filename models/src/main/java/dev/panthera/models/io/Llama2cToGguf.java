package dev.panthera.models.io;

import dev.panthera.quant.ggml.GgmlType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts a llama2.c checkpoint to a llama.cpp GGUF ({@code general.architecture = llama}). The weights need no
 * permutation: llama2.c and llama.cpp both rotate adjacent pairs in RoPE. Matrices whose rows are a multiple of 32
 * are written as {@code type} (F32, F16, Q8_0 or Q4_0), the rest and the norm weights as F32; a shared classifier is
 * left out, and llama.cpp then ties {@code output.weight} to {@code token_embd.weight}.
 *
 * <p>A llama2.c checkpoint carries no vocabulary. Pass the pieces and scores if you have them; otherwise a
 * placeholder vocabulary is written ({@code <unk>}, {@code <s>}, {@code </s>}, the 256 byte tokens
 * {@code <0x00>..<0xFF>}, then {@code ▁t<id>}), which is enough for llama.cpp to load the model and to work in
 * token ids.
 */
public final class Llama2cToGguf {
    private Llama2cToGguf() {}

    /** Writes {@code c} to {@code out} with the placeholder vocabulary. */
    public static void convert(Llama2cCheckpoint c, GgmlType type, Path out) throws IOException {
        int v = c.config().vocabSize();
        String[] pieces = new String[v];
        float[] scores = new float[v];
        for (int i = 0; i < v; i++) {
            pieces[i] = i == 0
                    ? "<unk>"
                    : i == 1 ? "<s>" : i == 2 ? "</s>" : i < 259 ? String.format("<0x%02X>", i - 3) : "\u2581t" + i;
            scores[i] = i < 259 ? 0 : -i;
        }
        convert(c, type, pieces, scores, out);
    }

    /** Writes {@code c} to {@code out} with vocabulary {@code pieces} ("▁" for spaces) and their {@code scores}. */
    public static void convert(Llama2cCheckpoint c, GgmlType type, String[] pieces, float[] scores, Path out)
            throws IOException {
        Llama2cCheckpoint.Config cfg = c.config();
        if (pieces.length != cfg.vocabSize() || scores.length != cfg.vocabSize()) {
            throw new IllegalArgumentException("llama2c → gguf: vocabulary of " + pieces.length + " pieces / "
                    + scores.length + " scores for a model with vocab_size " + cfg.vocabSize());
        }
        GgufWriter w = new GgufWriter()
                .put("general.architecture", "llama")
                .put("general.name", "llama2.c checkpoint")
                .putU32("llama.context_length", cfg.seqLen())
                .putU32("llama.embedding_length", cfg.dim())
                .putU32("llama.block_count", cfg.nLayers())
                .putU32("llama.feed_forward_length", cfg.hiddenDim())
                .putU32("llama.rope.dimension_count", cfg.headSize())
                .putU32("llama.attention.head_count", cfg.nHeads())
                .putU32("llama.attention.head_count_kv", cfg.nKvHeads())
                .put("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .put("llama.rope.freq_base", 10000f)
                .put("tokenizer.ggml.model", "llama");
        List<GgufValue> tok = new ArrayList<>(), sc = new ArrayList<>(), types = new ArrayList<>();
        for (int i = 0; i < pieces.length; i++) {
            tok.add(new GgufValue.Str(pieces[i]));
            sc.add(new GgufValue.F32(scores[i]));
            int t = i == 0 ? 2 : i < 3 ? 3 : pieces[i].matches("<0x[0-9A-F]{2}>") ? 6 : 1;
            types.add(new GgufValue.I32(t));
        }
        w.put("tokenizer.ggml.tokens", new GgufValue.Array(GgufValue.STRING, tok))
                .put("tokenizer.ggml.scores", new GgufValue.Array(GgufValue.FLOAT32, sc))
                .put("tokenizer.ggml.token_type", new GgufValue.Array(GgufValue.INT32, types))
                .putU32("tokenizer.ggml.unknown_token_id", 0)
                .putU32("tokenizer.ggml.bos_token_id", 1)
                .putU32("tokenizer.ggml.eos_token_id", 2);
        matrix(w, c, "model.embed_tokens.weight", "token_embd.weight", type);
        for (int l = 0; l < cfg.nLayers(); l++) {
            String p = "model.layers." + l + ".", q = "blk." + l + ".";
            matrix(w, c, p + "input_layernorm.weight", q + "attn_norm.weight", GgmlType.F32);
            matrix(w, c, p + "self_attn.q_proj.weight", q + "attn_q.weight", type);
            matrix(w, c, p + "self_attn.k_proj.weight", q + "attn_k.weight", type);
            matrix(w, c, p + "self_attn.v_proj.weight", q + "attn_v.weight", type);
            matrix(w, c, p + "self_attn.o_proj.weight", q + "attn_output.weight", type);
            matrix(w, c, p + "post_attention_layernorm.weight", q + "ffn_norm.weight", GgmlType.F32);
            matrix(w, c, p + "mlp.gate_proj.weight", q + "ffn_gate.weight", type);
            matrix(w, c, p + "mlp.down_proj.weight", q + "ffn_down.weight", type);
            matrix(w, c, p + "mlp.up_proj.weight", q + "ffn_up.weight", type);
        }
        matrix(w, c, "model.norm.weight", "output_norm.weight", GgmlType.F32);
        if (!cfg.sharedClassifier()) matrix(w, c, "lm_head.weight", "output.weight", type);
        w.write(out);
    }

    private static void matrix(GgufWriter w, Llama2cCheckpoint c, String from, String to, GgmlType type) {
        long[] shape = c.shape(from);
        GgmlType t = shape[shape.length - 1] % type.blockSize() == 0 ? type : GgmlType.F32;
        w.tensor(to, t, shape, c.tensor(from).toFloatArray());
    }
}
