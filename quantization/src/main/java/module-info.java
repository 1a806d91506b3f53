/** Quantized formats: GGML's tensor types and block formats, bitsandbytes' NF4/FP4. */
module dev.panthera.quant {
    exports dev.panthera.quant.bnb;
    exports dev.panthera.quant.ggml;
}
