/**
 * Modules and parameters ({@link dev.panthera.nn.Module}), initialisers and helpers. Layers are in
 * {@code dev.panthera.nn.layers}, losses in {@code .loss}, LoRA and LLaMA-Adapter in {@code .lora}, optimizers (SGD,
 * AdamW, LOMO, SWAN) in {@code .optim}, and the adapter safetensors reader/writer in {@code .io}.
 */
package dev.panthera.nn;
