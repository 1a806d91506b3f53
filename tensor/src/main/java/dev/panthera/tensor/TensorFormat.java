package dev.panthera.tensor;

import java.util.Locale;

/** PyTorch-like printing: nested brackets, aligned columns, elision past 1000 elements (3 edge items). */
final class TensorFormat {
    private TensorFormat() {}

    static final int THRESHOLD = 1000;
    static final int EDGE = 3;

    static String format(Tensor t) {
        if (!t.storage().isAlive())
            return "tensor(<freed>, name=" + t.name() + ", shape=" + t.shape() + ", dtype=" + t.dtype() + ")";
        Tensor original = t;
        t = t.host("toString"); // values of a device tensor are copied to the host first
        boolean elide = t.numel() > THRESHOLD;
        double[] vals = visibleValues(t, elide);
        String fmt = chooseFormat(t.dtype(), vals);
        int width = 0;
        for (double v : vals)
            width = Math.max(width, fmtValue(fmt, t.dtype(), v).length());
        StringBuilder sb = new StringBuilder("tensor(");
        long[] idx = new long[t.rank()];
        render(t, 0, idx, elide, fmt, width, sb, "tensor(".length());
        sb.append(", shape=").append(t.shape());
        if (t.dtype() != DType.F32) sb.append(", dtype=").append(t.dtype());
        if (original.device().kind() != Device.Kind.CPU) sb.append(", device=").append(original.device());
        if (original.requiresGrad())
            sb.append(
                    original.gradFn() == null
                            ? ", requiresGrad=true"
                            : ", gradFn=" + original.gradFn().getClass().getSimpleName());
        return sb.append(')').toString();
    }

    private static void render(
            Tensor t, int dim, long[] idx, boolean elide, String fmt, int width, StringBuilder sb, int indent) {
        if (t.rank() == 0) {
            sb.append(fmtValue(fmt, t.dtype(), t.item()));
            return;
        }
        long n = t.size(dim);
        sb.append('[');
        for (long i = 0; i < n; i++) {
            if (elide && n > 2 * EDGE && i == EDGE) {
                sb.append(dim == t.rank() - 1 ? " ..., " : "...,\n" + " ".repeat(indent + dim + 1));
                i = n - EDGE;
            }
            idx[dim] = i;
            if (dim == t.rank() - 1) {
                String s = fmtValue(fmt, t.dtype(), t.get(idx));
                sb.append(" ".repeat(Math.max(0, width - s.length()))).append(s);
            } else {
                render(t, dim + 1, idx, elide, fmt, width, sb, indent);
            }
            if (i < n - 1) {
                if (dim == t.rank() - 1) sb.append(", ");
                else sb.append(",").append("\n".repeat(t.rank() - 1 - dim)).append(" ".repeat(indent + dim + 1));
            }
        }
        sb.append(']');
    }

    private static double[] visibleValues(Tensor t, boolean elide) {
        if (!elide) return t.toDoubleArray();
        // edges only: enough to size the columns and pick a format
        java.util.ArrayList<Double> vs = new java.util.ArrayList<>();
        collect(t, 0, new long[t.rank()], vs);
        return vs.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static void collect(Tensor t, int dim, long[] idx, java.util.List<Double> out) {
        long n = t.size(dim);
        for (long i = 0; i < n; i++) {
            if (n > 2 * EDGE && i == EDGE) i = n - EDGE;
            idx[dim] = i;
            if (dim == t.rank() - 1) out.add(t.get(idx));
            else collect(t, dim + 1, idx, out);
        }
    }

    private static String chooseFormat(DType dtype, double[] vals) {
        if (!dtype.isFloatingPoint()) return "int";
        boolean allInt = true;
        double maxAbs = 0, minAbs = Double.MAX_VALUE;
        for (double v : vals) {
            if (!Double.isFinite(v)) continue;
            if (v != Math.rint(v)) allInt = false;
            double a = Math.abs(v);
            maxAbs = Math.max(maxAbs, a);
            if (a > 0) minAbs = Math.min(minAbs, a);
        }
        if (allInt && maxAbs < 1e8) return "int-float";
        if (maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs != Double.MAX_VALUE) || (maxAbs / minAbs > 1000 && minAbs < 1e-3))
            return "sci";
        return "fixed";
    }

    private static String fmtValue(String fmt, DType dtype, double v) {
        if (dtype == DType.BOOL) return v != 0 ? "true" : "false";
        if (Double.isNaN(v)) return "nan";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        return switch (fmt) {
            case "int" -> Long.toString((long) v);
            case "int-float" -> (long) v + ".";
            case "sci" -> String.format(Locale.ROOT, "%.4e", v);
            default -> String.format(Locale.ROOT, "%.4f", v);
        };
    }
}
