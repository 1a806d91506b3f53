package dev.panthera.models.llama;

import dev.panthera.tensor.Tensor;

/** Llama's SwiGLU feed-forward over file-dtype weights: down_proj(silu(gate_proj(x)) · up_proj(x)). */
final class LlamaMlp {
    private final Tensor gate, up, down;

    LlamaMlp(LlamaConfig c, LlamaWeights w, String prefix) {
        gate = w.matrix(prefix + "gate_proj.weight", c.hidden(), c.dim());
        up = w.matrix(prefix + "up_proj.weight", c.hidden(), c.dim());
        down = w.matrix(prefix + "down_proj.weight", c.dim(), c.hidden());
    }

    Tensor forward(Tensor x) {
        return x.matmul(gate.t()).silu().mul(x.matmul(up.t())).matmul(down.t());
    }
}
