package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
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

    private static float[] randomValues(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    private static void assertSame(float[] joml, Tensor t, String what) {
        float[] got = t.toFloatArray();
        for (int i = 0; i < joml.length; i++) {
            // both compute in float with different association orders: a few ulps of the terms' magnitude
            assertEquals(joml[i], got[i], 1e-5f * (1 + Math.abs(joml[i])), what + " element " + i);
        }
    }

    @Property(tries = 200)
    void products4x4(@ForAll long seed) {
        Random r = new Random(seed);
        float[] a = randomValues(r, 16), b = randomValues(r, 16), c = randomValues(r, 16);
        Tensor ta = Tensor.of(a, 4, 4), tb = Tensor.of(b, 4, 4), tc = Tensor.of(c, 4, 4);
        assertSame(rowMajor(joml4(a).mul(joml4(b), new Matrix4f())), ta.matmul(tb), "A·B");
        assertSame(rowMajor(joml4(a).transpose(new Matrix4f())), ta.t().contiguous(), "Aᵀ");
        Matrix4f abtc =
                joml4(a).mul(joml4(b).transpose(new Matrix4f()), new Matrix4f()).mul(joml4(c));
        assertSame(rowMajor(abtc), ta.matmul(tb.t()).matmul(tc), "A·Bᵀ·C");
        Matrix4f atb = joml4(a).transpose(new Matrix4f()).mul(joml4(b));
        assertSame(rowMajor(atb), ta.transpose(0, 1).matmul(tb), "Aᵀ·B");
    }

    @Property(tries = 200)
    void products3x3(@ForAll long seed) {
        Random r = new Random(seed);
        float[] a = randomValues(r, 9), b = randomValues(r, 9);
        Tensor ta = Tensor.of(a, 3, 3), tb = Tensor.of(b, 3, 3);
        assertSame(rowMajor(joml3(a).mul(joml3(b), new Matrix3f())), ta.matmul(tb), "A·B");
        assertSame(rowMajor(joml3(a).transpose(new Matrix3f())), ta.t(), "Aᵀ");
        Matrix3f btat = joml3(b).transpose(new Matrix3f()).mul(joml3(a).transpose(new Matrix3f()));
        assertSame(rowMajor(btat), ta.matmul(tb).t(), "(A·B)ᵀ = Bᵀ·Aᵀ");
        // matrix · vector against JOML's transform
        org.joml.Vector3f v =
                new org.joml.Vector3f((float) r.nextGaussian(), (float) r.nextGaussian(), (float) r.nextGaussian());
        org.joml.Vector3f jv = joml3(a).transform(new org.joml.Vector3f(v));
        assertSame(new float[] {jv.x, jv.y, jv.z}, ta.matmul(Tensor.of(v.x, v.y, v.z)), "A·v");
    }
}
