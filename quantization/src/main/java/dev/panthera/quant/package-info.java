/** Quantized formats and quantizers. */
package dev.panthera.quant;
