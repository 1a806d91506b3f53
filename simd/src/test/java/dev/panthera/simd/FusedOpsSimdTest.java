package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.CountingBackend;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fused ops reach the SIMD backend's kernels with and without gradients recorded, forward and backward (counted
 * by a backend decorator), and their values and gradients on it agree with the reference backend's. F32 inputs of shape
 * [2, 3, 5, 6] (q/k/v as the attention layer makes them: a [B, T, H, D] projection transposed). Tolerance: each
 * value passes through at most ~30 float roundings (ε = 6e-8) of sums over at most 30 terms of magnitude up to ~10
 * in these shapes, so the SIMD results stay within 30·30·6e-8·10 ≈ 5e-4 of the reference's float64-rounded ones in
 * the worst case and typically far closer: 5e-4·max(1, |expected|).
 */
class FusedOpsSimdTest {
    private static final double TOL = 5e-4;

    private static Map<String, Function<Tensor[], Tensor>> ops() {
        float[] c = new float[5 * 3], s = new float[5 * 3];
        for (int p = 0; p < 5; p++)
            for (int i = 0; i < 3; i++) {
                double theta = p * Math.pow(10000, -2.0 * i / 6);
                c[p * 3 + i] = (float) Math.cos(theta);
                s[p * 3 + i] = (float) Math.sin(theta);
            }
        Tensor cos = Tensor.of(c, 5, 3), sin = Tensor.of(s, 5, 3);
        Map<String, Function<Tensor[], Tensor>> m = new LinkedHashMap<>();
        m.put("softmax", x -> x[0].softmax(-1).add(x[0].logSoftmax(1)));
        m.put("layerNorm", x -> x[0].layerNorm(x[1], x[1], 1e-5));
        m.put("rmsNorm", x -> x[0].rmsNorm(x[1], 1e-6));
        m.put("rope", x -> x[0].rope(cos, sin, true).add(x[0].rope(cos, sin, false)));
        m.put("attention", x -> {
            Tensor h = x[0].transpose(1, 2); // [2, 5, 3, 6] -> [2, 3, 5, 6]: three query heads
            return Tensor.scaledDotProductAttention(h, h.narrow(1, 0, 1), h.narrow(1, 2, 1), true, 0.4);
        });
        return m;
    }

    /** The backward kernel each op's gradient runs (RoPE rotates by −θ with its forward kernel; softmax has none). */
    private static final Map<String, String> BACKWARD = Map.of(
            "softmax",
            "",
            "layerNorm",
            "normBackward",
            "rmsNorm",
            "normBackward",
            "rope",
            "rope",
            "attention",
            "attentionBackward");

    private static Tensor[] run(Backend be, String op, boolean withGrad, long seed) {
        try (var use = Backends.use(be)) {
            Shape shape = op.equals("attention") ? Shape.of(2, 5, 3, 6) : Shape.of(2, 3, 5, 6);
            Tensor x = Tensor.randn(shape, seed).requiresGrad(withGrad);
            Tensor w = Tensor.randn(Shape.of(6), seed + 1).requiresGrad(withGrad);
            Tensor y = ops().get(op).apply(new Tensor[] {x, w});
            if (withGrad)
                y.mul(Tensor.randn(Shape.of(y.dims()), seed + 2)).sum().backward();
            return withGrad ? new Tensor[] {y, x.grad(), w.grad()} : new Tensor[] {y};
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void close(Tensor want, Tensor got, String what) {
        if (want == null || got == null) {
            assertEquals(want == null, got == null, what);
            return;
        }
        double[] e = want.toDoubleArray(), a = got.toDoubleArray();
        assertEquals(e.length, a.length, what);
        for (int i = 0; i < e.length; i++) {
            if (!(Math.abs(e[i] - a[i]) <= TOL * Math.max(1, Math.abs(e[i])))) {
                throw new AssertionError(what + ": element " + i + " expected " + e[i] + " but was " + a[i]);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void theSimdKernelsRunWithAndWithoutGradients(boolean withGrad) {
        for (String op : ops().keySet()) {
            CountingBackend c = CountingBackend.of(new SimdBackend());
            Tensor[] got = run(c.backend(), op, withGrad, 42);
            assertTrue(c.count(op) >= 1, op + " did not reach the SIMD kernel (grad " + withGrad + "): " + c);
            String back = BACKWARD.get(op);
            if (withGrad && !back.isEmpty()) assertTrue(c.count(back) >= 1, op + " backward kernel did not run: " + c);
            Tensor[] want = run(ReferenceBackend.INSTANCE, op, withGrad, 42);
            String[] names = {"value", "input gradient", "weight gradient"};
            for (int i = 0; i < want.length; i++) close(want[i], got[i], op + " " + names[i]);
        }
    }

    /** Recording gradients picks other kernels for the backward only: each forward value is bit-identical. */
    @org.junit.jupiter.api.Test
    void recordingGradientsDoesNotChangeTheValues() {
        for (String op : ops().keySet()) {
            Tensor plain = run(new SimdBackend(), op, false, 9)[0], recorded = run(new SimdBackend(), op, true, 9)[0];
            org.junit.jupiter.api.Assertions.assertArrayEquals(plain.toFloatArray(), recorded.toFloatArray(), op);
        }
    }
}
