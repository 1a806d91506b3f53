package com.example.kernels;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;

/**
 * A user-written fused kernel: y = gelu(x + bias) over the last dimension of an F32 matrix, in one pass instead of an
 * add and a gelu. GELU with erf; erf by Abramowitz and Stegun 7.1.26 (|error| ≤ 1.5e-7), evaluated in double.
 */
public final class BiasGelu {
    private BiasGelu() {}

    /** gelu(x + bias) for x of shape [rows, n] (any layout) and bias of shape [n]. */
    public static Tensor apply(Tensor x, Tensor bias) {
        if (x.rank() != 2 || bias.rank() != 1 || bias.size(0) != x.size(1))
            throw new IllegalArgumentException("biasGelu: x " + java.util.Arrays.toString(x.dims()) + " and bias "
                    + java.util.Arrays.toString(bias.dims()) + " do not match [rows, n] and [n]");
        float[] in = x.contiguous().toFloatArray(), b = bias.toFloatArray(), out = new float[in.length];
        apply(in, b, out);
        return Tensor.of(out, x.dims()).to(DType.F32);
    }

    /** The kernel on arrays: out[r·n + j] = gelu(in[r·n + j] + b[j]) with n = b.length. */
    public static void apply(float[] in, float[] b, float[] out) {
        int n = b.length;
        for (int i = 0; i < in.length; i++) out[i] = gelu(in[i] + b[i % n]);
    }

    static float gelu(float v) {
        double x = v;
        return (float) (0.5 * x * (1 + erf(x / Math.sqrt(2))));
    }

    /** Abramowitz and Stegun 7.1.26. */
    static double erf(double z) {
        double s = Math.signum(z), a = Math.abs(z);
        double t = 1 / (1 + 0.3275911 * a);
        double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        return s * (1 - poly * Math.exp(-a * a));
    }
}
