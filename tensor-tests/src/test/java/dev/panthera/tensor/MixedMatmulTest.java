package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.Values;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

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

    /** A weight dtype and the F32 values of x [m, k] and w [k, n], as drawn. */
    record Case(DType weightType, int m, int k, int n, float[] a, float[] w) {
        @Override
        public String toString() {
            return weightType + " x[" + m + ", " + k + "] " + java.util.Arrays.toString(a) + " w[" + k + ", " + n + "] "
                    + java.util.Arrays.toString(w);
        }
    }

    /** Sizes m in [1, maxM], k in [1, maxK], n in [1, maxN]; N(0, 1) values (six decimals, rounded to F32). */
    static Arbitrary<Case> cases(int maxM, int maxK, int maxN) {
        return Combinators.combine(
                        Arbitraries.of(DType.BF16, DType.F16),
                        Arbitraries.integers().between(1, maxM),
                        Arbitraries.integers().between(1, maxK),
                        Arbitraries.integers().between(1, maxN))
                .flatAs((wt, m, k, n) -> Combinators.combine(
                                Values.normal().list().ofSize(m * k),
                                Values.normal().list().ofSize(k * n))
                        .as((a, w) -> new Case(wt, m, k, n, floats(a), floats(w))));
    }

    private static float[] floats(List<Double> v) {
        float[] f = new float[v.size()];
        for (int i = 0; i < f.length; i++) f[i] = v.get(i).floatValue();
        return f;
    }

    @Provide
    Arbitrary<Case> products() {
        return cases(5, 19, 11);
    }

    @Provide
    Arbitrary<Case> gradients() {
        return cases(4, 9, 7);
    }

    @Property(tries = 30)
    void weightIsNotConvertedAndTheProductIsExact(@ForAll("products") Case drawn) throws Exception {
        DType wt = drawn.weightType();
        int m = drawn.m(), k = drawn.k(), n = drawn.n();
        float[] a = drawn.a(), w = drawn.w();
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
    void theWeightGradientKeepsTheWeightDtype(@ForAll("gradients") Case drawn) {
        DType wt = drawn.weightType();
        int m = drawn.m(), k = drawn.k(), n = drawn.n();
        float[] a = drawn.a(), w = drawn.w();
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
