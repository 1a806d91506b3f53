package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.fail;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import java.util.function.Function;

/**
 * The one gradient checker of the tensor tests: the analytic gradient of L = Σ w·f(xs), for a fixed random w, against
 * central differences in F64, with a tolerance derived from the arithmetic instead of a fixed relative bound.
 *
 * <p><b>The difference.</b> For input k, element i, D(h) = Σ_j w_j·(f_j(x + h·e_i) − f_j(x − h·e_i)) / 2h is taken
 * per output element before summing, so outputs that x_i does not reach cancel exactly (they are computed by the same
 * code on the same values) and carry no rounding into D. Differencing the two sums instead would carry the rounding of
 * all of |L| into D: with |L| ≈ 3e4 that is ε·3e4/h ≈ 8e-6 at h = 1e-6, which is what made a fixed 1e-6 fail.
 *
 * <p><b>Truncation.</b> D(h) = L' + h²·L'''/6 + O(h⁴), so D(2h) errs four times as much and T = |D(2h) − D(h)|/3
 * estimates the truncation of D(h) (Richardson); the tolerance takes 4·T, which also covers an O(h⁴) term as large as
 * the h² one. T is measured with the same rounding noise as D, which only widens it.
 *
 * <p><b>Rounding.</b> Each computed f_j is off by at most R·ε·(|f_j| + 1), ε = 2⁻⁵³: R = 32 roundings per output
 * element, amplified at most 316-fold by the worst-conditioned step these tests compose (a norm divides a difference of
 * O(1) values by √(var + eps) ≥ √1e-5, every test's layerNorm eps, so a rounding of the inputs may grow by
 * 1/√1e-5 ≈ 316; rmsNorm subtracts nothing and keeps relative errors whatever its eps); the "+ 1" is that
 * absolute floor, for outputs that cancel below the O(1) scale of their inputs (x − mean(x), a norm of a near-constant
 * row). Every test draws N(0, 1) leaves, so the scale of the intermediates is one or the output's own. Both sides and
 * both step sizes carry it: the rounding of D(h) is at most R·ε·S_i/h with S_i = Σ_j |w_j|·(|f₊_j| + |f₋_j| + 2)/2
 * over the outputs x_i reaches, plus the subtractions and the sum, n·ε·Σ_j |w_j·(f₊_j − f₋_j)|/2h.
 *
 * <p>The analytic gradient's own rounding: backward sums, over the outputs, w_j times chains of partial derivatives
 * that are O(1) for these inputs, each amplified as above, so it is at most R·ε·(|g| + Σ_j |w_j|); smaller than the
 * difference's by about the factor h, it matters only where f does not move at all (D is then exactly 0). With
 * h = 1e-5 the tolerance is about 1e-7·S_i + 4·T: bugs (a missing term, a wrong sign, a reduction over the wrong dim)
 * are of the order of |g| and far above it.
 *
 * <p>A failure names the property's seed and the command that replays it: {@link #random} reads {@code panthera.seed}
 * so that one seed can be replayed through the ordinary build.
 */
final class GradCheck {
    private GradCheck() {}

    static final double H = 1e-5;
    static final double EPS = Math.ulp(1.0) / 2;
    /** Roundings per output element (32) times a norm's worst amplification 1/√1e-5 ≈ 316. */
    static final double R = 32 * 316;

    private static final ThreadLocal<Long> SEED = new ThreadLocal<>();

    /**
     * The property's random source for {@code seed}, or for {@code -Dpanthera.seed=N} when given (each try then replays
     * that seed). The seed is remembered for failure messages.
     */
    static Random random(long seed) {
        long s = Long.getLong("panthera.seed", seed);
        SEED.set(s);
        return new Random(s);
    }

    /** A central difference of Σ w·f and the bound on its rounding. */
    record Difference(double value, double tolerance) {}

    /** Checks d(Σ f(xs)·w)/dxs for N(0, 1) leaves of {@code shapes} and a fixed N(0, 1) w. */
    static void check(String what, Random r, Function<Tensor[], Tensor> f, long[]... shapes) {
        double[][] base = new double[shapes.length][];
        for (int k = 0; k < shapes.length; k++)
            base[k] = TT.normal(r, shapes[k], DType.F64).toDoubleArray();
        Tensor[] xs = leaves(base, shapes);
        Tensor out = f.apply(xs);
        Tensor w = TT.normal(r, out.dims(), DType.F64);
        out.mul(w).sum().backward();
        double[][] analytic = new double[xs.length][];
        for (int k = 0; k < xs.length; k++) analytic[k] = grad(xs[k]);
        assertMatchesDifferences(what, f, base, shapes, w, analytic);
    }

    /**
     * Fails unless every analytic[k][i] is within the derived tolerance of the central difference, except at a point
     * where f is not smooth within 4h (a kink or a jump of relu, max, where): there D(h), D(2h), D(4h) do not follow
     * D(h) = L' + a·h² and no difference is a reference. That test reads the forward only, so it cannot excuse a wrong
     * gradient where f is smooth.
     */
    static void assertMatchesDifferences(
            String what,
            Function<Tensor[], Tensor> f,
            double[][] base,
            long[][] shapes,
            Tensor w,
            double[][] analytic) {
        double[] wv = w.toDoubleArray();
        double sumAbsW = 0;
        for (double v : wv) sumAbsW += Math.abs(v);
        double[] f0 = evaluate(f, base, shapes, 0, 0, 0);
        for (int k = 0; k < base.length; k++) {
            for (int i = 0; i < base[k].length; i++) {
                double g = analytic[k][i];
                double[] far = evaluate(f, base, shapes, k, i, 1);
                Difference d1 = differenceAt(f, base, shapes, k, i, H, wv, f0, far);
                Difference d2 = differenceAt(f, base, shapes, k, i, 2 * H, wv, f0, far);
                // where f itself is undefined (the unbiased var of one element) both are NaN, as in PyTorch
                if (Double.isNaN(g) && Double.isNaN(d1.value())) continue;
                double tol =
                        4 * Math.abs(d2.value() - d1.value()) / 3 + d1.tolerance() + R * EPS * (Math.abs(g) + sumAbsW);
                if (Math.abs(g - d1.value()) <= tol) continue;
                Difference d4 = differenceAt(f, base, shapes, k, i, 4 * H, wv, f0, far);
                double curvature = Math.abs(d4.value() - 5 * d2.value() + 4 * d1.value());
                if (!(curvature <= d4.tolerance() + 5 * d2.tolerance() + 4 * d1.tolerance())) continue; // not smooth
                fail(what + ": d/dx" + k + "[" + i + "] analytic " + g + " but central difference " + d1.value()
                        + " (tolerance " + tol + "; input shapes " + describe(shapes) + ")" + replay());
            }
        }
    }

    /**
     * D(h) for input k, element i, with the bound on its rounding (see the class comment). The outputs counted in that
     * bound are those x_i reaches: those that move at ±h, or when x_i moves by a whole unit, which also finds outputs
     * whose change at ±h is below their rounding.
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
            double[] far) {
        double[] plus = evaluate(f, base, shapes, k, i, h), minus = evaluate(f, base, shapes, k, i, -h);
        if (plus.length != w.length) throw new IllegalStateException("f changed its output size");
        double sum = 0, scale = 0, terms = 0;
        for (int j = 0; j < w.length; j++) {
            boolean reached =
                    !same(plus[j], f0[j]) || !same(minus[j], f0[j]) || !same(far[j], f0[j]) || Double.isNaN(f0[j]);
            if (!reached) continue;
            double delta = plus[j] - minus[j];
            sum += w[j] * delta;
            scale += Math.abs(w[j]) * (Math.abs(plus[j]) + Math.abs(minus[j]) + 2) / 2;
            terms += Math.abs(w[j] * delta);
        }
        double rounding = (R * EPS * scale + w.length * EPS * terms / 2) / h;
        return new Difference(sum / (2 * h), rounding);
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
            in[j] = Tensor.of(v, shapes[j]);
        }
        try (Handle ng = Autograd.noGrad()) {
            return f.apply(in).contiguous().toDoubleArray();
        }
    }

    static Tensor[] leaves(double[][] values, long[][] shapes) {
        Tensor[] t = new Tensor[values.length];
        for (int k = 0; k < t.length; k++)
            t[k] = Tensor.of(values[k], shapes[k]).requiresGrad(true);
        return t;
    }

    /** The leaf's gradient as an array; zeros when no gradient reached it. */
    static double[] grad(Tensor leaf) {
        return leaf.grad() == null
                ? new double[(int) leaf.numel()]
                : leaf.grad().toDoubleArray();
    }

    private static String describe(long[][] shapes) {
        return Arrays.stream(shapes).map(s -> Shape.of(s).toString()).toList().toString();
    }

    /** The seed and the command that replays it, naming the property method found on the stack. */
    static String replay() {
        Long seed = SEED.get();
        if (seed == null) return "";
        Optional<String> test = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE)
                .walk(frames -> frames.filter(GradCheck::isProperty)
                        .map(fr -> fr.getDeclaringClass().getSimpleName() + "#" + fr.getMethodName())
                        .findFirst());
        return "\nseed " + seed
                + "; replay: ./panthera mvn -q -pl tensor -am verify -Dsurefire.failIfNoSpecifiedTests=false"
                + " -Dtest='" + test.orElse("<test class>") + "' -Dpanthera.seed=" + seed;
    }

    private static boolean isProperty(StackWalker.StackFrame frame) {
        for (Method m : frame.getDeclaringClass().getDeclaredMethods()) {
            if (m.getName().equals(frame.getMethodName())
                    && (m.isAnnotationPresent(net.jqwik.api.Property.class)
                            || m.isAnnotationPresent(net.jqwik.api.Example.class)
                            || m.isAnnotationPresent(org.junit.jupiter.api.Test.class))) return true;
        }
        return false;
    }
}
