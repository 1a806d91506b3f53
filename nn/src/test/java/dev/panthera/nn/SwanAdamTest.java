package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.optim.Swan;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * SWAN as the paper sets it up (Ma et al. 2024, section 4: SWAN on the transformer blocks' matrices, Adam on the
 * embedding, the output head and the non-matrix parameters): over two steps, the Adam-updated parameters follow a
 * float64 Adam loop, and every other matrix moves by exactly −lr·direction(g), the whitened update whose values are
 * checked against an eigendecomposition in {@link OptimizersTest#swanStepIsGradNormThenWhitening}.
 */
class SwanAdamTest {
    @Test
    void embeddingHeadAndVectorsGetAdamTheOtherMatricesSwan() {
        CausalLm m = ModuleTest.tiny(4);
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        Swan swan = Swan.forModel(m, lr);
        Map<String, Tensor> named = m.namedParameters();
        int adamCount = 0;
        for (var e : named.entrySet()) {
            String n = e.getKey();
            boolean adam = n.contains("embed_tokens")
                    || n.startsWith("lm_head")
                    || e.getValue().rank() != 2;
            assertEquals(adam, swan.usesAdam(e.getValue()), n);
            if (adam) adamCount++;
        }
        assertTrue(adamCount >= 4 && adamCount < named.size(), "both kinds present: " + adamCount);

        Map<String, double[]> p64 = new LinkedHashMap<>(), m64 = new LinkedHashMap<>(), v64 = new LinkedHashMap<>();
        for (var e : named.entrySet()) {
            p64.put(e.getKey(), e.getValue().toDoubleArray());
            m64.put(e.getKey(), new double[(int) e.getValue().numel()]);
            v64.put(e.getKey(), new double[(int) e.getValue().numel()]);
        }
        long seed = 100;
        for (int t = 1; t <= 2; t++) {
            Map<String, float[]> before = new LinkedHashMap<>(), directions = new LinkedHashMap<>();
            for (var e : named.entrySet()) {
                Tensor p = e.getValue();
                Tensor g = Tensor.randn(p.shape(), seed++);
                p.setGrad(g);
                before.put(e.getKey(), p.toFloatArray());
                if (!swan.usesAdam(p))
                    directions.put(e.getKey(), swan.direction(g).toFloatArray());
                // the float64 Adam loop, on the same float32 gradient
                double[] gd = g.toDoubleArray(),
                        pp = p64.get(e.getKey()),
                        mm = m64.get(e.getKey()),
                        vv = v64.get(e.getKey());
                for (int i = 0; i < gd.length; i++) {
                    mm[i] = b1 * mm[i] + (1 - b1) * gd[i];
                    vv[i] = b2 * vv[i] + (1 - b2) * gd[i] * gd[i];
                    double mh = mm[i] / (1 - Math.pow(b1, t)), vh = vv[i] / (1 - Math.pow(b2, t));
                    pp[i] -= lr * mh / (Math.sqrt(vh) + eps);
                }
            }
            swan.step();
            for (var e : named.entrySet()) {
                String n = e.getKey();
                float[] now = e.getValue().toFloatArray();
                if (swan.usesAdam(e.getValue())) {
                    // float32 Adam: ~10 roundings per element per step, each ≤ 6e-8 relative, on values ≤ ~3 and an
                    // update of size ≤ lr: 2 steps × 10 × 6e-8 × 3 ≈ 4e-6
                    double[] want = p64.get(n);
                    for (int i = 0; i < now.length; i++)
                        assertEquals(want[i], now[i], 4e-6, n + "[" + i + "] after Adam step " + t);
                } else {
                    // p ← p − lr·d in float32: one rounding of the product and one of the difference
                    float[] b = before.get(n), d = directions.get(n);
                    for (int i = 0; i < now.length; i++) {
                        double want = b[i] - lr * (double) d[i];
                        assertEquals(
                                want, now[i], 2e-7 * (Math.abs(want) + lr * Math.abs(d[i])) + 1e-12, n + "[" + i + "]");
                    }
                    p64.put(n, e.getValue().toDoubleArray()); // the Adam loop does not apply to this one
                }
            }
        }
        assertTrue(swan.stateBytes() > 0, "Adam's moments for the embedding, head and vectors");
    }

    @Test
    void adamParamsMustBeAmongTheOptimizedOnes() {
        Tensor w = Tensor.randn(Shape.of(3, 4), 1).requiresGrad(true);
        Tensor other = Tensor.randn(Shape.of(3, 4), 2).requiresGrad(true);
        var e = assertThrows(
                IllegalArgumentException.class, () -> new Swan(List.of(w), List.of(other), 0.1, 5, 1e-8, true));
        assertTrue(e.getMessage().contains("adamParams"), e.getMessage());
        var d = assertThrows(IllegalArgumentException.class, () -> new Swan(List.of(w), 0.1).direction(Tensor.ones(3)));
        assertTrue(d.getMessage().contains("[3]") || d.getMessage().contains("3"), d.getMessage());
    }
}
