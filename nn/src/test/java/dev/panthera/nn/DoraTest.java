package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.lora.LoraLinear;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * DoRA (Liu et al. 2024, eq. 5 with the detached norm of section 4.3) in {@link LoraLinear}, against a float64 loop of
 * y = m/‖W + s·BA‖_row ⊙ ((W + s·BA)·x) + b and its gradient with respect to m (the norm a constant): dL/dm_o =
 * Σ_n (V·x_n)_o / ‖V_o‖ · dL/dy_no. peft's own outputs for DoRA adapters are checked in models' PeftFixturesTest.
 */
class DoraTest {
    private static final int IN = 5, OUT = 4, R = 2, N = 3;

    private static LoraLinear layer() {
        LoraLinear l = new LoraLinear(new Linear(IN, OUT, true, new SplittableRandom(1)));
        l.addAdapter("d", R, 1.5, 0, LoraConfig.InitWeights.DEFAULT, 2);
        l.enableDora("d");
        return l;
    }

    @Test
    void startsAsTheBaseAndMatchesAFloat64LoopAfterTraining() {
        LoraLinear l = layer();
        Tensor x = Tensor.randn(Shape.of(N, IN), 3);
        // B = 0 and m = ‖W‖: the adapted layer starts equal to the base (to float32 rounding of m/‖W‖ ≈ 1)
        float[] base = l.base().forward(x).toFloatArray(), start = l.forward(x).toFloatArray();
        for (int i = 0; i < base.length; i++) assertEquals(base[i], start[i], 1e-6 * (1 + Math.abs(base[i])));
        try (var _ = Autograd.noGrad()) { // as after training: B and m moved
            l.loraB("d").weight().copy_(Tensor.randn(Shape.of(OUT, R), 4).mul(0.3));
            l.magnitude("d").copy_(Tensor.randn(Shape.of(OUT), 5).abs().add(0.5));
        }
        double[] w = l.base().weight().toDoubleArray(), b = l.base().bias().toDoubleArray();
        double[] a = l.loraA("d").weight().toDoubleArray(),
                bb = l.loraB("d").weight().toDoubleArray();
        double[] m = l.magnitude("d").toDoubleArray(), xd = x.toDoubleArray();
        double s = 1.5;
        double[][] v = new double[OUT][IN];
        double[] norm = new double[OUT];
        for (int o = 0; o < OUT; o++) {
            for (int i = 0; i < IN; i++) {
                double d = 0;
                for (int k = 0; k < R; k++) d += bb[o * R + k] * a[k * IN + i];
                v[o][i] = w[o * IN + i] + s * d;
                norm[o] += v[o][i] * v[o][i];
            }
            norm[o] = Math.sqrt(norm[o]);
        }
        double[] want = new double[N * OUT], dm = new double[OUT];
        double[] upstream = Tensor.randn(Shape.of(N, OUT), 6).toDoubleArray();
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OUT; o++) {
                double vx = 0;
                for (int i = 0; i < IN; i++) vx += v[o][i] * xd[n * IN + i];
                want[n * OUT + o] = m[o] / norm[o] * vx + b[o];
                dm[o] += vx / norm[o] * upstream[n * OUT + o];
            }
        Tensor y = l.forward(x);
        // float32: dot products of 5 terms and a norm, values O(1): a few ulps, 1e-5 relative with margin
        F64.close(want, y.toFloatArray(), 1e-5, 1e-5, "DoRA forward");
        y.mul(Tensor.of(upstream, N, OUT).to(y.dtype())).sum().backward();
        F64.close(dm, l.magnitude("d").grad().toFloatArray(), 1e-5, 1e-5, "dL/dm with the norm detached");
        assertNotNull(l.loraB("d").weight().grad(), "B trains");
    }

    @Test
    void mergeGivesTheSameOutputAndUnmergeRestoresTheWeight() {
        LoraLinear l = layer();
        try (var _ = Autograd.noGrad()) {
            l.loraB("d").weight().copy_(Tensor.randn(Shape.of(OUT, R), 4).mul(0.3));
            l.magnitude("d").copy_(Tensor.randn(Shape.of(OUT), 5).abs().add(0.5));
        }
        Tensor x = Tensor.randn(Shape.of(N, IN), 3);
        float[] before = l.forward(x).toFloatArray(), w = l.base().weight().toFloatArray();
        l.merge();
        float[] merged = l.forward(x).toFloatArray();
        for (int i = 0; i < before.length; i++) assertEquals(before[i], merged[i], 1e-5 * (1 + Math.abs(before[i])));
        l.unmerge();
        float[] back = l.base().weight().toFloatArray();
        for (int i = 0; i < w.length; i++) assertEquals(w[i], back[i], 1e-6 * (1 + Math.abs(w[i])));
        var e = assertThrows(IllegalStateException.class, () -> l.enableDora("d"));
        assertTrue(e.getMessage().contains("already uses DoRA"), e.getMessage());
    }
}
