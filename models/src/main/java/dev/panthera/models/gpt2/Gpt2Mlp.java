package dev.panthera.models.gpt2;

import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.UnaryOp;

/** GPT-2's feed-forward: c_proj(gelu(c_fc(x))), Conv1D weights [in, out] with biases; GELU per the config. */
final class Gpt2Mlp {
    private final boolean tanhGelu;
    private final Tensor wFc, bFc, wProj, bProj;

    Gpt2Mlp(Gpt2Config c, Gpt2Weights w, String prefix) {
        tanhGelu = c.tanhGelu();
        wFc = w.conv1d(prefix + "c_fc.weight", c.dim(), c.hidden());
        bFc = w.vector(prefix + "c_fc.bias", c.hidden());
        wProj = w.conv1d(prefix + "c_proj.weight", c.hidden(), c.dim());
        bProj = w.vector(prefix + "c_proj.bias", c.dim());
    }

    /** residual + c_proj(gelu(c_fc(x))), the biases, GELU and residual added as each product is written. */
    Tensor forward(Tensor x, Tensor residual) {
        Tensor h = x.matmulAdd(wFc, bFc, null, tanhGelu ? UnaryOp.GELU_TANH : UnaryOp.GELU_ERF);
        return h.matmulAdd(wProj, bProj, residual);
    }
}
