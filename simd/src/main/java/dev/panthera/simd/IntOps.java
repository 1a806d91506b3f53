package dev.panthera.simd;

import static dev.panthera.simd.FloatRows.atLeast1;
import static dev.panthera.simd.FloatRows.lastStride;
import static dev.panthera.simd.FloatRows.rowLength;
import static dev.panthera.simd.FloatRows.rows;

import dev.panthera.tensor.BinaryOp;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Layout;
import dev.panthera.tensor.ReduceOp;
import dev.panthera.tensor.Storage;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.spi.StridedCursor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * I32 and I64 NEG, ABS, RELU and SIGN, arithmetic (ADD, SUB, MUL, MAXIMUM, MINIMUM), comparisons into BOOL, and reductions (SUM, MAX, MIN,
 * ARGMAX, ARGMIN) for any layout, in exact 64-bit lanes as the reference computes them: each row is widened into a
 * long scratch row (I32 sign-extended), combined a vector at a time, and stored back with Java's wrapping narrowing
 * (so I32 results are the low 32 bits, as 32-bit arithmetic gives). DIV and POW (float results) are not served here.
 */
final class IntOps {
    private IntOps() {}

    private static final VectorSpecies<Long> L = Lanes.F.withLanes(long.class);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private static boolean integer(DType t) {
        return t == DType.I32 || t == DType.I64;
    }

    /** Whether {@code op} (an SPI method name) with storages of these dtypes, in argument order, is served here. */
    static boolean claims(String op, DType... t) {
        return switch (op) {
            case "unary" -> t.length == 2 && integer(t[0]) && t[1] == t[0];
            case "binary" -> t.length == 3 && integer(t[0]) && t[1] == t[0] && (t[2] == t[0] || t[2] == DType.BOOL);
            case "reduce" -> t.length == 2 && integer(t[0]) && (t[1] == t[0] || t[1] == DType.I64);
            default -> false;
        };
    }

    /** Whether this binary op is served for integers (not DIV or POW). */
    static boolean serves(BinaryOp op) {
        return op != BinaryOp.DIV && op != BinaryOp.POW;
    }

    private static void widen(MemorySegment s, DType t, long off, long stride, int n, long[] out) {
        if (t == DType.I64) for (int i = 0; i < n; i++) out[i] = s.getAtIndex(I64, off + i * stride);
        else for (int i = 0; i < n; i++) out[i] = s.getAtIndex(I32, off + i * stride);
    }

    private static void narrow(long[] in, int n, MemorySegment d, DType t, long off, long stride) {
        if (t == DType.I64) for (int i = 0; i < n; i++) d.setAtIndex(I64, off + i * stride, in[i]);
        else for (int i = 0; i < n; i++) d.setAtIndex(I32, off + i * stride, (int) in[i]);
    }

    /** dst = op(src) for the integer-valued unary ops (the tensor layer converts integers for the float-only ones). */
    static void unary(UnaryOp op, Storage src, Layout sl, Storage dst, Layout dl) {
        Layout s1 = atLeast1(sl), d1 = atLeast1(dl);
        int n = rowLength(s1);
        if (n == 0 || s1.numel() == 0) return;
        long[] x = new long[n];
        StridedCursor cs = new StridedCursor(rows(s1)), cd = new StridedCursor(rows(d1));
        LongVector zero = LongVector.zero(L), one = LongVector.broadcast(L, 1);
        for (long r = 0, rowsN = s1.numel() / n; r < rowsN; r++) {
            widen(src.segment(), src.dtype(), cs.next(), lastStride(s1), n, x);
            int i = 0;
            for (int bound = L.loopBound(n); i < bound; i += L.length()) {
                LongVector v = LongVector.fromArray(L, x, i);
                LongVector y = switch (op) {
                    case NEG -> v.neg();
                    case ABS -> v.abs();
                    case RELU -> v.max(zero);
                    case SIGN ->
                        zero.blend(one, v.compare(VectorOperators.GT, 0))
                                .blend(one.neg(), v.compare(VectorOperators.LT, 0));
                    default ->
                        throw new IllegalArgumentException("integer unary: " + op + " is computed in floating point");
                };
                y.intoArray(x, i);
            }
            for (; i < n; i++) x[i] = dev.panthera.tensor.spi.Scalars.unaryLong(op, x[i]);
            narrow(x, n, dst.segment(), dst.dtype(), cd.next(), lastStride(d1));
        }
    }

    static void binary(BinaryOp op, Storage a, Layout al, Storage b, Layout bl, Storage dst, Layout dl) {
        Layout a1 = atLeast1(al), b1 = atLeast1(bl), d1 = atLeast1(dl);
        int n = rowLength(d1);
        if (n == 0 || d1.numel() == 0) return;
        long sa = lastStride(a1), sb = lastStride(b1), sd = lastStride(d1);
        long[] x = new long[n], y = new long[n], z = new long[n];
        StridedCursor ca = new StridedCursor(rows(a1)),
                cb = new StridedCursor(rows(b1)),
                cd = new StridedCursor(rows(d1));
        for (long r = 0, rowsN = d1.numel() / n; r < rowsN; r++) {
            long ao = ca.next(), bo = cb.next(), dO = cd.next();
            if (sa == 0)
                Arrays.fill(
                        x,
                        a.dtype() == DType.I64
                                ? a.segment().getAtIndex(I64, ao)
                                : a.segment().getAtIndex(I32, ao));
            else widen(a.segment(), a.dtype(), ao, sa, n, x);
            if (sb == 0)
                Arrays.fill(
                        y,
                        b.dtype() == DType.I64
                                ? b.segment().getAtIndex(I64, bo)
                                : b.segment().getAtIndex(I32, bo));
            else widen(b.segment(), b.dtype(), bo, sb, n, y);
            int i = 0;
            for (int bound = L.loopBound(n); i < bound; i += L.length()) {
                LongVector u = LongVector.fromArray(L, x, i), v = LongVector.fromArray(L, y, i);
                if (op.isComparison()) {
                    VectorMask<Long> m = u.compare(comparison(op), v);
                    for (int l = 0; l < L.length(); l++) z[i + l] = m.laneIsSet(l) ? 1 : 0;
                } else {
                    u.lanewise(arithmetic(op), v).intoArray(z, i);
                }
            }
            for (; i < n; i++) z[i] = scalar(op, x[i], y[i]);
            if (op.isComparison()) {
                for (int j = 0; j < n; j++) dst.segment().set(ValueLayout.JAVA_BYTE, dO + j * sd, (byte) z[j]);
            } else {
                narrow(z, n, dst.segment(), dst.dtype(), dO, sd);
            }
        }
    }

    private static VectorOperators.Comparison comparison(BinaryOp op) {
        return switch (op) {
            case EQ -> VectorOperators.EQ;
            case NE -> VectorOperators.NE;
            case LT -> VectorOperators.LT;
            case LE -> VectorOperators.LE;
            case GT -> VectorOperators.GT;
            case GE -> VectorOperators.GE;
            default -> throw new IllegalArgumentException("integer compare: " + op + " is not a comparison");
        };
    }

    private static VectorOperators.Binary arithmetic(BinaryOp op) {
        return switch (op) {
            case ADD -> VectorOperators.ADD;
            case SUB -> VectorOperators.SUB;
            case MUL -> VectorOperators.MUL;
            case MAXIMUM -> VectorOperators.MAX;
            case MINIMUM -> VectorOperators.MIN;
            default -> throw new IllegalArgumentException("integer binary: " + op + " has a float result");
        };
    }

    private static long scalar(BinaryOp op, long x, long y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case MAXIMUM -> Math.max(x, y);
            case MINIMUM -> Math.min(x, y);
            case EQ -> x == y ? 1 : 0;
            case NE -> x != y ? 1 : 0;
            case LT -> x < y ? 1 : 0;
            case LE -> x <= y ? 1 : 0;
            case GT -> x > y ? 1 : 0;
            case GE -> x >= y ? 1 : 0;
            case DIV, POW -> throw new IllegalArgumentException("integer binary: " + op + " has a float result");
        };
    }

    /**
     * SUM (wrapping), MAX, MIN over any dims, ARGMAX/ARGMIN (first occurrence) along one dim. A reduced last dim is
     * reduced a vector at a time per row; a kept one is combined element by element into its output row.
     */
    static void reduce(ReduceOp op, Storage src, Layout sl, int[] dims, Storage dst, Layout dl) {
        Layout s1 = atLeast1(sl), d1 = atLeast1(dl);
        int last = s1.rank() - 1, n = rowLength(s1);
        boolean lastReduced = false;
        if (sl.rank() > 0) for (int d : dims) lastReduced |= d == last;
        boolean arg = op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN;
        boolean max = op == ReduceOp.MAX || op == ReduceOp.ARGMAX;
        int outN = Math.toIntExact(d1.numel());
        long[] acc = new long[outN], at = new long[outN];
        Arrays.fill(acc, op == ReduceOp.SUM ? 0 : max ? Long.MIN_VALUE : Long.MAX_VALUE);
        Arrays.fill(at, -1);
        long[] ordinal = new long[s1.rank()];
        for (int i = s1.rank() - 1, step = 1; i >= 0; i--) {
            ordinal[i] = step;
            step = Math.multiplyExact(step, Math.toIntExact(d1.shape().dim(i)));
        }
        if (sl.rank() > 0) for (int d : dims) ordinal[d] = 0;
        int argDim = dims.length == 1 ? dims[0] : -1;
        if (n > 0 && s1.numel() > 0) {
            long[] x = new long[n];
            Layout srcRows = rows(s1);
            StridedCursor cs = new StridedCursor(srcRows),
                    co = new StridedCursor(rows(new Layout(s1.shape(), ordinal, 0)));
            for (long r = 0, rowsN = srcRows.numel(); r < rowsN; r++) {
                widen(src.segment(), src.dtype(), cs.next(), lastStride(s1), n, x);
                int o = (int) co.next();
                if (lastReduced) {
                    long v = rowReduce(op, x, n);
                    if (arg) {
                        int j = 0;
                        while (x[j] != v) j++;
                        at[o] = j;
                    } else {
                        acc[o] = op == ReduceOp.SUM ? acc[o] + v : max ? Math.max(acc[o], v) : Math.min(acc[o], v);
                    }
                } else {
                    long position = arg ? cs.position(argDim) : 0;
                    for (int j = 0; j < n; j++) {
                        int q = o + j;
                        long v = x[j];
                        switch (op) {
                            case SUM -> acc[q] += v;
                            case MAX -> acc[q] = Math.max(acc[q], v);
                            case MIN -> acc[q] = Math.min(acc[q], v);
                            case ARGMAX, ARGMIN -> {
                                if (at[q] < 0 || (max ? v > acc[q] : v < acc[q])) {
                                    acc[q] = v;
                                    at[q] = position;
                                }
                            }
                        }
                    }
                }
            }
        }
        StridedCursor cd = new StridedCursor(d1);
        for (int o = 0; o < outN; o++) {
            long di = cd.next(), v = arg ? at[o] : acc[o];
            if (dst.dtype() == DType.I64) dst.segment().setAtIndex(I64, di, v);
            else dst.segment().setAtIndex(I32, di, (int) v);
        }
    }

    /** The wrapping sum, the max or the min (for the arg ops: the extreme) of a row of n ≥ 1. */
    private static long rowReduce(ReduceOp op, long[] x, int n) {
        boolean sum = op == ReduceOp.SUM, max = op == ReduceOp.MAX || op == ReduceOp.ARGMAX;
        LongVector acc = LongVector.broadcast(L, sum ? 0 : max ? Long.MIN_VALUE : Long.MAX_VALUE);
        int i = 0;
        for (int bound = L.loopBound(n); i < bound; i += L.length()) {
            LongVector v = LongVector.fromArray(L, x, i);
            acc = sum ? acc.add(v) : max ? acc.max(v) : acc.min(v);
        }
        long r = acc.reduceLanes(sum ? VectorOperators.ADD : max ? VectorOperators.MAX : VectorOperators.MIN);
        for (; i < n; i++) r = sum ? r + x[i] : max ? Math.max(r, x[i]) : Math.min(r, x[i]);
        return r;
    }
}
