/**
 * Quantized formats (GGML's tensor types and block formats, bitsandbytes' NF4/FP4, int8), weights that stay
 * quantized in memory, and the Vector API kernels that multiply by them.
 */
module dev.panthera.quant {
    requires transitive dev.panthera.tensor;
    requires transitive dev.panthera.nn;
    requires dev.panthera.simd;
    requires jdk.incubator.vector;

    exports dev.panthera.quant;
    exports dev.panthera.quant.bnb;
    exports dev.panthera.quant.ggml;
    exports dev.panthera.quant.gptq;
    exports dev.panthera.quant.qlora;
}
