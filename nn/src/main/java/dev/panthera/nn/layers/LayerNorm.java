package dev.panthera.nn.layers;

import dev.panthera.nn.Init;
import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;

/** Layer normalisation over the last dimension with weight (ones) and bias (zeros). */
public final class LayerNorm extends Module {
    private final double eps;

    public LayerNorm(long dim, double eps) {
        this.eps = eps;
        registerParameter("weight", Init.ones(dim));
        registerParameter("bias", Init.zeros(dim));
    }

    @Override
    public Tensor forward(Tensor x) {
        var p = namedParameters();
        return x.layerNorm(p.get("weight"), p.get("bias"), eps);
    }
}
