package dev.panthera.quant.gptq;

import java.util.Arrays;

/**
 * A weight [out, in] on GPTQ's grid, in the terms of the GPTQ checkpoint: q (one unsigned {@code bits}-bit integer per
 * weight, kept unpacked here, row-major [out, in]), scales and zero points per (group, output row), row-major
 * [groups, out], and g_idx [in] giving each input column's group (i / groupSize, or its rank in act-order / groupSize).
 * Weight [r, c] is scales[g_idx[c], r] · (q[r, c] − zeros[g_idx[c], r]). Zero points are true ones: a v1 checkpoint
 * stores zero − 1 ({@link GptqPacking}).
 *
 * @param name the tensor's name, for error messages
 * @param out rows (output features)
 * @param in columns (input features)
 * @param bits 2, 3, 4 or 8
 * @param groupSize the config's group size (−1: one group per row)
 * @param sym whether the grid was symmetric (recorded in the checkpoint's config)
 * @param q out·in values in 0..2^bits − 1
 * @param scales groups·out float16-representable scales
 * @param zeros groups·out zero points (0..2^bits; 2^bits only from a v1 file that stored zero −1)
 * @param gIdx in group indices
 */
public record GptqWeight(
        String name,
        int out,
        int in,
        int bits,
        int groupSize,
        boolean sym,
        byte[] q,
        float[] scales,
        int[] zeros,
        int[] gIdx) {

    public GptqWeight {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
            throw new IllegalArgumentException("GptqWeight " + name + ": bits must be 2, 3, 4 or 8, got " + bits);
        if (out < 0 || in < 0)
            throw new IllegalArgumentException("GptqWeight " + name + ": shape [" + out + ", " + in + "]");
        int groups = groups(in, groupSize);
        if (q.length != (long) out * in
                || scales.length != (long) groups * out
                || zeros.length != (long) groups * out
                || gIdx.length != in)
            throw new IllegalArgumentException("GptqWeight " + name + ": [" + out + ", " + in + "] in " + groups
                    + " groups needs " + (long) out * in + " q, " + (long) groups * out + " scales and zeros and " + in
                    + " g_idx; got " + q.length + ", " + scales.length + ", " + zeros.length + ", " + gIdx.length);
        int maxQ = (1 << bits) - 1;
        for (int c = 0; c < in; c++) {
            if (gIdx[c] < 0 || gIdx[c] >= groups)
                throw new IllegalArgumentException(
                        "GptqWeight " + name + ": g_idx[" + c + "] = " + gIdx[c] + " outside [0, " + groups + ")");
        }
        for (int i = 0; i < q.length; i++) {
            if ((q[i] & 0xFF) > maxQ)
                throw new IllegalArgumentException("GptqWeight " + name + ": q[" + i / Math.max(1, in) + ", "
                        + i % Math.max(1, in) + "] = " + (q[i] & 0xFF) + " exceeds " + maxQ);
        }
        for (int i = 0; i < scales.length; i++) {
            if (!Float.isFinite(scales[i]))
                throw new IllegalArgumentException("GptqWeight " + name + ": scale [" + i / Math.max(1, out) + ", "
                        + i % Math.max(1, out) + "] is " + scales[i]);
        }
    }

    /** Groups of a row of {@code in} columns under {@code groupSize} (−1: one). */
    public static int groups(int in, int groupSize) {
        if (groupSize == -1) return 1;
        if (groupSize <= 0) throw new IllegalArgumentException("GPTQ: group size " + groupSize + " (use -1 for none)");
        return (in + groupSize - 1) / groupSize;
    }

    public int groups() {
        return groups(in, groupSize);
    }

    /** q of weight [r, c]. */
    public int q(int r, int c) {
        return q[r * in + c] & 0xFF;
    }

    /** Row {@code r} dequantized in float32 into {@code dst} from {@code at}. */
    public void dequantizeRow(int r, float[] dst, int at) {
        for (int c = 0; c < in; c++) {
            int g = gIdx[c] * out + r;
            dst[at + c] = scales[g] * (q(r, c) - zeros[g]);
        }
    }

    /** The whole matrix as row-major floats [out, in]. */
    public float[] dequantize() {
        float[] w = new float[Math.multiplyExact(out, in)];
        for (int r = 0; r < out; r++) dequantizeRow(r, w, r * in);
        return w;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GptqWeight g
                && name.equals(g.name)
                && out == g.out
                && in == g.in
                && bits == g.bits
                && groupSize == g.groupSize
                && sym == g.sym
                && Arrays.equals(q, g.q)
                && Arrays.equals(scales, g.scales)
                && Arrays.equals(zeros, g.zeros)
                && Arrays.equals(gIdx, g.gIdx);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(q) * 31 + Arrays.hashCode(scales);
    }

    @Override
    public String toString() {
        return "GptqWeight[" + name + " [" + out + ", " + in + "], " + bits + " bits, group " + groupSize
                + (sym ? ", sym]" : ", asym]");
    }
}
