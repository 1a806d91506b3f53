package dev.panthera.models.gpt2;

import dev.panthera.models.io.Weights;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.Arrays;

/**
 * A GPT-2 checkpoint read by HuggingFace names without the {@code transformer.} prefix ({@code wte.weight},
 * {@code h.0.attn.c_attn.weight}, ...). HF checkpoints store Conv1D weights as [in, out] (and may carry the
 * {@code transformer.} prefix); llama.cpp's converter transposes them to [out, in] under its own names
 * ({@link #ggufName}). {@link #conv1d} hides the difference: it always gives an [in, out] matrix, a transposed view
 * for GGUF. Matrices keep their file dtype when the mixed matmul takes it (F32, F16, BF16); vectors become F32. Every
 * shape is checked against the config, so a mismatched file fails naming the tensor.
 */
final class Gpt2Weights {
    private final Weights w;
    private final boolean gguf;
    private final String prefix;

    Gpt2Weights(Weights w, boolean gguf) {
        this.w = w;
        this.gguf = gguf;
        this.prefix = !gguf && w.contains("transformer.wte.weight") ? "transformer." : "";
    }

    private String name(String hf) {
        if (gguf) return ggufName(hf);
        return hf.equals("lm_head.weight") ? hf : prefix + hf;
    }

    boolean contains(String hf) {
        return w.contains(name(hf));
    }

    /** A [rows, cols] matrix stored the same way in both layouts (embeddings, the head). */
    Tensor matrix(String hf, long rows, long cols) {
        return keepOrWiden(get(hf, rows, cols));
    }

    /** A Conv1D weight as [in, out] (x·W), from HF's [in, out] or GGUF's [out, in]. */
    Tensor conv1d(String hf, long in, long out) {
        return gguf ? keepOrWiden(get(hf, out, in)).t() : keepOrWiden(get(hf, in, out));
    }

    Tensor vector(String hf, long n) {
        Tensor t = get(hf, n);
        return MemoryScope.unscoped(() -> t.to(DType.F32).contiguous());
    }

    private static Tensor keepOrWiden(Tensor t) {
        DType d = t.dtype();
        return d == DType.F32 || d == DType.F16 || d == DType.BF16 ? t : MemoryScope.unscoped(() -> t.to(DType.F32));
    }

    private Tensor get(String hf, long... shape) {
        String n = name(hf);
        if (!w.contains(n))
            throw new IllegalArgumentException(
                    "gpt2 checkpoint: missing tensor '" + n + "'" + (n.equals(hf) ? "" : " (" + hf + ")"));
        long[] got = w.shape(n);
        if (!Arrays.equals(got, shape))
            throw new IllegalArgumentException("gpt2 checkpoint: tensor '" + n + "' has shape " + Arrays.toString(got)
                    + ", the config needs " + Arrays.toString(shape));
        return w.tensor(n);
    }

    /** llama.cpp's GGUF name (convert_hf_to_gguf, arch gpt2) for a HuggingFace GPT-2 tensor name. */
    static String ggufName(String hf) {
        return switch (hf) {
            case "wte.weight" -> "token_embd.weight";
            case "wpe.weight" -> "position_embd.weight";
            case "lm_head.weight" -> "output.weight";
            default ->
                hf.replace("ln_f.", "output_norm.")
                        .replace("h.", "blk.")
                        .replace(".ln_1.", ".attn_norm.")
                        .replace(".attn.c_attn.", ".attn_qkv.")
                        .replace(".attn.c_proj.", ".attn_output.")
                        .replace(".ln_2.", ".ffn_norm.")
                        .replace(".mlp.c_fc.", ".ffn_up.")
                        .replace(".mlp.c_proj.", ".ffn_down.");
        };
    }
}
