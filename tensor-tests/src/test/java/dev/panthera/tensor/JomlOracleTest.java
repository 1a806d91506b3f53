package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.testing.Values;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.joml.Matrix3f;
import org.joml.Matrix4f;

/**
 * 3×3 and 4×4 products, transposes and chains against JOML. JOML stores column-major and {@code a.mul(b)} is a·b, so
 * element (row i, column j) is {@code m.get(j, i)} (JOML's get takes column, row).
 */
class JomlOracleTest {

    private static float[] rowMajor(Matrix4f m) {
        float[] out = new float[16];
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) out[i * 4 + j] = m.get(j, i);
        return out;
    }

    private static float[] rowMajor(Matrix3f m) {
        float[] out = new float[9];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) out[i * 3 + j] = m.get(j, i);
        return out;
    }

    private static Matrix4f joml4(float[] rm) {
        Matrix4f m = new Matrix4f();
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) m.set(j, i, rm[i * 4 + j]);
        return m;
    }

    private static Matrix3f joml3(float[] rm) {
        Matrix3f m = new Matrix3f();
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) m.set(j, i, rm[i * 3 + j]);
        return m;
    }

    /** {@code n} N(0, 1) values (six decimals, rounded to F32), shrinking toward 0. */
    private static Arbitrary<float[]> values(int n) {
        return Values.normal().list().ofSize(n).map(l -> {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = l.get(i).floatValue();
            return v;
        });
    }

    @Provide
    Arbitrary<float[]> m4() {
        return values(16);
    }

    @Provide
    Arbitrary<float[]> m3() {
        return values(9);
    }

    @Provide
    Arbitrary<float[]> v3() {
        return values(3);
    }

    /** Row-major |x|·|y| in double, x rows × inner, y inner × cols. */
    private static double[] absProduct(float[] x, float[] y, int rows, int inner, int cols) {
        double[] out = new double[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                for (int p = 0; p < inner; p++)
                    out[i * cols + j] += Math.abs(x[i * inner + p] * (double) y[p * cols + j]);
        return out;
    }

    private static float[] transposed(float[] m, int n) {
        float[] t = new float[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) t[j * n + i] = m[i * n + j];
        return t;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /**
     * Both compute in float, in different association orders, with or without FMA. A product whose inner size is k
     * errs by at most γ_k·(|A|·|B|) elementwise, γ_k = k·u/(1 − k·u), u = 2⁻²⁴ (Higham, Accuracy and Stability,
     * §3.5); a chain of m products by γ_{m·k}·(|A|·|B|·…) to first order. Two such results differ by at most twice
     * that: the tolerance is 2·γ_{m·k}·magnitude (a little over the first-order bound for the chains: × 1.01).
     */
    private static void assertWithin(float[] joml, Tensor t, double[] magnitude, int roundings, String what) {
        float[] got = t.contiguous().toFloatArray();
        double u = Math.ulp(1f) / 2, gamma = roundings * u / (1 - roundings * u);
        for (int i = 0; i < joml.length; i++) {
            double tol = 2 * gamma * magnitude[i] * 1.01;
            assertEquals(joml[i], got[i], tol, what + " element " + i);
        }
    }

    /** Transposes move values: exact. */
    private static void assertExact(float[] joml, Tensor t, String what) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(joml, t.contiguous().toFloatArray(), what);
    }

    @Property(tries = 200)
    void products4x4(@ForAll("m4") float[] a, @ForAll("m4") float[] b, @ForAll("m4") float[] c) {
        Tensor ta = Tensor.of(a, 4, 4), tb = Tensor.of(b, 4, 4), tc = Tensor.of(c, 4, 4);
        assertWithin(
                rowMajor(joml4(a).mul(joml4(b), new Matrix4f())), ta.matmul(tb), absProduct(a, b, 4, 4, 4), 4, "A·B");
        assertExact(rowMajor(joml4(a).transpose(new Matrix4f())), ta.t(), "Aᵀ");
        Matrix4f abtc =
                joml4(a).mul(joml4(b).transpose(new Matrix4f()), new Matrix4f()).mul(joml4(c));
        double[] abtcMagnitude = absProduct(toFloat(absProduct(a, transposed(b, 4), 4, 4, 4)), c, 4, 4, 4);
        assertWithin(rowMajor(abtc), ta.matmul(tb.t()).matmul(tc), abtcMagnitude, 8, "A·Bᵀ·C");
        Matrix4f atb = joml4(a).transpose(new Matrix4f()).mul(joml4(b));
        assertWithin(rowMajor(atb), ta.transpose(0, 1).matmul(tb), absProduct(transposed(a, 4), b, 4, 4, 4), 4, "Aᵀ·B");
    }

    @Property(tries = 200)
    void products3x3(@ForAll("m3") float[] a, @ForAll("m3") float[] b, @ForAll("v3") float[] vector) {
        Tensor ta = Tensor.of(a, 3, 3), tb = Tensor.of(b, 3, 3);
        assertWithin(
                rowMajor(joml3(a).mul(joml3(b), new Matrix3f())), ta.matmul(tb), absProduct(a, b, 3, 3, 3), 3, "A·B");
        assertExact(rowMajor(joml3(a).transpose(new Matrix3f())), ta.t(), "Aᵀ");
        Matrix3f btat = joml3(b).transpose(new Matrix3f()).mul(joml3(a).transpose(new Matrix3f()));
        assertWithin(
                rowMajor(btat), ta.matmul(tb).t(), absProduct(transposed(b, 3), transposed(a, 3), 3, 3, 3), 3, "Bᵀ·Aᵀ");
        // matrix · vector against JOML's transform
        org.joml.Vector3f v = new org.joml.Vector3f(vector[0], vector[1], vector[2]);
        org.joml.Vector3f jv = joml3(a).transform(new org.joml.Vector3f(v));
        float[] vv = {v.x, v.y, v.z};
        assertWithin(new float[] {jv.x, jv.y, jv.z}, ta.matmul(Tensor.of(vv)), absProduct(a, vv, 3, 3, 1), 3, "A·v");
    }
}
