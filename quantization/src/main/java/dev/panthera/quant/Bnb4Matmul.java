package dev.panthera.quant;

import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.tensor.Tensor;

/**
 * y = x · Wᵀ for a bitsandbytes 4-bit weight holding a row-major [out, in] matrix (as {@code Linear4bit} stores it,
 * blocks running across rows): each weight row is decoded into a K-float scratch and dotted with every activation
 * row by the vector dot, so the weight stays packed.
 */
public final class Bnb4Matmul {
    private Bnb4Matmul() {}

    /** y [..., out] = x [..., in] · Wᵀ where {@code w} holds out·in weights. */
    public static Tensor matmul(Tensor x, Bnb4Bit w, int out, int in) {
        long[] dims = x.dims();
        if ((long) out * in != w.n() || dims.length == 0 || dims[dims.length - 1] != in) {
            throw new IllegalArgumentException("Bnb4Matmul.matmul: x " + x.shape() + " times " + w.code() + " [" + out
                    + ", " + in + "]ᵀ holding " + w.n() + " weights: the weight must hold out·in and x end in " + in);
        }
        int m = 1;
        for (int i = 0; i < dims.length - 1; i++) m = Math.multiplyExact(m, (int) dims[i]);
        float[] xa = x.toFloatArray(), y = new float[Math.multiplyExact(m, out)], row = new float[in];
        for (int r = 0; r < out; r++) {
            w.dequantize((long) r * in, in, row, 0);
            for (int i = 0; i < m; i++) y[i * out + r] = GgmlDot.dot(QuantLanes.F, xa, i * in, row, 0, in);
        }
        long[] outDims = dims.clone();
        outDims[outDims.length - 1] = out;
        return Tensor.of(y, outDims);
    }
}
