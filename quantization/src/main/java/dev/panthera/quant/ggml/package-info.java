/** GGML's tensor types and block formats (Q8_0, Q4_0, Q4_1, Q4_K, Q6_K) as GGUF files store them. */
package dev.panthera.quant.ggml;
