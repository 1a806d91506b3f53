package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.nn.optim.Lomo;
import dev.panthera.nn.optim.Sgd;
import dev.panthera.nn.optim.Swan;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The optimizers update in place; each is checked over several steps of random gradients against the out-of-place
 * formula computed in float64 here. F64 parameters make the check tight (the in-place order of operations differs
 * from the formula only by float64 rounding); F32 parameters within float rounding.
 */
class OptimizersInPlaceTest {
    private static final int N = 35, STEPS = 4;

    private static double[][] grads(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[][] g = new double[STEPS][N];
        for (double[] row : g) for (int i = 0; i < N; i++) row[i] = r.nextGaussian();
        return g;
    }

    private static double[] start(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] p = new double[N];
        for (int i = 0; i < N; i++) p[i] = r.nextGaussian();
        return p;
    }

    private static void close(double[] want, Tensor p, DType t, String what) {
        double[] got = p.toDoubleArray();
        double tol = t == DType.F64 ? 1e-13 : 2e-6;
        for (int i = 0; i < N; i++)
            assertEquals(want[i], got[i], tol * (1 + Math.abs(want[i])), what + " " + t + " element " + i);
    }

    @Test
    void adamWMatchesTheOutOfPlaceFormula() {
        for (DType t : new DType[] {DType.F64, DType.F32}) {
            double lr = 0.02, b1 = 0.8, b2 = 0.95, eps = 1e-6, wd = 0.1;
            double[][] gs = grads(1);
            double[] p = start(2), m = new double[N], v = new double[N];
            for (int s = 1; s <= STEPS; s++) {
                double[] g = gs[s - 1];
                for (int i = 0; i < N; i++) {
                    m[i] = m[i] * b1 + g[i] * (1 - b1);
                    v[i] = v[i] * b2 + g[i] * g[i] * (1 - b2);
                    double denom = Math.sqrt(v[i] / (1 - Math.pow(b2, s))) + eps;
                    p[i] = p[i] * (1 - lr * wd) - m[i] / denom * (lr / (1 - Math.pow(b1, s)));
                }
            }
            Tensor x = Tensor.of(start(2), 5, 7).to(t).requiresGrad(true);
            AdamW opt = new AdamW(List.of(x), lr, b1, b2, eps, wd);
            for (double[] g : gs) {
                x.setGrad(Tensor.of(g, 5, 7).to(t));
                opt.step();
            }
            close(p, x, t, "adamw");
            assertEquals(2L * N * t.byteSize(), opt.stateBytes(), "moments in the parameter's dtype");
        }
    }

    @Test
    void sgdMatchesTheOutOfPlaceFormula() {
        double[][] settings = {{0.9, 0.1, 0.01, 0}, {0.9, 0, 0.05, 1}, {0, 0, 0.02, 0}, {0.5, 0, 0, 1}};
        for (double[] st : settings)
            for (DType t : new DType[] {DType.F64, DType.F32}) {
                double lr = 0.05, mu = st[0], damp = st[1], wd = st[2];
                boolean nesterov = st[3] == 1;
                double[][] gs = grads(3);
                double[] p = start(4), buf = null;
                for (double[] gr : gs) {
                    double[] g = new double[N];
                    for (int i = 0; i < N; i++) g[i] = gr[i] + p[i] * wd;
                    double[] dir = g;
                    if (mu != 0) {
                        if (buf == null) buf = g.clone();
                        else for (int i = 0; i < N; i++) buf[i] = buf[i] * mu + g[i] * (1 - damp);
                        dir = new double[N];
                        for (int i = 0; i < N; i++) dir[i] = nesterov ? g[i] + buf[i] * mu : buf[i];
                    }
                    for (int i = 0; i < N; i++) p[i] = p[i] - dir[i] * lr;
                }
                Tensor x = Tensor.of(start(4), N).to(t).requiresGrad(true);
                Sgd opt = new Sgd(List.of(x), lr, mu, damp, wd, nesterov);
                for (double[] g : gs) {
                    Tensor grad = Tensor.of(g, N).to(t);
                    double[] before = grad.toDoubleArray();
                    x.setGrad(grad);
                    opt.step();
                    assertArrayEquals(before, grad.toDoubleArray(), "the gradient is not modified");
                }
                close(p, x, t, "sgd " + java.util.Arrays.toString(st));
            }
    }

    @Test
    void lomoMatchesTheOutOfPlaceFormula() {
        for (DType t : new DType[] {DType.F64, DType.F32}) {
            double lr = 0.1, wd = 0.2, clip = 0.7;
            double[] w0 = start(5), x0 = start(6);
            double[] p = w0.clone();
            Tensor w = Tensor.of(w0, N).to(t).requiresGrad(true),
                    in = Tensor.of(x0, N).to(t);
            Lomo lomo = new Lomo(List.of(w), lr, wd, clip);
            for (int s = 0; s < STEPS; s++) {
                // loss = Σ (w·x)²/2: gradient w·x², which exceeds the clip for some elements
                double[] g = new double[N];
                for (int i = 0; i < N; i++) g[i] = Math.max(-clip, Math.min(clip, p[i] * x0[i] * x0[i]));
                for (int i = 0; i < N; i++) p[i] = p[i] - (g[i] + p[i] * wd) * lr;
                Tensor y = w.mul(in);
                lomo.backward(y.mul(y).sum().mul(0.5));
            }
            close(p, w, t, "lomo");
        }
    }

    @Test
    void swanSubtractsItsDirection() {
        Tensor p = Tensor.of(start(7), 5, 7).requiresGrad(true);
        Tensor g = Tensor.of(grads(8)[0], 5, 7);
        Swan swan = new Swan(List.of(p), 0.03);
        double[] dir = swan.direction(g).toDoubleArray(), want = start(7);
        for (int i = 0; i < N; i++) want[i] -= 0.03 * dir[i];
        p.setGrad(g);
        swan.step();
        close(want, p, DType.F64, "swan");
    }

    @Test
    void aScopedTrainingLoopMakesNoNativeAllocationOnceWarm() {
        Linear layer = new Linear(16, 8, true, new SplittableRandom(9));
        AdamW opt = new AdamW(layer.trainableParameters(), 1e-2);
        Tensor x = Tensor.randn(Shape.of(32, 16), 10), y = Tensor.randn(Shape.of(32, 8), 11);
        MemoryPool.Stats warm = null;
        double first = 0, last = 0;
        for (int step = 0; step < 30; step++) {
            if (step == 3) warm = MemoryPool.host().stats();
            try (var scope = MemoryScope.open()) {
                opt.zeroGrad(false);
                Tensor d = layer.forward(x).sub(y);
                Tensor loss = d.mul(d).mean();
                loss.backward();
                opt.step();
                last = loss.item();
                if (step == 0) first = last;
            }
        }
        MemoryPool.Stats after = MemoryPool.host().stats();
        assertEquals(warm.nativeAllocations(), after.nativeAllocations(), "native allocations after warm-up");
        assertEquals(warm.gcManagedAllocations(), after.gcManagedAllocations(), "GC-managed allocations");
        // every block went back: no growth (the count also falls when leaf-gradient blocks that earlier tests dropped
        // are returned by their cleaner during the loop, so only growth is a leak)
        assertTrue(after.bytesInUse() <= warm.bytesInUse(), warm.bytesInUse() + " -> " + after.bytesInUse() + " bytes");
        assertTrue(last < first, "the loss went down: " + first + " -> " + last);
    }
}
