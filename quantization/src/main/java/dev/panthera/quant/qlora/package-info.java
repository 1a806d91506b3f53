/**
 * QLoRA: LoRA adapters trained over a frozen bitsandbytes 4-bit base whose weight is decoded inside the kernels and
 * never held as floats; merging onto a dequantized copy.
 */
package dev.panthera.quant.qlora;
