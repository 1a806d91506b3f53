package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Float64 helpers for oracles written in the tests. */
public final class F64 {
    private F64() {}

    public static double[] d(float[] f) {
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) out[i] = f[i];
        return out;
    }

    /** y[n][o] = Σ_i x[n][i]·w[o][i] (+ b[o]). */
    public static double[] linear(double[] x, int n, int in, double[] w, int out, double[] b) {
        double[] y = new double[n * out];
        for (int r = 0; r < n; r++)
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) s += x[r * in + i] * w[o * in + i];
                y[r * out + o] = s;
            }
        return y;
    }

    /** Asserts |a-b| ≤ atol + rtol·|b| element-wise. */
    public static void close(double[] expected, float[] actual, double atol, double rtol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double tol = atol + rtol * Math.abs(expected[i]);
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i] + " got " + actual[i]
                        + " (tol " + tol + ")");
            }
        }
    }
}
