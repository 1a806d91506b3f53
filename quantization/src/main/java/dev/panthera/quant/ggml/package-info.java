/** GGML's tensor types and block formats (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, the K-quants) as GGUF files store them. */
package dev.panthera.quant.ggml;
