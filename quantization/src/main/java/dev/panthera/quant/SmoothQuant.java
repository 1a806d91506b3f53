package dev.panthera.quant;

import dev.panthera.tensor.Tensor;

/**
 * SmoothQuant (Xiao et al., arXiv 2211.10438): activation outliers sit in a few input channels, which per-token int8
 * cannot represent without crushing every other channel. Dividing channel j of the activations by s_j and multiplying
 * column j of the following weights by s_j leaves X·Wᵀ unchanged while moving the difficulty into the weights, whose
 * per-output-channel int8 absorbs it: s_j = max|X_j|^α / max|W_j|^(1−α) (eq. 4; α = 0.5 by default). The division is
 * folded into the preceding RMSNorm/LayerNorm weight (and bias), so it costs nothing at run time.
 */
public final class SmoothQuant {
    private SmoothQuant() {}

    /** The paper's default migration strength. */
    public static final double DEFAULT_ALPHA = 0.5;

    /** Floor on both maxima and on s, as the reference implementation clamps them (1e-5). */
    static final float FLOOR = 1e-5f;

    /** Per-input-channel running max|x| over every row a layer sees (the calibration statistic). */
    public static final class ChannelMax {
        private final float[] max;

        public ChannelMax(int channels) {
            max = new float[channels];
        }

        /** Updates the maxima with x [..., channels]; a NaN or infinite activation is an error naming the channel. */
        public synchronized void observe(Tensor x) {
            int k = max.length;
            if (x.rank() == 0 || x.size(-1) != k)
                throw new IllegalArgumentException(
                        "SmoothQuant.ChannelMax: activations " + x.shape() + " for " + k + " channels");
            float[] v = x.toFloatArray();
            for (int i = 0; i < v.length; i++) {
                float a = Math.abs(v[i]);
                if (!Float.isFinite(a))
                    throw new IllegalArgumentException(
                            "SmoothQuant.ChannelMax: activation row " + i / k + " channel " + i % k + " is " + v[i]);
                if (a > max[i % k]) max[i % k] = a;
            }
        }

        public synchronized float[] values() {
            return max.clone();
        }
    }

    /** max_n |W[n, j]| for each column j of the row-major [out, in] weight. */
    public static float[] columnAbsMax(float[] w, int out, int in) {
        check(w, out, in, "columnAbsMax");
        float[] m = new float[in];
        for (int n = 0; n < out; n++) for (int j = 0; j < in; j++) m[j] = Math.max(m[j], Math.abs(w[n * in + j]));
        return m;
    }

    /** Element-wise max of several per-channel maxima (the weights sharing one input, e.g. q, k and v). */
    public static float[] max(float[]... maxima) {
        float[] m = maxima[0].clone();
        for (float[] o : maxima) {
            if (o.length != m.length)
                throw new IllegalArgumentException("SmoothQuant.max: " + o.length + " channels vs " + m.length);
            for (int j = 0; j < m.length; j++) m[j] = Math.max(m[j], o[j]);
        }
        return m;
    }

    /**
     * s_j = max|X_j|^α / max|W_j|^(1−α), each maximum floored at 1e-5 and s too (a channel never seen active, or a
     * column of zeros, gets a finite factor).
     */
    public static float[] factors(float[] activationMax, float[] weightMax, double alpha) {
        if (activationMax.length != weightMax.length)
            throw new IllegalArgumentException("SmoothQuant.factors: " + activationMax.length
                    + " activation channels vs " + weightMax.length + " weight columns");
        if (!(alpha >= 0 && alpha <= 1))
            throw new IllegalArgumentException("SmoothQuant: alpha must be in [0, 1], got " + alpha);
        float[] s = new float[activationMax.length];
        for (int j = 0; j < s.length; j++) {
            double a = Math.max(FLOOR, activationMax[j]), w = Math.max(FLOOR, weightMax[j]);
            s[j] = (float) Math.max(FLOOR, Math.pow(a, alpha) / Math.pow(w, 1 - alpha));
        }
        return s;
    }

    /** W[:, j] · s_j in place: the weights after the smoothed activations. */
    public static void scaleColumns(float[] w, int out, int in, float[] s) {
        check(w, out, in, "scaleColumns");
        if (s.length != in)
            throw new IllegalArgumentException(
                    "SmoothQuant.scaleColumns: " + s.length + " factors for " + in + " columns");
        for (int n = 0; n < out; n++) for (int j = 0; j < in; j++) w[n * in + j] *= s[j];
    }

    /** v_j / s_j, a new array: a norm's weight (or bias) folding the activations' division. */
    public static float[] divide(float[] v, float[] s) {
        if (v.length != s.length)
            throw new IllegalArgumentException(
                    "SmoothQuant.divide: " + v.length + " values for " + s.length + " factors");
        float[] out = new float[v.length];
        for (int j = 0; j < v.length; j++) out[j] = v[j] / s[j];
        return out;
    }

    private static void check(float[] w, int out, int in, String op) {
        if (out < 0 || in < 0 || w.length != (long) out * in)
            throw new IllegalArgumentException(
                    "SmoothQuant." + op + ": " + w.length + " values for shape [" + out + ", " + in + "]");
    }
}
