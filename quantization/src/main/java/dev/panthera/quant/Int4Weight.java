package dev.panthera.quant;

import dev.panthera.tensor.Tensor;
import jdk.incubator.vector.VectorSpecies;

/**
 * Group-wise asymmetric int4 of a weight [out, in]: each row is cut into groups of {@code groupSize} (32, 64 or 128)
 * consecutive weights with a float scale and an integer zero point, W ≈ (q - zero)·scale, q in 0..15. The range of a
 * group is widened to include 0 (as torchao's asymmetric affine parameters do), so the zero point is an integer in
 * 0..15 and 0 is exact: scale = (max - min)/15, zero = clamp(round(-min/scale), 0, 15), q = clamp(round(w/scale) +
 * zero, 0, 15), rounding half to even. Two q a byte, the even weight in the low nibble.
 *
 * @param name the tensor's name, for error messages
 * @param out rows
 * @param in columns, a multiple of {@code groupSize}
 * @param groupSize 32, 64 or 128
 * @param packed out·in/2 bytes
 * @param scale one per group, row-major [out, in/groupSize]
 * @param zero one per group
 */
public record Int4Weight(String name, int out, int in, int groupSize, byte[] packed, float[] scale, byte[] zero) {

    public Int4Weight {
        if (groupSize != 32 && groupSize != 64 && groupSize != 128) {
            throw new IllegalArgumentException(
                    "Int4Weight " + name + ": group size must be 32, 64 or 128, got " + groupSize);
        }
        if (out < 0 || in < 0 || in % groupSize != 0) {
            throw new IllegalArgumentException("Int4Weight " + name + ": shape [" + out + ", " + in
                    + "] cannot take groups of " + groupSize + " (rows must be a multiple)");
        }
        long groups = (long) out * (in / groupSize);
        if (packed.length != (long) out * in / 2 || scale.length != groups || zero.length != groups) {
            throw new IllegalArgumentException("Int4Weight " + name + ": [" + out + ", " + in + "] in groups of "
                    + groupSize + " needs " + (long) out * in / 2 + " bytes, " + groups + " scales and zeros");
        }
    }

    /** Quantizes the row-major [out, in] floats {@code w}. */
    public static Int4Weight quantize(String name, float[] w, int out, int in, int groupSize) {
        if (w.length != (long) out * in) {
            throw new IllegalArgumentException(
                    "Int4Weight " + name + ": " + w.length + " values for shape [" + out + ", " + in + "]");
        }
        if ((groupSize == 32 || groupSize == 64 || groupSize == 128) && in % groupSize != 0) {
            throw new IllegalArgumentException("Int4Weight " + name + ": shape [" + out + ", " + in
                    + "] cannot take groups of " + groupSize + " (rows must be a multiple)");
        }
        int groups = groupSize > 0 ? w.length / groupSize : 0;
        byte[] packed = new byte[w.length / 2];
        float[] scale = new float[groups];
        byte[] zero = new byte[groups];
        for (int g = 0; g < groups; g++) {
            float min = 0, max = 0;
            for (int i = g * groupSize; i < (g + 1) * groupSize; i++) {
                if (!Float.isFinite(w[i])) {
                    throw new IllegalArgumentException("Int4Weight " + name + " [" + out + ", " + in + "]: weight ["
                            + i / in + ", " + i % in + "] is " + w[i]);
                }
                min = Math.min(min, w[i]);
                max = Math.max(max, w[i]);
            }
            float s = (max - min) / 15f;
            int z = s == 0 ? 0 : (int) Math.max(0, Math.min(15, Math.rint(-min / s)));
            scale[g] = s;
            zero[g] = (byte) z;
            for (int i = g * groupSize; i < (g + 1) * groupSize; i++) {
                int q = s == 0 ? z : (int) Math.max(0, Math.min(15, Math.rint(w[i] / s) + z));
                packed[i >> 1] |= (byte) ((i & 1) == 0 ? q : q << 4);
            }
        }
        return new Int4Weight(name, out, in, groupSize, packed, scale, zero);
    }

    /** q of weight {@code i} (row-major index). */
    public int q(int i) {
        int b = packed[i >> 1] & 0xFF;
        return (i & 1) == 0 ? b & 0xF : b >> 4;
    }

    /** Row {@code r} dequantized into {@code dst} from {@code at}: (q - zero)·scale in float32. */
    public void dequantizeRow(int r, float[] dst, int at) {
        int base = r * in;
        for (int g = 0; g < in / groupSize; g++) {
            int gi = base / groupSize + g, z = zero[gi];
            float s = scale[gi];
            for (int j = 0; j < groupSize; j++) dst[at + g * groupSize + j] = (q(base + g * groupSize + j) - z) * s;
        }
    }

    /** The whole matrix as floats, for tests and references. */
    public float[] dequantize() {
        float[] w = new float[out * in];
        for (int r = 0; r < out; r++) dequantizeRow(r, w, r * in);
        return w;
    }

    /** y [..., out] = x [..., in] · Wᵀ: each weight row is dequantized into a K-float scratch and dotted (vectors). */
    public Tensor matmul(Tensor x) {
        long[] dims = x.dims();
        if (dims.length == 0 || dims[dims.length - 1] != in) {
            throw new IllegalArgumentException("Int4Weight.matmul: x " + x.shape() + " times " + name + " int4 [" + out
                    + ", " + in + "]ᵀ: the last dim of x must be " + in);
        }
        int m = 1;
        for (int i = 0; i < dims.length - 1; i++) m = Math.multiplyExact(m, (int) dims[i]);
        float[] y = new float[Math.multiplyExact(m, out)];
        matmul(QuantLanes.F, x.toFloatArray(), m, y);
        long[] outDims = dims.clone();
        outDims[outDims.length - 1] = out;
        return Tensor.of(y, outDims);
    }

    void matmul(VectorSpecies<Float> fs, float[] x, int m, float[] y) {
        float[] row = new float[in];
        for (int r = 0; r < out; r++) {
            dequantizeRow(r, row, 0);
            for (int i = 0; i < m; i++) y[i * out + r] = GgmlDot.dot(fs, x, i * in, row, 0, in);
        }
    }
}
