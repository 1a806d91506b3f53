package dev.panthera.models.llama;

import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;

/**
 * Builds the layers of a Llama model from its float weights at load, so a model can run quantized in a format GGUF
 * does not hold (int8 per channel, int4 groups, NF4, SmoothQuant's W8A8) or with recording wrappers for calibration.
 * Every linear map of the blocks and the head passes through {@link #linear}; every norm weight and bias through
 * {@link #vector}. Returning null from {@link #linear} keeps the dense weight.
 */
public interface LinearMaker {
    /**
     * The layer for weight {@code name} (HuggingFace name, e.g. {@code model.layers.0.self_attn.q_proj.weight},
     * {@code lm_head.weight}; a tied head is {@code model.embed_tokens.weight}): {@code w} row-major [out, in] F32,
     * {@code bias} [out] or null. The result's {@code forward} maps [..., in] to [..., out], bias included.
     */
    Module linear(String name, float[] w, int out, int in, Tensor bias);

    /**
     * The layer for weight {@code name} [out, in] when the checkpoint holds it in a quantized layout of its own (a GPTQ
     * qweight, a bitsandbytes 4-bit weight, a GWQ layer) and has no float {@code name} to read; null (the default)
     * reads the float weight and goes through {@link #linear}.
     */
    default Module stored(String name, int out, int in, Tensor bias) {
        return null;
    }

    /** A norm weight or bias ({@code model.layers.0.input_layernorm.weight}, ...) as the model will use it. */
    default float[] vector(String name, float[] v) {
        return v;
    }
}
