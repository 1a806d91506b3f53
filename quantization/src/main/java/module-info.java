/** Quantized formats: the NF4 code and GGML's tensor types and block formats. */
module dev.panthera.quant {
    exports dev.panthera.quant;
    exports dev.panthera.quant.ggml;
}
