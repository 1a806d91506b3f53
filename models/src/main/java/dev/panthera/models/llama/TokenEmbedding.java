package dev.panthera.models.llama;

import dev.panthera.quant.QuantizedWeight;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;

/**
 * The token embedding table: rows looked up by id, from a dense matrix (any dtype, widened to F32) or from quantized
 * GGML rows, each looked-up row decoded alone so the table stays quantized.
 */
interface TokenEmbedding {
    /** ids [B, T] (integers, already range-checked) → F32 [B, T, dim]. */
    Tensor lookup(Tensor ids);

    static TokenEmbedding dense(Tensor table) {
        return ids -> {
            Tensor h = Tensor.embedding(table, ids);
            return h.dtype() == DType.F32 ? h : h.to(DType.F32);
        };
    }

    static TokenEmbedding quantized(QuantizedWeight table) {
        int dim = Math.toIntExact(table.in());
        return ids -> {
            long[] v = ids.toLongArray();
            float[] out = new float[Math.multiplyExact(v.length, dim)];
            for (int i = 0; i < v.length; i++) table.dequantizeRow(v[i], out, i * dim);
            return Tensor.of(out, ids.size(0), ids.size(1), dim);
        };
    }
}
