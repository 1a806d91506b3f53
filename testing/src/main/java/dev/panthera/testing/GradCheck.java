package dev.panthera.testing;

import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Handle;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * A gradient checker whose tolerance follows the error analysis: the analytic gradient of L = Σ w·f(xs) against
 * central differences in F64, accepted within a bound on the differences' truncation and rounding instead of a fixed
 * relative bound.
 *
 * <p><b>The difference.</b> For input k, element i, D(h) = Σ_j w_j·(f_j(x + h·e_i) − f_j(x − h·e_i)) / 2h is taken
 * per output element before summing, so outputs that x_i does not reach cancel exactly (the same code on the same
 * values) and carry no rounding into D. Differencing the two sums instead would carry the rounding of all of |L| into
 * D: with |L| ≈ 3e4 that is ε·3e4/h ≈ 8e-6 at h = 1e-6, which is why a fixed 1e-6 fails on large outputs.
 *
 * <p><b>Truncation.</b> D(h) = L' + h²·L'''/6 + O(h⁴), so D(2h) errs four times as much and T = |D(2h) − D(h)|/3
 * estimates the truncation of D(h) (Richardson); the tolerance takes 4·T, which also covers an O(h⁴) term as large as
 * the h² one.
 *
 * <p><b>Rounding.</b> Each computed f_j is off by at most R·ε·(|f_j| + 1), ε = 2⁻⁵³, with R = 32 roundings per
 * output element amplified at most 316-fold: the worst-conditioned step assumed is a norm dividing a difference of
 * O(1) values by √(var + eps) ≥ √1e-5 (use {@link #check(String, Function, double, Tensor...)} with a larger
 * amplification for worse-conditioned functions); the "+ 1" is an absolute floor for outputs that cancel below the
 * O(1) scale of their inputs. So the rounding of D(h) is at most R·ε·S_i/h with S_i = Σ_j |w_j|·(|f₊_j| + |f₋_j| +
 * 2)/2 over the outputs x_i reaches, plus the subtractions and the sum, n·ε·Σ_j |w_j·(f₊_j − f₋_j)|/2h. The analytic
 * gradient's own rounding is at most R·ε·(|g| + Σ_j |w_j|). With h = 1e-5 the tolerance is about 1e-7·S_i + 4·T;
 * bugs (a missing term, a wrong sign, a reduction over the wrong dim) are of the order of |g| and far above it.
 *
 * <p>Where f is not smooth within 4h of a point (a kink of relu, max, where), D(h), D(2h), D(4h) do not follow
 * D(h) = L' + a·h² and no difference is a reference; such an element is skipped. So is a point exactly at a kink
 * (relu or abs at 0, which shrinking reaches), where the forward and backward slopes differ by a constant. Both tests
 * read the forward only, so they cannot excuse a wrong gradient where f is smooth.
 *
 * <p>Inputs come from the caller (draw them with {@link Tensors}, so jqwik shrinks them); the weights w are N(0, 1)
 * values seeded from the inputs' values, so a replayed sample checks the same L.
 */
public final class GradCheck {
    private GradCheck() {}

    /** The step of the central differences. */
    public static final double H = 1e-5;

    private static final double EPS = Math.ulp(1.0) / 2;
    /** Roundings per output element (32) times a norm's worst amplification 1/√1e-5 ≈ 316. */
    public static final double DEFAULT_AMPLIFICATION = 32 * 316;

    /**
     * A central difference of Σ w·f, the bound on its rounding, and the second difference S(h) = Σ w·(f₊ − 2f₀ + f₋)/h
     * (the forward minus the backward difference quotient).
     */
    private record Difference(double value, double tolerance, double second) {}

    /** Checks d(Σ w·f(xs))/dxs at {@code inputs} (any float dtype; differenced in F64). */
    public static void check(String what, Function<Tensor[], Tensor> f, Tensor... inputs) {
        check(what, f, DEFAULT_AMPLIFICATION, inputs);
    }

    /**
     * As {@link #check(String, Function, Tensor...)} with {@code amplification} as the bound on roundings per output
     * element times the function's worst condition number (see the class comment).
     */
    public static void check(String what, Function<Tensor[], Tensor> f, double amplification, Tensor... inputs) {
        double[][] base = new double[inputs.length][];
        long[][] shapes = new long[inputs.length][];
        long seed = 17;
        for (int k = 0; k < inputs.length; k++) {
            base[k] = inputs[k].toDoubleArray();
            shapes[k] = inputs[k].dims();
            seed = seed * 31 + Arrays.hashCode(base[k]);
        }
        Tensor[] xs = leaves(base, shapes);
        Tensor out = f.apply(xs);
        SplittableRandom g = new SplittableRandom(seed);
        double[] w = new double[Math.toIntExact(out.numel())];
        for (int j = 0; j < w.length; j++) w[j] = g.nextGaussian();
        out.mul(TensorSpec.f64(w, out.dims()).to(out.dtype())).sum().backward();
        double[][] analytic = new double[xs.length][];
        for (int k = 0; k < xs.length; k++)
            analytic[k] = xs[k].grad() == null
                    ? new double[(int) xs[k].numel()]
                    : xs[k].grad().toDoubleArray();
        assertMatchesDifferences(what, f, base, shapes, w, analytic, amplification);
    }

    private static void assertMatchesDifferences(
            String what,
            Function<Tensor[], Tensor> f,
            double[][] base,
            long[][] shapes,
            double[] w,
            double[][] analytic,
            double r) {
        double sumAbsW = 0;
        for (double v : w) sumAbsW += Math.abs(v);
        double[] f0 = evaluate(f, base, shapes, 0, 0, 0);
        for (int k = 0; k < base.length; k++) {
            for (int i = 0; i < base[k].length; i++) {
                double g = analytic[k][i];
                double[] far = evaluate(f, base, shapes, k, i, 1);
                Difference d1 = differenceAt(f, base, shapes, k, i, H, w, f0, far, r);
                Difference d2 = differenceAt(f, base, shapes, k, i, 2 * H, w, f0, far, r);
                // where f itself is undefined (the unbiased var of one element) both are NaN, as in PyTorch
                if (Double.isNaN(g) && Double.isNaN(d1.value())) continue;
                double tol =
                        4 * Math.abs(d2.value() - d1.value()) / 3 + d1.tolerance() + r * EPS * (Math.abs(g) + sumAbsW);
                if (Math.abs(g - d1.value()) <= tol) continue;
                Difference d4 = differenceAt(f, base, shapes, k, i, 4 * H, w, f0, far, r);
                double curvature = Math.abs(d4.value() - 5 * d2.value() + 4 * d1.value());
                if (!(curvature <= d4.tolerance() + 5 * d2.tolerance() + 4 * d1.tolerance())) continue; // not smooth
                // a kink exactly at x (relu, abs, max at a tie): the one-sided slopes differ by a constant, so
                // S(h) = F(h) − B(h) stays at the jump for every h, where a smooth f has S(h) = h·L'' + O(h³) and
                // S(2h) − 2·S(h) = O(h³). Each S carries at most 4× the rounding bound of its D.
                double kink = Math.abs(d2.second() - 2 * d1.second());
                if (!(kink <= 4 * d2.tolerance() + 8 * d1.tolerance())) continue; // not differentiable at x
                throw new AssertionError(what + ": d/dx" + k + Mismatches.index(Shape.of(shapes[k]), i) + " analytic "
                        + g + " but central difference " + d1.value() + " (tolerance " + tol + "; input shapes "
                        + describe(shapes) + ")");
            }
        }
    }

    /**
     * D(h) for input k, element i, with the bound on its rounding. The outputs counted in that bound are those x_i
     * reaches: those that move at ±h, or when x_i moves by a whole unit, which also finds outputs whose change at ±h is
     * below their rounding.
     */
    private static Difference differenceAt(
            Function<Tensor[], Tensor> f,
            double[][] base,
            long[][] shapes,
            int k,
            int i,
            double h,
            double[] w,
            double[] f0,
            double[] far,
            double r) {
        double[] plus = evaluate(f, base, shapes, k, i, h), minus = evaluate(f, base, shapes, k, i, -h);
        if (plus.length != w.length) throw new IllegalStateException("GradCheck: f changed its output size");
        double sum = 0, second = 0, scale = 0, terms = 0;
        for (int j = 0; j < w.length; j++) {
            boolean reached =
                    !same(plus[j], f0[j]) || !same(minus[j], f0[j]) || !same(far[j], f0[j]) || Double.isNaN(f0[j]);
            if (!reached) continue;
            double delta = plus[j] - minus[j];
            sum += w[j] * delta;
            second += w[j] * ((plus[j] - f0[j]) - (f0[j] - minus[j]));
            scale += Math.abs(w[j]) * (Math.abs(plus[j]) + Math.abs(minus[j]) + 2) / 2;
            terms += Math.abs(w[j] * delta);
        }
        double rounding = (r * EPS * scale + w.length * EPS * terms / 2) / h;
        return new Difference(sum / (2 * h), rounding, second / h);
    }

    private static boolean same(double a, double b) {
        return Double.doubleToLongBits(a) == Double.doubleToLongBits(b);
    }

    private static double[] evaluate(
            Function<Tensor[], Tensor> f, double[][] base, long[][] shapes, int k, int i, double h) {
        Tensor[] in = new Tensor[base.length];
        for (int j = 0; j < in.length; j++) {
            double[] v = base[j];
            if (j == k) {
                v = v.clone();
                v[i] += h;
            }
            in[j] = TensorSpec.f64(v, shapes[j]);
        }
        try (Handle ng = Autograd.noGrad()) {
            return f.apply(in).contiguous().toDoubleArray();
        }
    }

    private static Tensor[] leaves(double[][] values, long[][] shapes) {
        Tensor[] t = new Tensor[values.length];
        for (int k = 0; k < t.length; k++)
            t[k] = TensorSpec.f64(values[k], shapes[k]).requiresGrad(true);
        return t;
    }

    private static String describe(long[][] shapes) {
        return Arrays.stream(shapes).map(s -> Shape.of(s).toString()).toList().toString();
    }
}
