/**
 * bitsandbytes' blockwise formats: the 4-bit NF4 and FP4 codes (QLoRA), their double quantization of the block
 * absmax with the 8-bit dynamic code, as bitsandbytes lays them out (two codes a byte, the first in the high nibble).
 */
package dev.panthera.quant.bnb;
