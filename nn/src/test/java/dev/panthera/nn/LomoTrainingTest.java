package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.optim.DynamicLossScaler;
import dev.panthera.nn.optim.Lomo;
import dev.panthera.nn.optim.LrSchedule;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * LOMO's two-pass global-norm clipping (Lv et al. 2023, section 3.3: a first backward computes the norm, a second
 * applies the clipped update), its learning-rate schedule and dynamic loss scaling, each against a float64 loop written
 * from the definitions: torch's clip_grad_norm_ coefficient min(1, maxNorm/(‖g‖ + 1e-6)), HF's
 * get_cosine/linear_schedule_with_warmup, and the GradScaler rule (skip on overflow and divide the scale by the factor;
 * multiply it after {@code window} good steps).
 */
class LomoTrainingTest {
    // loss = Σ (a ⊙ x − y)² + Σ (b ⊙ u)²: dL/da = 2 (a ⊙ x − y) ⊙ x, dL/db = 2 b ⊙ u²
    private static final double[] X = {1.5, -2, 0.5}, Y = {0.3, -0.7, 1.1}, U = {0.8, -1.3};

    private static Tensor loss(Tensor a, Tensor b) {
        Tensor x = Tensor.of(X, 3), y = Tensor.of(Y, 3), u = Tensor.of(U, 2);
        Tensor r = a.mul(x).sub(y);
        Tensor v = b.mul(u);
        return r.mul(r).sum().add(v.mul(v).sum());
    }

    /** Float64 reference: {a, b} after {@code steps} LOMO steps; also fills {@code clipped} per step. */
    private static double[][] reference(
            double[] a0, double[] b0, int steps, double lr, double wd, double maxNorm, LrFactor f, boolean[] clipped) {
        double[] a = a0.clone(), b = b0.clone();
        for (int s = 0; s < steps; s++) {
            double[] ga = new double[3], gb = new double[2];
            for (int i = 0; i < 3; i++) ga[i] = 2 * (a[i] * X[i] - Y[i]) * X[i];
            for (int i = 0; i < 2; i++) gb[i] = 2 * b[i] * U[i] * U[i];
            double sq = 0;
            for (double g : ga) sq += g * g;
            for (double g : gb) sq += g * g;
            double norm = Math.sqrt(sq);
            double coef = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
            clipped[s] = coef < 1;
            double stepLr = lr * f.at(s);
            for (int i = 0; i < 3; i++) a[i] -= stepLr * (coef * ga[i] + wd * a[i]);
            for (int i = 0; i < 2; i++) b[i] -= stepLr * (coef * gb[i] + wd * b[i]);
        }
        return new double[][] {a, b};
    }

    interface LrFactor {
        double at(int step);
    }

    private static void trainAndCompare(double maxNorm, LrSchedule schedule, LrFactor reference, boolean clipSome) {
        double[] a0 = {0.2, -0.4, 0.9}, b0 = {1.2, -0.6};
        int steps = 8;
        double lr = 0.2, wd = 0.01;
        boolean[] clipped = new boolean[steps];
        double[][] want = reference(a0, b0, steps, lr, wd, maxNorm, reference, clipped);
        if (clipSome) {
            // the case must exercise both branches of the clip coefficient
            boolean any = false, none = false;
            for (boolean c : clipped) {
                any |= c;
                none |= !c;
            }
            assertTrue(any && none, "the test case should clip some steps and not others");
        }
        Tensor a = Tensor.of(a0, 3).requiresGrad(true), b = Tensor.of(b0, 2).requiresGrad(true);
        Lomo lomo = new Lomo(List.of(a, b), lr, wd, 0).clipGradNorm(maxNorm).schedule(schedule);
        for (int s = 0; s < steps; s++) assertTrue(lomo.backward(loss(a, b)));
        assertEquals(steps, lomo.steps());
        // both sides in float64; the two updates differ only in the order of a few roundings per step (p·(1 − lr·wd)
        // − lr·d against p − lr·(d + wd·p)), each ~1e-16 relative, over 8 steps: 1e-12 is a wide margin
        double[] ga = a.toDoubleArray(), gb = b.toDoubleArray();
        for (int i = 0; i < 3; i++) assertEquals(want[0][i], ga[i], 1e-12, "a[" + i + "]");
        for (int i = 0; i < 2; i++) assertEquals(want[1][i], gb[i], 1e-12, "b[" + i + "]");
    }

    @Test
    void twoPassClippingWithCosineScheduleMatchesAFloat64Loop() {
        // HF get_cosine_schedule_with_warmup (num_cycles 0.5) with a floor: warm-up 2 of 8 steps, minimum ratio 0.1
        LrFactor cosine = s -> s < 2 ? s / 2.0 : 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * (s - 2) / 6.0));
        trainAndCompare(1.5, LrSchedule.cosine(2, 8, 0.1), cosine, true);
    }

    @Test
    void linearScheduleWithoutClippingMatchesAFloat64Loop() {
        // HF get_linear_schedule_with_warmup: s/warmup, then (total − s)/(total − warmup)
        LrFactor linear = s -> s < 3 ? s / 3.0 : (8.0 - s) / 5.0;
        trainAndCompare(0, LrSchedule.linear(3, 8), linear, false);
    }

    @Test
    void lastGradNormIsTheGlobalNormOfTheFirstPass() {
        double[] a0 = {0.2, -0.4, 0.9}, b0 = {1.2, -0.6};
        double sq = 0;
        for (int i = 0; i < 3; i++) sq += Math.pow(2 * (a0[i] * X[i] - Y[i]) * X[i], 2);
        for (int i = 0; i < 2; i++) sq += Math.pow(2 * b0[i] * U[i] * U[i], 2);
        Tensor a = Tensor.of(a0, 3).requiresGrad(true), b = Tensor.of(b0, 2).requiresGrad(true);
        Lomo lomo = new Lomo(List.of(a, b), 0.1).clipGradNorm(100);
        lomo.backward(loss(a, b));
        assertEquals(Math.sqrt(sq), lomo.lastGradNorm(), 1e-12);
    }

    @Test
    void lossScalingSkipsOverflowingStepsAndAdjustsTheScaleInHalfPrecision() {
        // loss = Σ w ⊙ x in F16, so the scaled gradient is scale·x. Every value is a power of two times a small
        // integer,
        // exact in F16 (11-bit significand), so the float64 loop must agree exactly. 32768·2 = 65536 rounds to +inf in
        // F16 (largest finite 65504): the step overflows; 16384·2 = 32768 does not.
        double[] x = {2, -1, 0.5, 0.25};
        double lr = 1.0 / 16;
        double[] w = {1, 1, 1, 1};
        double scale = 32768;
        int good = 0, window = 2;
        int steps = 7;
        boolean[] applied = new boolean[steps];
        double[] scales = new double[steps];
        for (int s = 0; s < steps; s++) {
            scales[s] = scale;
            boolean overflow = false;
            for (double xi : x) overflow |= Math.abs(scale * xi) > 65504;
            applied[s] = !overflow;
            if (overflow) {
                scale = Math.max(scale / 2, 1);
                good = 0;
            } else {
                for (int i = 0; i < 4; i++) w[i] -= lr * x[i];
                if (++good == window) {
                    scale *= 2;
                    good = 0;
                }
            }
        }
        Tensor wt = Tensor.of(new double[] {1, 1, 1, 1}, 4).to(DType.F16).requiresGrad(true);
        Tensor xt = Tensor.of(x, 4).to(DType.F16);
        DynamicLossScaler scaler = new DynamicLossScaler(32768, 2, window, 1);
        Lomo lomo = new Lomo(List.of(wt), lr).lossScaler(scaler);
        for (int s = 0; s < steps; s++) {
            assertEquals(scales[s], scaler.scale(), "scale before step " + s);
            assertEquals(applied[s], lomo.backward(wt.mul(xt).sum()), "step " + s + " applied");
        }
        assertEquals(scale, scaler.scale());
        assertEquals(3, lomo.skippedSteps());
        assertEquals(4, lomo.steps());
        assertArrayEquals(w, wt.toDoubleArray(), 0.0, "F16 weights after 4 applied, 3 skipped steps");
    }

    @Test
    void scalerRejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new DynamicLossScaler(0, 2, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> new DynamicLossScaler(1024, 1, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> new DynamicLossScaler(1024, 2, 0, 1));
        var e = assertThrows(IllegalArgumentException.class, () -> new DynamicLossScaler(8, 2, 10, 16));
        assertTrue(e.getMessage().contains("min scale"), e.getMessage());
    }
}
