package dev.panthera.nn.layers;

import dev.panthera.nn.Init;
import dev.panthera.nn.Module;
import dev.panthera.tensor.Tensor;

/** x / √(mean(x²) + eps) · weight over the last dimension (LLaMA's norm); weight starts at ones. */
public final class RMSNorm extends Module {
    private final double eps;

    public RMSNorm(long dim, double eps) {
        this.eps = eps;
        registerParameter("weight", Init.ones(dim));
    }

    @Override
    public Tensor forward(Tensor x) {
        return x.rmsNorm(namedParameters().get("weight"), eps);
    }
}
