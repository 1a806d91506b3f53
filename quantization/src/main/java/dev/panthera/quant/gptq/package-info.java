/**
 * GPTQ (Frantar et al., arXiv 2210.17323), round-to-nearest on the same grid, GWQ's gradient-selected 16-bit outliers
 * (arXiv 2411.00850), and the qweight / qzeros / scales / g_idx arrays of the GPTQ checkpoint layout (AutoGPTQ's
 * "gptq" v1 format, which transformers loads).
 */
package dev.panthera.quant.gptq;
