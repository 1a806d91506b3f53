package dev.panthera.models.llama;

/** What loading does with a GGUF's quantized tensors (Q8_0, Q4_K, ...); other formats and dtypes are unaffected. */
public enum QuantizedWeights {
    /**
     * Keep them as stored: projections and the token table read the blocks in place (a {@code QuantizedLinear}), so
     * resident memory stays about the file's size. The default, as llama.cpp runs a quantized file.
     */
    KEEP,
    /** Dequantize each to F32 once at load (four bytes a weight): the plain matmul path, for comparisons. */
    DEQUANTIZE
}
