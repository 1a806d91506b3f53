package dev.panthera.quant.gptq;

/** SplitMix64 (Steele, Lea, Flood 2014) as gptq_fixture.py implements it: uniform doubles (z >>> 11)·2^-53. */
final class SplitMix64 {
    private long state;

    SplitMix64(long seed) {
        state = seed;
    }

    double next() {
        state += 0x9E3779B97F4A7C15L;
        long z = state;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1p-53;
    }

    /** gptq_fixture.py's weights(): 0.1·(u1 + u2 + u3 − 1.5) as float32, row-major [out, in]. */
    float[] weights(int out, int in) {
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) (0.1 * (next() + next() + next() - 1.5));
        return w;
    }

    /** gptq_fixture.py's correlated_inputs(): two shared factors per row, unequal column scales; float32 [n, in]. */
    float[] correlatedInputs(int n, int in) {
        double[] s = new double[in], a = new double[in], b = new double[in];
        for (int j = 0; j < in; j++) {
            double v = next();
            s[j] = 0.2 + 3.0 * v * v;
        }
        for (int j = 0; j < in; j++) a[j] = next() - 0.5;
        for (int j = 0; j < in; j++) b[j] = next() - 0.5;
        float[] x = new float[n * in];
        for (int t = 0; t < n; t++) {
            double c1 = next() - 0.5, c2 = next() - 0.5;
            for (int j = 0; j < in; j++)
                x[t * in + j] = (float) (s[j] * (c1 * a[j] + c2 * b[j] + 0.5 * (next() - 0.5)));
        }
        return x;
    }
}
