package dev.panthera.quant.qlora;

import dev.panthera.nn.Module;
import dev.panthera.nn.layers.Linear;
import dev.panthera.quant.Bnb4Kernels;
import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.util.List;

/**
 * A frozen linear layer whose [out, in] weight is held in a bitsandbytes 4-bit format (NF4 or FP4, blocks across
 * rows, absmax plain or double quantized), as bitsandbytes' {@code Linear4bit}: y = x·W_dqᵀ + b. Forward and the
 * gradient with respect to x decode the weight a row at a time inside {@link Bnb4Kernels}; the weight gets no
 * gradient and is never held as a float matrix. The optional bias is a frozen parameter.
 */
public final class Linear4bit extends Module {
    private final long in;
    private final long out;
    private final Bnb4Bit weight;

    /** A layer over {@code weight}, which must hold out·in weights; {@code bias} [out] or null. */
    public Linear4bit(Bnb4Bit weight, long out, long in, Tensor bias) {
        if (in <= 0 || out <= 0 || out * in != weight.n() || out * in > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Linear4bit: a " + weight.code() + " weight of " + weight.n()
                    + " values cannot be [" + out + ", " + in + "] (positive sizes, out·in below 2^31)");
        }
        if (bias != null && (bias.rank() != 1 || bias.size(0) != out)) {
            throw new IllegalArgumentException("Linear4bit: bias " + bias.shape() + " must be [" + out + "]");
        }
        this.in = in;
        this.out = out;
        this.weight = weight;
        if (bias != null) registerParameter("bias", bias.to(DType.F32)).requiresGrad(false);
    }

    /** Quantizes {@code linear}'s weight (its bias is kept as a frozen copy), as {@code Linear4bit} does on load. */
    public static Linear4bit quantize(Linear linear, FourBitCode code, int blockSize, boolean doubleQuant) {
        Tensor w = linear.weight();
        float[] values = w.toFloatArray();
        Bnb4Bit q;
        try {
            q = Bnb4Bit.quantize(values, code, blockSize, doubleQuant);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Linear4bit.quantize " + w.shape() + ": " + e.getMessage(), e);
        }
        Tensor b = linear.bias();
        return new Linear4bit(q, linear.outFeatures(), linear.inFeatures(), b == null ? null : b.detach());
    }

    public long inFeatures() {
        return in;
    }

    public long outFeatures() {
        return out;
    }

    /** The packed weight and its quantization state. */
    public Bnb4Bit weight() {
        return weight;
    }

    /** The bias, or null. */
    public Tensor bias() {
        return namedParameters().get("bias");
    }

    /** W_dq as an [out, in] F32 tensor: for merging and tests, never used by forward or backward. */
    public Tensor dequantizedWeight() {
        return Tensor.of(weight.dequantize(), out, in);
    }

    /** Bytes of the weight in memory: packed codes and absmax (plus the bias when present). */
    public long weightBytes() {
        Tensor b = bias();
        return weight.byteSize() + (b == null ? 0 : 4 * b.numel());
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.rank() == 0 || x.size(-1) != in) {
            throw new IllegalArgumentException("Linear4bit: input " + x.shape() + " must end in " + in + " features ("
                    + weight.code() + " weight [" + out + ", " + in + "])");
        }
        long[] dims = x.dims();
        int m = Math.toIntExact(x.numel() / in);
        float[] y = new float[Math.multiplyExact(m, (int) out)];
        Bnb4Kernels.forward(x.toFloatArray(), m, weight, (int) out, (int) in, y);
        long[] outDims = dims.clone();
        outDims[outDims.length - 1] = out;
        Tensor result = Tensor.of(y, outDims);
        if (x.requiresGrad() && Autograd.isGradEnabled()) {
            result = Autograd.custom("linear4bit", result, List.of(x), (g, o) -> new Tensor[] {inputGradient(g, dims)});
        }
        Tensor b = bias();
        return b == null ? result : result.add(b);
    }

    /** gx = g·W_dq, decoded per row as forward does. */
    private Tensor inputGradient(Tensor g, long[] xDims) {
        int m = Math.toIntExact(g.numel() / out);
        float[] gx = new float[Math.multiplyExact(m, (int) in)];
        Bnb4Kernels.backwardInput(g.toFloatArray(), m, weight, (int) out, (int) in, gx);
        return Tensor.of(gx, xDims);
    }
}
