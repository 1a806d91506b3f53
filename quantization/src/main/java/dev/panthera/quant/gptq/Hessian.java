package dev.panthera.quant.gptq;

/**
 * GPTQ's layer Hessian H = 2·XᵀX / n for a linear layer with {@code in} inputs, accumulated over calibration batches
 * of rows x (each row one token's input to the layer) in float64: the running sum Σ xᵢxᵢᵀ and the row count n.
 */
public final class Hessian {
    private final String name;
    private final int in;
    private final double[] sum;
    private long rows;

    public Hessian(String name, int in) {
        if (in <= 0) throw new IllegalArgumentException("Hessian " + name + ": " + in + " input columns");
        this.name = name;
        this.in = in;
        this.sum = new double[Math.multiplyExact(in, in)];
    }

    public int in() {
        return in;
    }

    /** Calibration rows seen so far. */
    public long rows() {
        return rows;
    }

    /** Adds {@code n} rows of {@code in} floats, row-major in {@code x}. NaN or Inf inputs are refused. */
    public void add(float[] x, int n) {
        if (x.length != (long) n * in)
            throw new IllegalArgumentException(
                    "Hessian " + name + ": " + x.length + " values are not " + n + " rows of " + in);
        for (float v : x) {
            if (!Float.isFinite(v))
                throw new IllegalArgumentException("Hessian " + name + ": calibration input holds " + v);
        }
        double[] row = new double[in];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < in; i++) row[i] = x[t * in + i];
            for (int i = 0; i < in; i++) {
                double a = row[i];
                if (a == 0) continue;
                int base = i * in;
                for (int j = i; j < in; j++) sum[base + j] += a * row[j];
            }
        }
        rows += n;
    }

    /** H = 2·XᵀX / n, the full symmetric [in, in] matrix in float64. */
    public double[] matrix() {
        if (rows == 0) throw new IllegalStateException("Hessian " + name + ": no calibration rows were added");
        double[] h = new double[sum.length];
        double f = 2.0 / rows;
        for (int i = 0; i < in; i++) {
            for (int j = i; j < in; j++) {
                double v = sum[i * in + j] * f;
                h[i * in + j] = v;
                h[j * in + i] = v;
            }
        }
        return h;
    }

    /** A Hessian given directly (tests, or one computed elsewhere): {@code h} is [in, in], symmetric. */
    public static Hessian ofMatrix(String name, double[] h, int in, long rows) {
        Hessian r = new Hessian(name, in);
        if (h.length != (long) in * in)
            throw new IllegalArgumentException(
                    "Hessian " + name + ": " + h.length + " values for [" + in + ", " + in + "]");
        for (int i = 0; i < in; i++) {
            for (int j = i; j < in; j++) r.sum[i * in + j] = h[i * in + j] * rows / 2.0;
        }
        r.rows = rows;
        return r;
    }
}
