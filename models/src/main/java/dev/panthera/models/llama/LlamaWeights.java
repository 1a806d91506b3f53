package dev.panthera.models.llama;

import dev.panthera.models.io.GgufFile;
import dev.panthera.models.io.Weights;
import dev.panthera.quant.QuantizedLinear;
import dev.panthera.quant.QuantizedWeight;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * A checkpoint read by HuggingFace names: {@code rename} maps each HF name to the file's own (identity for
 * safetensors and llama2.c, {@link #ggufName} for GGUF). Matrices keep their file dtype (F32, F16, BF16 run through
 * the mixed matmul; a quantized GGUF tensor arrives as F32 from the reader); norm weights and biases become F32.
 * With {@code keepQuantized}, a GGUF's quantized matrices stay in their blocks ({@link #projection},
 * {@link #embedding}: no F32 copy is made). Every shape is checked against the config before use, so a mismatched
 * file fails naming the tensor.
 */
final class LlamaWeights {
    private final Weights w;
    private final UnaryOperator<String> rename;
    private final boolean keepQuantized;
    private final LinearMaker maker;

    LlamaWeights(Weights w, UnaryOperator<String> rename) {
        this(w, rename, false, null);
    }

    /** {@code maker} (or null) builds every projection from float weights, overriding {@code keepQuantized}. */
    LlamaWeights(Weights w, UnaryOperator<String> rename, boolean keepQuantized, LinearMaker maker) {
        this.w = w;
        this.rename = rename;
        this.keepQuantized = keepQuantized && maker == null;
        this.maker = maker;
    }

    /** The GGUF file when {@code hfName} is a quantized tensor in it to be kept as blocks; else null. */
    private GgufFile quantizedSource(String hfName, long rows, long cols) {
        if (!keepQuantized || !(w instanceof GgufFile g)) return null;
        String name = rename.apply(hfName);
        if (!g.contains(name) || !g.info(name).type().isQuantized()) return null;
        checkShape(hfName, rows, cols);
        return g;
    }

    /** The linear map with weight {@code hfName} [rows, cols] and, when {@code biasName} is not null, its bias. */
    Projection projection(String hfName, long rows, long cols, String biasName) {
        Tensor bias = biasName == null ? null : vector(biasName, rows);
        if (maker != null) {
            var stored = maker.stored(hfName, Math.toIntExact(rows), Math.toIntExact(cols), bias);
            if (stored instanceof QuantizedLinear q) return Projection.quantized(q);
            if (stored != null) return stored::forward;
            float[] f = matrix(hfName, rows, cols).toFloatArray();
            var m = maker.linear(hfName, f, Math.toIntExact(rows), Math.toIntExact(cols), bias);
            if (m instanceof QuantizedLinear q) return Projection.quantized(q);
            if (m != null) return m::forward;
        }
        GgufFile g = quantizedSource(hfName, rows, cols);
        if (g != null) return Projection.quantized(QuantizedLinear.of(g.quantizedWeight(rename.apply(hfName)), bias));
        return Projection.dense(matrix(hfName, rows, cols), bias);
    }

    /**
     * The linear maps {@code hfNames[i]} [rows[i], cols] of one input, with biases {@code biasNames[i]} (all null, or
     * none): one stacked quantized product when every weight is a quantized GGUF tensor kept as stored, of one type,
     * and the stack regroups ({@link QuantizedLinear#stacked}); else one {@link #projection} each.
     */
    Projections projections(String[] hfNames, long[] rows, long cols, String[] biasNames) {
        boolean stack = maker == null;
        boolean biased = biasNames[0] != null;
        for (int i = 0; i < hfNames.length && stack; i++)
            stack = quantizedSource(hfNames[i], rows[i], cols) != null && (biasNames[i] != null) == biased;
        if (stack) {
            GgufFile g = (GgufFile) w;
            java.util.List<QuantizedWeight> parts = new java.util.ArrayList<>();
            for (String n : hfNames) parts.add(g.quantizedWeight(rename.apply(n)));
            boolean oneType =
                    parts.stream().allMatch(p -> p.type() == parts.getFirst().type());
            QuantizedLinear layer =
                    oneType ? QuantizedLinear.stacked(parts, biased ? stackedBias(biasNames, rows) : null) : null;
            if (layer != null) return Projections.stacked(layer, rows);
        }
        Projection[] ps = new Projection[hfNames.length];
        for (int i = 0; i < ps.length; i++) ps[i] = projection(hfNames[i], rows[i], cols, biasNames[i]);
        return Projections.separate(ps);
    }

    /** The biases {@code names[i]} [rows[i]] one after another, F32. */
    private Tensor stackedBias(String[] names, long[] rows) {
        java.util.List<Tensor> parts = new java.util.ArrayList<>();
        for (int i = 0; i < names.length; i++) parts.add(vector(names[i], rows[i]));
        return MemoryScope.unscoped(() -> Tensor.cat(parts, 0));
    }

    /** The token embedding table {@code hfName} [rows, cols]. */
    TokenEmbedding embedding(String hfName, long rows, long cols) {
        GgufFile g = quantizedSource(hfName, rows, cols);
        if (g != null) return TokenEmbedding.quantized(g.quantizedWeight(rename.apply(hfName)));
        return TokenEmbedding.dense(matrix(hfName, rows, cols));
    }

    boolean contains(String hfName) {
        return w.contains(rename.apply(hfName));
    }

    Tensor matrix(String hfName, long rows, long cols) {
        Tensor t = get(hfName, rows, cols);
        DType d = t.dtype();
        return d == DType.F32 || d == DType.F16 || d == DType.BF16 ? t : MemoryScope.unscoped(() -> t.to(DType.F32));
    }

    Tensor vector(String hfName, long n) {
        Tensor t = get(hfName, n);
        if (maker != null) {
            float[] v = maker.vector(hfName, t.toFloatArray());
            if (v.length != n)
                throw new IllegalArgumentException("LinearMaker: '" + hfName + "' of " + n + " became " + v.length);
            return MemoryScope.unscoped(() -> Tensor.of(v, n));
        }
        return MemoryScope.unscoped(() -> t.to(DType.F32).contiguous());
    }

    private Tensor get(String hfName, long... shape) {
        return w.tensor(checkShape(hfName, shape));
    }

    /** The file's name for {@code hfName}, after checking that it exists with {@code shape}. */
    private String checkShape(String hfName, long... shape) {
        String name = rename.apply(hfName);
        if (!w.contains(name))
            throw new IllegalArgumentException(
                    "checkpoint: missing tensor '" + name + "'" + (name.equals(hfName) ? "" : " (" + hfName + ")"));
        long[] got = w.shape(name);
        if (!Arrays.equals(got, shape))
            throw new IllegalArgumentException("checkpoint: tensor '" + name + "' has shape " + Arrays.toString(got)
                    + ", the config needs " + Arrays.toString(shape));
        return name;
    }

    /** llama.cpp's GGUF name for a HuggingFace Llama tensor name. */
    static String ggufName(String hf) {
        return switch (hf) {
            case "model.embed_tokens.weight" -> "token_embd.weight";
            case "model.norm.weight" -> "output_norm.weight";
            case "lm_head.weight" -> "output.weight";
            default ->
                hf.replace("model.layers.", "blk.")
                        .replace("input_layernorm", "attn_norm")
                        .replace("self_attn.q_proj", "attn_q")
                        .replace("self_attn.k_proj", "attn_k")
                        .replace("self_attn.v_proj", "attn_v")
                        .replace("self_attn.o_proj", "attn_output")
                        .replace("post_attention_layernorm", "ffn_norm")
                        .replace("mlp.gate_proj", "ffn_gate")
                        .replace("mlp.down_proj", "ffn_down")
                        .replace("mlp.up_proj", "ffn_up");
        };
    }
}
