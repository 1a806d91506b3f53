package dev.panthera.models.bert;

import dev.panthera.models.io.OnnxWeights;
import dev.panthera.models.io.Weights;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A BERT checkpoint read by HuggingFace names ({@code embeddings.word_embeddings.weight},
 * {@code encoder.layer.0.attention.self.query.weight}, ...), with or without the {@code bert.} prefix that
 * task heads (BertForMaskedLM, ...) put before them. Linear weights come back as [in, out], ready for
 * {@code x.matmul(w)}: a HuggingFace [out, in] weight as a transposed view, an ONNX export's anonymous MatMul
 * initializer (already [in, out]) as it is. Every shape is checked against the config, so a mismatched file fails
 * naming the tensor.
 */
final class BertWeights {
    private final Weights w;
    private final String prefix;

    BertWeights(Weights w) {
        this.w = w;
        this.prefix =
                !w.contains("embeddings.word_embeddings.weight") && w.contains("bert.embeddings.word_embeddings.weight")
                        ? "bert."
                        : "";
    }

    /**
     * A linear layer's weight as [in, out], packed for matmul ({@link Tensor#packedForMatmul()}): an encoder's products
     * all have M = batch·tokens rows, so the backend cuts the weight into its GEMM panels once here instead of on
     * every forward. The result is read-only (the model never writes its weights).
     */
    Tensor linear(String name, long out, long in) {
        return inOut(name, out, in).packedForMatmul();
    }

    /**
     * The linear maps {@code names} (each [out, in] in HF terms) side by side as one [in, names.length·out] weight,
     * packed: x times it is the maps' outputs concatenated along the last dimension, one product instead of several.
     */
    Tensor linears(long out, long in, String... names) {
        List<Tensor> parts = new ArrayList<>();
        for (String n : names) parts.add(inOut(n, out, in));
        return MemoryScope.unscoped(() -> Tensor.cat(parts, 1)).packedForMatmul();
    }

    /** The [in, out] F32 view of the weight {@code name}. */
    private Tensor inOut(String name, long out, long in) {
        String n = prefix + name;
        return w instanceof OnnxWeights o && o.isTransposed(n)
                ? floats(n, in, out)
                : floats(n, out, in).t();
    }

    /** A tensor of exactly {@code shape} as F32. */
    Tensor floats(String name, long... shape) {
        String n = name.startsWith(prefix) ? name : prefix + name;
        if (!w.contains(n))
            throw new IllegalArgumentException(
                    "BERT checkpoint: missing tensor '" + n + "' (" + w.names().size() + " tensors, e.g. "
                            + w.names().subList(0, Math.min(5, w.names().size())) + ")");
        long[] got = w.shape(n);
        if (!Arrays.equals(got, shape))
            throw new IllegalArgumentException("BERT checkpoint: tensor '" + n + "' has shape " + Arrays.toString(got)
                    + ", the config needs " + Arrays.toString(shape));
        Tensor t = w.tensor(n);
        return t.dtype() == DType.F32 ? t : MemoryScope.unscoped(() -> t.to(DType.F32));
    }

    /** A 1-D tensor (bias, LayerNorm weight) of {@code n} values as F32. */
    Tensor vector(String name, long n) {
        return floats(name, n);
    }

    /** The 1-D tensors {@code names} of {@code n} values each, one after another. */
    Tensor vectors(long n, String... names) {
        List<Tensor> parts = new ArrayList<>();
        for (String name : names) parts.add(vector(name, n));
        return MemoryScope.unscoped(() -> Tensor.cat(parts, 0));
    }
}
