package dev.panthera.testing;

import dev.panthera.tensor.Shape;

/**
 * The elements that break a tolerance: how many, the worst (largest error over what it was allowed; a NaN or
 * infinity mismatch is worst of all), and, as torch reports them, the greatest absolute and relative differences
 * among finite elements.
 */
record Mismatches(
        long count,
        long total,
        int worst,
        double[] actual,
        double[] expected,
        Tolerance tolerance,
        int maxAbsAt,
        int maxRelAt) {

    static Mismatches of(double[] actual, double[] expected, Tolerance tol) {
        long count = 0;
        int worst = -1, maxAbsAt = -1, maxRelAt = -1;
        double worstRatio = -1, maxAbs = -1, maxRel = -1;
        for (int i = 0; i < actual.length; i++) {
            double a = actual[i], e = expected[i];
            boolean ok;
            double ratio;
            if (Double.isNaN(a) || Double.isNaN(e)) {
                ok = tol.equalNan() && Double.isNaN(a) && Double.isNaN(e);
                ratio = Double.POSITIVE_INFINITY;
            } else if (Double.isInfinite(a) || Double.isInfinite(e)) {
                ok = a == e;
                ratio = Double.POSITIVE_INFINITY;
            } else {
                double diff = Math.abs(a - e), allowed = tol.allowed(e);
                ok = diff <= allowed;
                ratio = allowed == 0 ? (diff == 0 ? 0 : Double.POSITIVE_INFINITY) : diff / allowed;
                if (diff > maxAbs) {
                    maxAbs = diff;
                    maxAbsAt = i;
                }
                double rel = relative(a, e);
                if (rel > maxRel) {
                    maxRel = rel;
                    maxRelAt = i;
                }
            }
            if (ok) continue;
            count++;
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worst = i;
            }
        }
        return new Mismatches(count, actual.length, worst, actual, expected, tol, maxAbsAt, maxRelAt);
    }

    String describe(Shape shape) {
        double a = actual[worst], e = expected[worst];
        StringBuilder s = new StringBuilder();
        s.append("Mismatched elements: ")
                .append(count)
                .append(" / ")
                .append(total)
                .append(" (")
                .append(TensorAssert.percent(count, total))
                .append(")\n");
        s.append("Worst element at index ")
                .append(index(shape, worst))
                .append(": actual ")
                .append(a)
                .append(", expected ")
                .append(e)
                .append(" (abs error ")
                .append(Math.abs(a - e))
                .append(", rel error ")
                .append(relative(a, e))
                .append(", allowed ")
                .append(tolerance.allowed(e))
                .append(")");
        if (maxAbsAt >= 0) {
            s.append("\nGreatest absolute difference: ")
                    .append(Math.abs(actual[maxAbsAt] - expected[maxAbsAt]))
                    .append(" at index ")
                    .append(index(shape, maxAbsAt))
                    .append(" (up to ")
                    .append(tolerance.atol())
                    .append(" allowed)");
            s.append("\nGreatest relative difference: ")
                    .append(relative(actual[maxRelAt], expected[maxRelAt]))
                    .append(" at index ")
                    .append(index(shape, maxRelAt))
                    .append(" (up to ")
                    .append(tolerance.rtol())
                    .append(" allowed)");
        }
        return s.toString();
    }

    /** |a − e| / |e|: infinite where e is 0 and a is not, 0 where both are 0. */
    static double relative(double a, double e) {
        double d = Math.abs(a - e);
        return d == 0 ? 0 : d / Math.abs(e);
    }

    /** The multi-index of row-major position {@code flat} in {@code shape}, as "(i, j, k)". */
    static String index(Shape shape, int flat) {
        int rank = shape.rank();
        long[] idx = new long[rank];
        long rest = flat;
        for (int d = rank - 1; d >= 0; d--) {
            long n = shape.dim(d);
            idx[d] = rest % n;
            rest /= n;
        }
        StringBuilder s = new StringBuilder("(");
        for (int d = 0; d < rank; d++) s.append(d == 0 ? "" : ", ").append(idx[d]);
        return s.append(")").toString();
    }
}
