package dev.panthera.models.llama;

import dev.panthera.tensor.Tensor;

/** Llama's SwiGLU feed-forward over file-dtype or quantized weights: down_proj(silu(gate_proj(x)) · up_proj(x)). */
final class LlamaMlp {
    private final Projection gate, up, down;

    LlamaMlp(LlamaConfig c, LlamaWeights w, String prefix) {
        gate = w.projection(prefix + "gate_proj.weight", c.hidden(), c.dim(), null);
        up = w.projection(prefix + "up_proj.weight", c.hidden(), c.dim(), null);
        down = w.projection(prefix + "down_proj.weight", c.dim(), c.hidden(), null);
    }

    Tensor forward(Tensor x) {
        return down.apply(gate.apply(x).silu().mul(up.apply(x)));
    }
}
