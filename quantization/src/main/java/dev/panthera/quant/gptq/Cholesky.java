package dev.panthera.quant.gptq;

/** Dense float64 Cholesky factorizations for GPTQ's inverse Hessian. */
final class Cholesky {
    private Cholesky() {}

    /** Lower L with A = LLᵀ for a symmetric positive definite [n, n] A; a clear exception otherwise. */
    static double[] lower(String name, double[] a, int n) {
        double[] l = new double[n * n];
        for (int j = 0; j < n; j++) {
            double s = a[j * n + j];
            for (int k = 0; k < j; k++) s -= l[j * n + k] * l[j * n + k];
            if (!(s > 0))
                throw new IllegalArgumentException("GPTQ " + name + ": the damped Hessian is not positive definite"
                        + " (pivot " + j + " is " + s + "); more calibration data or a larger percdamp is needed");
            double d = Math.sqrt(s);
            l[j * n + j] = d;
            for (int i = j + 1; i < n; i++) {
                double t = a[i * n + j];
                for (int k = 0; k < j; k++) t -= l[i * n + k] * l[j * n + k];
                l[i * n + j] = t / d;
            }
        }
        return l;
    }

    /** U upper triangular with A⁻¹ = UᵀU: A⁻¹ from A's Cholesky factor, then A⁻¹'s own (upper) factor. */
    static double[] upperOfInverse(String name, double[] a, int n) {
        double[] l = lower(name, a, n);
        // M = L⁻¹ (lower triangular), by forward substitution column by column
        double[] m = new double[n * n];
        for (int c = 0; c < n; c++) {
            m[c * n + c] = 1 / l[c * n + c];
            for (int i = c + 1; i < n; i++) {
                double s = 0;
                for (int k = c; k < i; k++) s += l[i * n + k] * m[k * n + c];
                m[i * n + c] = -s / l[i * n + i];
            }
        }
        // A⁻¹ = MᵀM
        double[] inv = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                double s = 0;
                for (int k = j; k < n; k++) s += m[k * n + i] * m[k * n + j];
                inv[i * n + j] = s;
                inv[j * n + i] = s;
            }
        }
        // A⁻¹ = LiLiᵀ with Li lower; U = Liᵀ is upper with UᵀU = A⁻¹
        double[] li = lower(name, inv, n);
        double[] u = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) u[j * n + i] = li[i * n + j];
        return u;
    }
}
