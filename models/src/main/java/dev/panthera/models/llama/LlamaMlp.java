package dev.panthera.models.llama;

import dev.panthera.tensor.Tensor;

/** Llama's SwiGLU feed-forward over file-dtype or quantized weights: down_proj(silu(gate_proj(x)) · up_proj(x)). */
final class LlamaMlp {
    private final Projections gateUp;
    private final Projection down;

    LlamaMlp(LlamaConfig c, LlamaWeights w, String prefix) {
        gateUp = w.projections(
                new String[] {prefix + "gate_proj.weight", prefix + "up_proj.weight"},
                new long[] {c.hidden(), c.hidden()},
                c.dim(),
                new String[2]);
        down = w.projection(prefix + "down_proj.weight", c.dim(), c.hidden(), null);
    }

    /** residual + down_proj(silu(gate_proj(x)) · up_proj(x)), the residual added as down_proj's product is written. */
    Tensor forward(Tensor x, Tensor residual) {
        return down.apply(gateUp.swiGlu(x), residual);
    }
}
