package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.*;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * SGD, AdamW and LOMO step by step against trajectories torch.optim wrote ({@link TorchOptimFixture}); SWAN, which
 * torch does not have, against a float64 oracle built on an eigendecomposition; then every optimizer driving real
 * losses down, which checks the wiring (many parameters of every shape, LOMO's backward hook) rather than the values.
 */
class OptimizersTest {
    static final double[] P0 = {0.5, -1.0, 2.0, 0.25};
    static final double[][] GRADS = {{0.1, -0.2, 0.3, 0.05}, {-0.3, 0.1, 0.2, 0.4}, {0.05, 0.05, -0.1, 0.2}};

    static Tensor param() {
        return Tensor.of(new double[] {P0[0], P0[1], P0[2], P0[3]}, 2, 2)
                .to(dev.panthera.tensor.DType.F32)
                .requiresGrad(true);
    }

    static void run(Optimizer opt, Tensor p) {
        for (double[] g : GRADS) {
            p.setGrad(Tensor.of(g, 2, 2).to(dev.panthera.tensor.DType.F32));
            opt.step();
        }
    }

    /**
     * Replays a torch.optim fixture through our optimizer with parameters of dtype {@code t}: the same start values, the
     * same gradient on every step (none where torch had none), and returns every parameter after every step as
     * [step][parameter]. {@code defaults} builds the optimizer with our short constructor, so that its defaults are
     * checked against the ones torch filled in. LOMO gets each gradient through its own backward: the loss Σ p·G has
     * the gradient G exactly (the backward of a sum and a product by a constant multiply by 1 and copy G).
     */
    static double[][][] replay(TorchOptimFixture c, DType t, boolean defaults) {
        List<Tensor> ps = new java.util.ArrayList<>();
        for (int i = 0; i < c.start().length; i++)
            ps.add(Tensor.of(c.start()[i], c.shapes()[i]).to(t).requiresGrad(true));
        Optimizer opt = null;
        Lomo lomo = null;
        switch (c.kind()) {
            case "sgd" ->
                opt = defaults
                        ? new Sgd(ps, c.number("lr"))
                        : new Sgd(
                                ps,
                                c.number("lr"),
                                c.number("momentum"),
                                c.number("dampening"),
                                c.number("weight_decay"),
                                c.flag("nesterov"));
            case "adamw" -> {
                double[] betas = c.pair("betas");
                opt = defaults
                        ? new AdamW(ps, c.number("lr"))
                        : new AdamW(ps, c.number("lr"), betas[0], betas[1], c.number("eps"), c.number("weight_decay"));
            }
            case "lomo" -> lomo = new Lomo(ps, c.number("lr"), c.number("weight_decay"), c.number("clip"));
            default -> throw new IllegalStateException(c + ": unknown optimizer " + c.kind());
        }
        double[][][] out = new double[c.steps()][ps.size()][];
        for (int s = 0; s < c.steps(); s++) {
            Tensor loss = null;
            for (int i = 0; i < ps.size(); i++) {
                double[] g = c.grads()[s][i];
                Tensor p = ps.get(i);
                if (g == null) p.zeroGrad();
                else if (lomo == null) p.setGrad(Tensor.of(g, c.shapes()[i]).to(t));
                else {
                    Tensor term = p.mul(Tensor.of(g, c.shapes()[i]).to(t)).sum();
                    loss = loss == null ? term : loss.add(term);
                }
            }
            if (lomo != null) lomo.backward(loss);
            else opt.step();
            for (int i = 0; i < ps.size(); i++) out[s][i] = ps.get(i).toDoubleArray();
        }
        return out;
    }

    /** Asserts every element of every parameter after every step within rel·(1 + |torch's value|). */
    static void assertTrajectory(TorchOptimFixture c, double[][][] got, double rel, String what) {
        for (int s = 0; s < c.steps(); s++)
            for (int i = 0; i < got[s].length; i++) {
                double[] want = c.params()[s][i];
                assertEquals(want.length, got[s][i].length, c + " parameter " + i);
                for (int k = 0; k < want.length; k++)
                    assertEquals(
                            want[k],
                            got[s][i][k],
                            rel * (1 + Math.abs(want[k])),
                            c + " " + what + ": step " + (s + 1) + ", parameter " + i + ", element " + k);
            }
    }

    /*
     * Tolerances. F64: torch (foreach=False, its single-tensor loop) and we run the same float64 operations, in the
     * same order except LOMO's decay p·(1 − lr·wd) − lr·g against torch's p − lr·(g + wd·p). A step rounds at most ~8
     * times quantities bounded by |p| + 1 (lr ≤ 0.1 and the updates here stay below 1), and the moment recurrences carry
     * earlier errors forward with factors below 1, so 5 steps stay within 5·8·2⁻⁵³·(1 + |p|) ≈ 4.4e-15·(1 + |p|);
     * 2e-14 leaves a factor 4 for the error sqrt and division pass on. F32: the start values and gradients are
     * rounded once (2·2⁻²⁴) and every operation rounds at 2⁻²⁴: (2 + 5·8)·2⁻²⁴ ≈ 2.5e-6 relative to 1 + |p| (Adam's
     * m̂/(√v̂+ε) is scale-free, so rounding g perturbs it by as little); 5e-6 leaves a factor 2.
     */
    static final double F64_REL = 2e-14, F32_REL = 5e-6;

    static List<TorchOptimFixture> torchCases(String kind) {
        List<TorchOptimFixture> cases = TorchOptimFixture.load().stream()
                .filter(c -> c.kind().equals(kind))
                .toList();
        assertFalse(cases.isEmpty(), "no " + kind + " cases in " + TorchOptimFixture.RESOURCE);
        for (TorchOptimFixture c : cases) {
            // features torch has and we do not: the fixture must not use them
            if (c.hyper().containsKey("maximize")) assertFalse(c.flag("maximize"), c + ": maximize");
            if (c.hyper().containsKey("amsgrad")) assertFalse(c.flag("amsgrad"), c + ": amsgrad");
        }
        return cases;
    }

    @Test
    void sgdFollowsTorchOptimSgdStepByStep() {
        // plain, momentum, dampening + weight decay, Nesterov + weight decay, momentum with a parameter that has no
        // gradient on two steps (its buffer must wait, not decay)
        for (TorchOptimFixture c : torchCases("sgd")) {
            assertTrajectory(c, replay(c, DType.F64, false), F64_REL, "F64");
            assertTrajectory(c, replay(c, DType.F32, false), F32_REL, "F32");
        }
        TorchOptimFixture plain = torchCases("sgd").getFirst();
        assertEquals(0.0, plain.number("momentum"), "sgd_plain uses torch's defaults");
        assertTrajectory(
                plain, replay(plain, DType.F64, true), F64_REL, "Sgd(params, lr) = torch.optim.SGD(params, lr)");
        Tensor x = param();
        Sgd opt = new Sgd(List.of(x), 0.1, 0.9, 0, 0.01, true);
        run(opt, x);
        assertEquals(16, opt.stateBytes(), "one F32 momentum buffer of 4 elements");
    }

    @Test
    void adamWFollowsTorchOptimAdamWStepByStep() {
        // torch's defaults, custom betas/eps/decay, β1 = 0 with a large eps and no decay, and parameters that miss
        // steps (torch counts steps per parameter, so the bias corrections of a parameter that skipped one lag behind)
        for (TorchOptimFixture c : torchCases("adamw")) {
            assertTrajectory(c, replay(c, DType.F64, false), F64_REL, "F64");
            assertTrajectory(c, replay(c, DType.F32, false), F32_REL, "F32");
        }
        TorchOptimFixture defaults = torchCases("adamw").getFirst();
        assertEquals("adamw_defaults", defaults.name());
        assertTrajectory(
                defaults,
                replay(defaults, DType.F64, true),
                F64_REL,
                "AdamW(params, lr) = torch.optim.AdamW(params, lr)");
        Tensor x = param();
        AdamW opt = new AdamW(List.of(x), 0.01);
        run(opt, x);
        assertEquals(32, opt.stateBytes(), "two F32 moments of 4 elements");
    }

    @Test
    void lomoFollowsSgdOnClampedGradients() {
        // LOMO's update is SGD without momentum on the element-wise clamped gradient, p ← p − lr·(clamp(g) + wd·p);
        // the fixture has torch.optim.SGD take that step, and ours gets the raw gradient through its backward hook
        for (TorchOptimFixture c : torchCases("lomo")) {
            assertTrajectory(c, replay(c, DType.F64, false), F64_REL, "F64");
            assertTrajectory(c, replay(c, DType.F32, false), F32_REL, "F32");
        }
    }

    @Test
    void scheduleScalesTheLearningRate() {
        LrSchedule cos = LrSchedule.cosine(2, 6, 0.1);
        assertEquals(0.0, cos.factor(0));
        assertEquals(0.5, cos.factor(1));
        assertEquals(1.0, cos.factor(2), 1e-12);
        assertEquals(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 0.5)), cos.factor(4), 1e-12);
        assertEquals(0.1, cos.factor(6), 1e-12);
        assertEquals(0.75, LrSchedule.linearWarmup(4).factor(3));
        Tensor x = param();
        Sgd opt = new Sgd(List.of(x), 0.1);
        opt.schedule(LrSchedule.linearWarmup(2));
        double[] p = P0.clone();
        for (int s = 0; s < 3; s++) for (int i = 0; i < 4; i++) p[i] -= 0.1 * Math.min(1.0, s / 2.0) * GRADS[s][i];
        run(opt, x);
        F64.close(p, x.toFloatArray(), 1e-6, 1e-6, "sgd with warm-up");
    }

    @Test
    void clipByGlobalNorm() {
        Tensor a = Tensor.zeros(2).requiresGrad(true), b = Tensor.zeros(1).requiresGrad(true);
        a.setGrad(Tensor.of(3f, 0f));
        b.setGrad(Tensor.of(4f));
        assertEquals(5.0, Optimizer.clipGradNorm(List.of(a, b), 1.0), 1e-9);
        double c = 1.0 / (5 + 1e-6);
        F64.close(new double[] {3 * c, 0}, a.grad().toFloatArray(), 1e-7, 0, "clipped a");
        F64.close(new double[] {4 * c}, b.grad().toFloatArray(), 1e-7, 0, "clipped b");
        assertEquals(1.0, Optimizer.clipGradNorm(List.of(a, b), 10.0), 1e-5, "below the limit: unchanged");
    }

    /** (G Gᵀ)^(-1/2) G by a Jacobi eigendecomposition of G Gᵀ in float64: an oracle independent of Newton–Schulz. */
    static double[] whitenOracle(double[] g, int m, int n) {
        double[] a = new double[m * m];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) for (int k = 0; k < n; k++) a[i * m + j] += g[i * n + k] * g[j * n + k];
        double[] vecs = new double[m * m];
        for (int i = 0; i < m; i++) vecs[i * m + i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
            for (int p = 0; p < m; p++)
                for (int q = p + 1; q < m; q++) {
                    if (Math.abs(a[p * m + q]) < 1e-300) continue;
                    double theta = (a[q * m + q] - a[p * m + p]) / (2 * a[p * m + q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < m; k++) { // A ← Jᵀ A J
                        double akp = a[k * m + p], akq = a[k * m + q];
                        a[k * m + p] = c * akp - s * akq;
                        a[k * m + q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < m; k++) {
                        double apk = a[p * m + k], aqk = a[q * m + k];
                        a[p * m + k] = c * apk - s * aqk;
                        a[q * m + k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < m; k++) {
                        double vkp = vecs[k * m + p], vkq = vecs[k * m + q];
                        vecs[k * m + p] = c * vkp - s * vkq;
                        vecs[k * m + q] = s * vkp + c * vkq;
                    }
                }
        double[] inv = new double[m * m]; // V diag(λ^-1/2) Vᵀ
        double top = 0;
        for (int k = 0; k < m; k++) top = Math.max(top, a[k * m + k]);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
                for (int k = 0; k < m; k++) {
                    if (a[k * m + k] > 1e-9 * top)
                        inv[i * m + j] += vecs[i * m + k] * vecs[j * m + k] / Math.sqrt(a[k * m + k]); // pseudo-inverse
                }
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) for (int k = 0; k < m; k++) out[i * n + j] += inv[i * m + k] * g[k * n + j];
        return out;
    }

    static double[] standardiseRows(double[] g, int m, int n) {
        double[] out = new double[g.length];
        for (int i = 0; i < m; i++) {
            double mean = 0, var = 0;
            for (int j = 0; j < n; j++) mean += g[i * n + j] / n;
            for (int j = 0; j < n; j++) var += (g[i * n + j] - mean) * (g[i * n + j] - mean) / n;
            for (int j = 0; j < n; j++) out[i * n + j] = (g[i * n + j] - mean) / Math.sqrt(var);
        }
        return out;
    }

    @Test
    void swanStepIsGradNormThenWhitening() {
        int m = 3, n = 5;
        Tensor g = Tensor.randn(Shape.of(m, n), 11);
        double[] norm = standardiseRows(F64.d(g.toFloatArray()), m, n);
        double[] white = whitenOracle(norm, m, n);
        Tensor p = Tensor.randn(Shape.of(m, n), 12).requiresGrad(true);
        double[] expected = F64.d(p.toFloatArray());
        for (int i = 0; i < expected.length; i++) expected[i] -= 0.05 * white[i];
        Swan swan = new Swan(List.of(p), 0.05, 30, 1e-8, false);
        p.setGrad(g);
        swan.step();
        F64.close(expected, p.toFloatArray(), 1e-4, 1e-4, "swan step (Newton–Schulz vs eigendecomposition)");
        assertEquals(0, swan.stateBytes());
        // tall matrices: the same polar factor, computed through Gᵀ; rows of the result are orthonormal columns
        Tensor tall = Tensor.randn(Shape.of(6, 3), 13);
        float[] d = swan.direction(tall).toFloatArray();
        double[] tn = standardiseRows(F64.d(tall.toFloatArray()), 6, 3);
        double[] tT = new double[18];
        for (int i = 0; i < 6; i++) for (int j = 0; j < 3; j++) tT[j * 6 + i] = tn[i * 3 + j];
        double[] wT = whitenOracle(tT, 3, 6), w = new double[18];
        for (int i = 0; i < 6; i++) for (int j = 0; j < 3; j++) w[i * 3 + j] = wT[j * 6 + i];
        F64.close(w, d, 1e-4, 1e-4, "swan tall matrix");
        // vectors are Adam's (SwanAdamTest): the whitening direction is only defined for matrices
        assertThrows(IllegalArgumentException.class, () -> swan.direction(Tensor.of(1f, -2f, 2f)));
        // the paper's optional rescaling: the whitened update gets the Frobenius norm of the normalised gradient
        double nn = 0, nw = 0;
        for (int i = 0; i < norm.length; i++) {
            nn += norm[i] * norm[i];
            nw += white[i] * white[i];
        }
        double[] scaled = white.clone();
        for (int i = 0; i < scaled.length; i++) scaled[i] *= Math.sqrt(nn / nw);
        F64.close(
                scaled,
                new Swan(List.of(p), 0.05, 30, 1e-8, true).direction(g).toFloatArray(),
                1e-4,
                1e-4,
                "swan rescaled");
    }

    @Test
    void lomoUpdatesInsideBackwardAndKeepsNoGradients() {
        // loss = Σ (W·x − y)², dL/dW = 2 (W·x − y) xᵀ
        Linear l = new Linear(3, 2, false, new SplittableRandom(1));
        double[] w = F64.d(l.weight().toFloatArray()), x = {1, -2, 0.5}, y = {0.3, -0.7};
        double lr = 0.05, wd = 0.01;
        double[] expected = w.clone();
        for (int o = 0; o < 2; o++) {
            double r = -y[o];
            for (int i = 0; i < 3; i++) r += w[o * 3 + i] * x[i];
            for (int i = 0; i < 3; i++) expected[o * 3 + i] -= lr * (2 * r * x[i] + wd * w[o * 3 + i]);
        }
        Lomo lomo = new Lomo(l.trainableParameters(), lr, wd, 0);
        Tensor out = l.forward(Tensor.of(new double[] {1, -2, 0.5}, 1, 3).to(dev.panthera.tensor.DType.F32));
        Tensor d = out.sub(Tensor.of(new double[] {0.3, -0.7}, 1, 2).to(dev.panthera.tensor.DType.F32));
        lomo.backward(d.mul(d).sum());
        F64.close(expected, l.weight().toFloatArray(), 1e-6, 1e-6, "lomo step");
        assertNull(l.weight().grad(), "LOMO drops each gradient after its update");
        assertEquals(2 * 3 * 4, lomo.maxGradientBytes());
    }

    /** Trains with {@code make}'s optimizer; returns {first loss, last loss}. */
    static double[] train(
            Function<List<Tensor>, Object> make, Function<Integer, Tensor> lossAt, List<Tensor> params, int steps) {
        Object opt = make.apply(params);
        double first = Double.NaN, last = Double.NaN;
        for (int s = 0; s < steps; s++) {
            try (var scope = MemoryScope.open()) {
                Tensor loss = lossAt.apply(s);
                double v = loss.item();
                if (s == 0) first = v;
                last = v;
                if (opt instanceof Lomo lomo) lomo.backward(loss);
                else {
                    Optimizer o = (Optimizer) opt;
                    o.zeroGrad();
                    loss.backward();
                    o.step();
                }
            }
        }
        return new double[] {first, last};
    }

    static final List<Function<List<Tensor>, Object>> OPTIMIZERS = List.of(
            ps -> new Sgd(ps, 0.05, 0.9, 0, 0, true),
            ps -> new AdamW(ps, 0.02),
            ps -> new Lomo(ps, 0.3),
            ps -> new Swan(ps, 0.01));

    @Test
    void everyOptimizerReducesARegressionLoss() {
        Tensor x = Tensor.randn(Shape.of(32, 6), 1);
        Tensor wTrue = Tensor.randn(Shape.of(6, 2), 2);
        Tensor y = x.matmul(wTrue);
        for (int k = 0; k < OPTIMIZERS.size(); k++) {
            Linear model = new Linear(6, 2, true, new SplittableRandom(3));
            double[] fl =
                    train(OPTIMIZERS.get(k), s -> Losses.mse(model.forward(x), y), model.trainableParameters(), 60);
            assertTrue(fl[1] < 0.5 * fl[0], "optimizer " + k + ": loss " + fl[0] + " -> " + fl[1]);
        }
    }

    @Test
    void everyOptimizerReducesALanguageModelLoss() {
        // a periodic token stream: next-token prediction is learnable
        long[] ids = new long[2 * 12];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 3 + i / 12) % 11;
        Tensor in = Tensor.of(ids, 2, 12).narrow(1, 0, 11).contiguous();
        Tensor target = Tensor.of(ids, 2, 12).narrow(1, 1, 11).contiguous();
        for (int k = 0; k < OPTIMIZERS.size(); k++) {
            CausalLm lm = ModuleTest.tiny(5);
            double[] fl = train(
                    OPTIMIZERS.get(k), s -> Losses.crossEntropy(lm.forward(in), target), lm.trainableParameters(), 25);
            assertTrue(fl[1] < 0.7 * fl[0], "optimizer " + k + ": LM loss " + fl[0] + " -> " + fl[1]);
        }
    }
}
