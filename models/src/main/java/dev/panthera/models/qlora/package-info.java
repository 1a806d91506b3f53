/**
 * QLoRA checkpoints: the safetensors layout transformers writes for bitsandbytes 4-bit models, its config.json, and
 * peft adapters over a 4-bit base.
 */
package dev.panthera.models.qlora;
