package dev.panthera.quant;

/**
 * A weight matrix [out, in] in int8 with one float scale per output channel (row): W[n, k] ≈ q[n·in + k]·scale[n],
 * symmetric, q in [-127, 127] (the int8 weights of SmoothQuant / LLM.int8(): scale = absmax / 127, q = round(w / scale)
 * half to even, as {@code torch.round}).
 *
 * @param name the tensor's name, for error messages
 * @param out rows (output features)
 * @param in columns (input features)
 * @param q row-major int8 values, out·in of them
 * @param scale out scales
 */
public record Int8Weight(String name, int out, int in, byte[] q, float[] scale) {

    public Int8Weight {
        if (out < 0 || in < 0 || q.length != (long) out * in || scale.length != out) {
            throw new IllegalArgumentException("Int8Weight " + name + ": shape [" + out + ", " + in + "] needs "
                    + (long) out * in + " values and " + out + " scales, got " + q.length + " and " + scale.length);
        }
    }

    /** Per output channel symmetric int8 of the row-major [out, in] floats {@code w}. */
    public static Int8Weight quantize(String name, float[] w, int out, int in) {
        if (w.length != (long) out * in) {
            throw new IllegalArgumentException(
                    "Int8Weight " + name + ": " + w.length + " values for shape [" + out + ", " + in + "]");
        }
        byte[] q = new byte[w.length];
        float[] scale = new float[out];
        try {
            for (int r = 0; r < out; r++) scale[r] = quantizeRow(w, r * in, in, q, r * in);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "Int8Weight " + name + " [" + out + ", " + in + "]: " + e.getMessage(), e);
        }
        return new Int8Weight(name, out, in, q, scale);
    }

    /**
     * Symmetric int8 of {@code n} values from {@code x[xo]} into {@code q[qo]}: returns the scale absmax / 127 (0 for
     * an all-zero row, whose q are 0); q = rint(x · (127 / absmax)) in float32, as bitsandbytes'
     * {@code int8_vectorwise_quant}.
     */
    static float quantizeRow(float[] x, int xo, int n, byte[] q, int qo) {
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xo + i];
            if (!Float.isFinite(v)) throw new IllegalArgumentException("value " + i + " of a row is " + v);
            amax = Math.max(amax, Math.abs(v));
        }
        if (amax == 0) {
            java.util.Arrays.fill(q, qo, qo + n, (byte) 0);
            return 0f;
        }
        float inv = 127f / amax;
        for (int i = 0; i < n; i++) q[qo + i] = (byte) Math.rint(x[xo + i] * inv);
        return amax / 127f;
    }

    /** The dequantized matrix, for tests and references. */
    public float[] dequantize() {
        float[] w = new float[q.length];
        for (int r = 0; r < out; r++) for (int k = 0; k < in; k++) w[r * in + k] = q[r * in + k] * scale[r];
        return w;
    }
}
