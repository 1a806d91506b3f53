package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * F32 activations × BF16/F16 weights: the weight reaches the backend's matmul in its own dtype (no conversion of the
 * whole weight on the way), the product equals a float64 loop over the widened weights rounded once to F32, and the
 * weight's gradient comes back in the weight's dtype. A spy backend (a proxy over the reference) records each SPI call
 * with the dtypes of its storages.
 */
class MixedMatmulTest {

    private static Backend spy(List<String> calls) {
        return (Backend) Proxy.newProxyInstance(
                Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
                    StringBuilder call = new StringBuilder(m.getName());
                    if (args != null)
                        for (Object a : args)
                            if (a instanceof Storage s) call.append(' ').append(s.dtype());
                    calls.add(call.toString());
                    try {
                        return m.invoke(ReferenceBackend.INSTANCE, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private static double widened(DType t, float v) {
        return t == DType.BF16
                ? FloatConversions.bf16ToFloat(FloatConversions.floatToBf16(v))
                : FloatConversions.f16ToFloat(FloatConversions.floatToF16(v));
    }

    @Property(tries = 30)
    void weightIsNotConvertedAndTheProductIsExact(@ForAll long seed) throws Exception {
        Random r = new Random(seed);
        DType wt = r.nextBoolean() ? DType.BF16 : DType.F16;
        int m = 1 + r.nextInt(5), k = 1 + r.nextInt(19), n = 1 + r.nextInt(11);
        float[] a = new float[m * k], w = new float[k * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        Tensor x = Tensor.of(a, m, k), weight = Tensor.of(w, k, n).to(wt);
        List<String> calls = new CopyOnWriteArrayList<>();
        float[] got;
        try (var use = Backends.use(spy(calls))) {
            got = x.matmul(weight).toFloatArray();
        }
        assertTrue(calls.contains("matmul F32 " + wt + " F32"), calls.toString());
        assertTrue(calls.stream().noneMatch(c -> c.startsWith("copy " + wt)), "the weight was converted: " + calls);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double) a[i * k + p] * widened(wt, w[p * n + j]);
                assertEquals((float) s, got[i * n + j], "element [" + i + ", " + j + "]");
            }
        }
    }

    @Property(tries = 15)
    void theWeightGradientKeepsTheWeightDtype(@ForAll long seed) {
        Random r = new Random(seed);
        DType wt = r.nextBoolean() ? DType.BF16 : DType.F16;
        int m = 1 + r.nextInt(4), k = 1 + r.nextInt(9), n = 1 + r.nextInt(7);
        float[] a = new float[m * k], w = new float[k * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        Tensor x = Tensor.of(a, m, k), weight = Tensor.of(w, k, n).to(wt).requiresGrad(true);
        x.matmul(weight).sum().backward();
        Tensor g = weight.grad();
        assertEquals(wt, g.dtype());
        // d(Σ x·W)/dW[p][j] = Σ_i x[i][p], computed in float64, rounded to F32 (the F32 product) then to the weight's
        // dtype (the gradient's conversion)
        float[] gv = g.toFloatArray();
        for (int p = 0; p < k; p++) {
            double s = 0;
            for (int i = 0; i < m; i++) s += a[i * k + p];
            for (int j = 0; j < n; j++) assertEquals((float) widened(wt, (float) s), gv[p * n + j], "grad [" + p + "]");
        }
    }
}
