package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.testing.Shapes;
import dev.panthera.testing.TensorSpec;
import dev.panthera.testing.Tensors;
import dev.panthera.testing.Values;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Every op against a float64 loop written here, over random shapes (sizes 1, primes, tails) and random layouts
 * (contiguous, permuted, stepped, offset, expanded). Inputs are F64 or F32; the loops compute in double from the
 * input values. Tolerances: F64 ops 1e-12 relative (one rounding of double ops), F32 results 2e-6 relative + 1e-6
 * absolute (one float rounding of a double result, a little more for exp/log near large values).
 */
class OpsAgainstFloat64Test {
    private static double tol(DType t) {
        return t == DType.F64 ? 1e-12 : 2e-6;
    }

    /** F64 or F32, shrinking toward F64. */
    static Arbitrary<DType> floatTypes() {
        return Arbitraries.of(DType.F64, DType.F32);
    }

    // ---------------------------------------------------------------- elementwise

    static double unaryRef(UnaryOp op, double x) {
        return switch (op) {
            case NEG -> -x;
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SQRT -> Math.sqrt(x);
            case RSQRT -> 1 / Math.sqrt(x);
            case ABS -> Math.abs(x);
            case TANH -> Math.tanh(x);
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case RELU -> x > 0 ? x : 0;
            // Φ(x) from the complementary error function identity Φ(x) = erfc(-x/√2)/2, with erfc by Simpson quadrature
            case GELU_ERF -> x * normalCdf(x);
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case SILU -> x / (1 + Math.exp(-x));
            case SIGN -> Math.signum(x);
        };
    }

    /** Φ(x) = 1/2 + ∫0^x φ(t) dt by composite Simpson with 2000 panels: independent of the library's erf series. */
    static double normalCdf(double x) {
        int n = 2000;
        double h = x / n, s = 0;
        for (int i = 0; i <= n; i++) {
            double t = i * h, w = (i == 0 || i == n) ? 1 : (i % 2 == 1 ? 4 : 2);
            s += w * Math.exp(-t * t / 2);
        }
        return 0.5 + s * h / 3 / Math.sqrt(2 * Math.PI);
    }

    /**
     * F64 or F32 tensors (shrinking toward F64) of rank 0 to 4, sizes 0 to 17 (the kit's edge sizes: 0, 1, primes,
     * vector-width tails), in every layout the kit draws, with N(0, 1) values.
     */
    @Provide
    Arbitrary<TensorSpec> floatTensors() {
        return Tensors.of(DType.F64, DType.F32)
                .withShapes(Shapes.shapes(0, 4, 0, 17, MAX_NUMEL))
                .withValues(Values.normal())
                .specs();
    }

    /** The largest drawn tensor: rank 4 of size 17. */
    private static final long MAX_NUMEL = 17L * 17 * 17 * 17;

    @Property(tries = 120)
    void unaryOpsMatchFloat64Loop(@ForAll UnaryOp op, @ForAll("floatTensors") TensorSpec spec) {
        DType t = spec.dtype();
        long[] shape = spec.shape().toArray();
        Tensor x = spec.tensor();
        if (op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT)
            x = x.abs().add(0.1);
        Tensor y = switch (op) {
            case NEG -> x.neg();
            case EXP -> x.exp();
            case LOG -> x.log();
            case SQRT -> x.sqrt();
            case RSQRT -> x.rsqrt();
            case ABS -> x.abs();
            case TANH -> x.tanh();
            case SIGMOID -> x.sigmoid();
            case RELU -> x.relu();
            case GELU_ERF -> x.gelu();
            case GELU_TANH -> x.geluTanh();
            case SILU -> x.silu();
            case SIGN -> x.sign();
        };
        double[] in = Oracle.values(x), out = Oracle.values(y);
        double[] exp = new double[in.length];
        for (int i = 0; i < in.length; i++) exp[i] = unaryRef(op, in[i]);
        if (t == DType.F32) for (int i = 0; i < exp.length; i++) exp[i] = (float) exp[i];
        // GELU_ERF's reference is a quadrature good to ~1e-13
        Oracle.assertClose(
                exp,
                out,
                op == UnaryOp.GELU_ERF ? Math.max(tol(t), 1e-11) : tol(t),
                t == DType.F32 ? 1e-7 : 1e-13,
                op + " " + Arrays.toString(shape));
        assertEquals(Shape.of(shape), y.shape());
        assertEquals(t, y.dtype());
    }

    static double binaryRef(BinaryOp op, double a, double b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> Math.pow(a, b);
            case MAXIMUM -> Math.max(a, b);
            case MINIMUM -> Math.min(a, b);
            case EQ -> a == b ? 1 : 0;
            case NE -> a != b ? 1 : 0;
            case LT -> a < b ? 1 : 0;
            case LE -> a <= b ? 1 : 0;
            case GT -> a > b ? 1 : 0;
            case GE -> a >= b ? 1 : 0;
        };
    }

    static Tensor apply(BinaryOp op, Tensor a, Tensor b) {
        return switch (op) {
            case ADD -> a.add(b);
            case SUB -> a.sub(b);
            case MUL -> a.mul(b);
            case DIV -> a.div(b);
            case POW -> a.pow(b);
            case MAXIMUM -> a.maximum(b);
            case MINIMUM -> a.minimum(b);
            case EQ -> a.eq(b);
            case NE -> a.ne(b);
            case LT -> a.lt(b);
            case LE -> a.le(b);
            case GT -> a.gt(b);
            case GE -> a.ge(b);
        };
    }

    /** An op, two operands that broadcast together (of one float dtype, any layouts), and whether b copies a. */
    record BinaryCase(BinaryOp op, TensorSpec a, TensorSpec b, boolean bCopiesA) {}

    @Provide
    Arbitrary<BinaryCase> binaryCases() {
        return Combinators.combine(
                        Arbitraries.of(BinaryOp.class),
                        Arbitraries.of(DType.F64, DType.F32),
                        Shapes.broadcastablePairs(0, 4),
                        Arbitraries.of(false, true))
                .flatAs((op, t, shapes, copy) -> {
                    Tensors f = Tensors.of(t).withValues(Values.normal());
                    return Combinators.combine(
                                    f.specs(shapes.inputs().get(0), t),
                                    f.specs(shapes.inputs().get(1), t))
                            .as((a, b) -> new BinaryCase(op, a, b, copy));
                });
    }

    @Property(tries = 150)
    void binaryOpsBroadcastLikeAnExplicitLoop(@ForAll("binaryCases") BinaryCase c) {
        BinaryOp op = c.op();
        DType t = c.a().dtype();
        Tensor a = c.a().tensor(), b = c.b().tensor();
        if (op == BinaryOp.POW) a = a.abs().add(0.5);
        if (op.isComparison() && c.bCopiesA()) b = a.detach().contiguous(); // equal values exercise EQ/LE/GE
        long[] sb = b.dims();
        Tensor y = apply(op, a, b);
        long[] out = Shape.broadcast("test", a.shape(), b.shape()).toArray();
        assertArrayEquals(out, y.dims());
        long[][] ix = Oracle.indices(out);
        double[] exp = new double[ix.length];
        for (int i = 0; i < ix.length; i++) {
            double x = a.get(Oracle.broadcastIndex(a.dims(), ix[i])), z = b.get(Oracle.broadcastIndex(sb, ix[i]));
            exp[i] = binaryRef(op, x, z);
            if (t == DType.F32 && !op.isComparison()) exp[i] = (float) exp[i];
        }
        Oracle.assertClose(
                exp, Oracle.values(y), op.isComparison() ? 0 : tol(t), 0, op + " " + a.shape() + " " + b.shape());
        assertEquals(op.isComparison() ? DType.BOOL : t, y.dtype());
    }

    // ---------------------------------------------------------------- reductions

    /**
     * A tensor of rank 1 to 4 (sizes 1 to 17: max and min of nothing are undefined), the dims to reduce (each picked
     * dim counted from the front or, negative, from the back; the first dim when none is picked), keepdim, which
     * reduction (sum, mean, max, min, var) and var's correction.
     */
    record ReductionCase(TensorSpec x, int[] dims, boolean keep, int which, int correction) {
        @Override
        public String toString() {
            return "reduction " + which + " over " + Arrays.toString(dims) + " keep " + keep + " correction "
                    + correction + " of " + x;
        }
    }

    @Provide
    Arbitrary<ReductionCase> reductionCases() {
        return Tensors.of(DType.F64, DType.F32)
                .withShapes(Shapes.shapes(1, 4, 1, 17, MAX_NUMEL))
                .withValues(Values.normal())
                .specs()
                .flatMap(x -> {
                    int rank = x.shape().rank();
                    Arbitrary<List<Boolean>> flags =
                            Arbitraries.of(false, true).list().ofSize(rank);
                    return Combinators.combine(
                                    flags,
                                    flags,
                                    Arbitraries.of(false, true),
                                    Arbitraries.integers().between(0, 4),
                                    Arbitraries.integers().between(0, 1))
                            .as((picked, fromBack, keep, which, corr) -> {
                                List<Integer> dl = new ArrayList<>();
                                for (int i = 0; i < rank; i++)
                                    if (picked.get(i)) dl.add(fromBack.get(i) ? i - rank : i);
                                if (dl.isEmpty()) dl.add(0);
                                int[] dims =
                                        dl.stream().mapToInt(Integer::intValue).toArray();
                                return new ReductionCase(x, dims, keep, which, corr);
                            });
                });
    }

    @Property(tries = 150)
    void reductionsOverAnyDimsWithKeepdim(@ForAll("reductionCases") ReductionCase rc) {
        DType t = rc.x().dtype();
        long[] shape = rc.x().shape().toArray();
        Tensor x = rc.x().tensor();
        int[] dims = rc.dims();
        boolean keep = rc.keep();
        int which = rc.which();
        boolean[] reduced = new boolean[shape.length];
        for (int d : dims) reduced[Math.floorMod(d, shape.length)] = true;
        long[] outKeep = shape.clone();
        for (int i = 0; i < shape.length; i++) if (reduced[i]) outKeep[i] = 1;
        long count = 1;
        for (int i = 0; i < shape.length; i++) if (reduced[i]) count *= shape[i];

        // float64 loop: accumulate per output cell
        int cells = (int) Shape.of(outKeep).numel();
        double[] sum = new double[cells], max = new double[cells], min = new double[cells], sq = new double[cells];
        Arrays.fill(max, Double.NEGATIVE_INFINITY);
        Arrays.fill(min, Double.POSITIVE_INFINITY);
        long[][] ix = Oracle.indices(shape);
        for (long[] i : ix) {
            long[] o = i.clone();
            for (int d = 0; d < o.length; d++) if (reduced[d]) o[d] = 0;
            int c = Oracle.flat(outKeep, o);
            double v = x.get(i);
            sum[c] += v;
            max[c] = Math.max(max[c], v);
            min[c] = Math.min(min[c], v);
        }
        for (long[] i : ix) {
            long[] o = i.clone();
            for (int d = 0; d < o.length; d++) if (reduced[d]) o[d] = 0;
            int c = Oracle.flat(outKeep, o);
            double dv = x.get(i) - sum[c] / count;
            sq[c] += dv * dv;
        }
        Tensor y;
        double[] exp = new double[cells];
        switch (which) {
            case 0 -> {
                y = x.sum(dims, keep);
                exp = sum;
            }
            case 1 -> {
                y = x.mean(dims, keep);
                for (int c = 0; c < cells; c++) exp[c] = sum[c] / count;
            }
            case 2 -> {
                y = x.max(dims, keep);
                exp = max;
            }
            case 3 -> {
                y = x.min(dims, keep);
                exp = min;
            }
            default -> {
                int corr = rc.correction();
                y = x.var(dims, corr, keep);
                for (int c = 0; c < cells; c++) exp[c] = sq[c] / Math.max(count - corr, 0);
            }
        }
        if (t == DType.F32) for (int c = 0; c < cells; c++) exp[c] = (float) exp[c];
        long[] expShape = keep ? outKeep : squeezeReduced(shape, reduced);
        assertArrayEquals(expShape, y.dims(), "reduction shape");
        Oracle.assertClose(
                exp,
                Oracle.values(y),
                t == DType.F64 ? 1e-11 : 1e-5,
                1e-6,
                "reduction " + which + " over " + Arrays.toString(dims) + " of " + Arrays.toString(shape));
    }

    static long[] squeezeReduced(long[] shape, boolean[] reduced) {
        List<Long> l = new ArrayList<>();
        for (int i = 0; i < shape.length; i++) if (!reduced[i]) l.add(shape[i]);
        return l.stream().mapToLong(Long::longValue).toArray();
    }

    /** An F64 tensor of rank 1 to 3 in any layout, a dim of it, and keepdim or not. */
    record DimCase(TensorSpec x, int dim, boolean keep) {}

    static Arbitrary<DimCase> dimCases(Arbitrary<DType> types, int minRank, int maxRank) {
        return Combinators.combine(types, Cases.shape(minRank, maxRank))
                .flatAs((t, shape) -> Combinators.combine(
                                Cases.anyLayout(t, shape), Cases.choice(shape.length), Arbitraries.of(false, true))
                        .as(DimCase::new));
    }

    @Provide
    Arbitrary<DimCase> argCases() {
        return dimCases(Arbitraries.just(DType.F64), 1, 3);
    }

    @Property(tries = 100)
    void argmaxAndArgminPickTheFirstExtreme(@ForAll("argCases") DimCase c) {
        long[] shape = c.x().shape().toArray();
        int dim = c.dim();
        // small integer values make ties likely: the first occurrence must win
        Tensor x = c.x().tensor().mul(2).relu().add(0.5).to(DType.I64).to(DType.F32);
        boolean keep = c.keep();
        Tensor amax = x.argmax(dim, keep), amin = x.argmin(dim, keep);
        assertEquals(DType.I64, amax.dtype());
        long[] outKeep = shape.clone();
        outKeep[dim] = 1;
        for (long[] o : Oracle.indices(outKeep)) {
            long bestMax = 0, bestMin = 0;
            long[] i = o.clone();
            for (long k = 0; k < shape[dim]; k++) {
                i[dim] = k;
                double v = x.get(i);
                i[dim] = bestMax;
                if (v > x.get(i)) bestMax = k;
                i[dim] = bestMin;
                if (v < x.get(i)) bestMin = k;
            }
            long[] at = keep ? o : squeezeOne(o, dim);
            assertEquals(bestMax, (long) amax.get(at));
            assertEquals(bestMin, (long) amin.get(at));
        }
        // flat argmax
        double[] all = Oracle.values(x);
        int best = 0;
        for (int k = 1; k < all.length; k++) if (all[k] > all[best]) best = k;
        assertEquals(best, (long) x.argmax().item());
    }

    static long[] squeezeOne(long[] o, int dim) {
        long[] s = new long[o.length - 1];
        for (int i = 0, j = 0; i < o.length; i++) if (i != dim) s[j++] = o[i];
        return s;
    }

    // ---------------------------------------------------------------- matmul

    /** The operand shapes of each matmul form for sizes m, k, n. */
    static long[][] matmulShapes(int caseKind, long m, long k, long n) {
        long[] sa, sb;
        switch (caseKind) {
            case 0 -> {
                sa = new long[] {k};
                sb = new long[] {k};
            } // dot
            case 1 -> {
                sa = new long[] {k};
                sb = new long[] {k, n};
            } // vector·matrix
            case 2 -> {
                sa = new long[] {m, k};
                sb = new long[] {k};
            } // matrix·vector
            case 3 -> {
                sa = new long[] {m, k};
                sb = new long[] {k, n};
            }
            case 4 -> {
                sa = new long[] {3, 1, m, k};
                sb = new long[] {2, k, n};
            } // broadcast batch dims
            default -> {
                sa = new long[] {2, m, k};
                sb = new long[] {k};
            } // batched matrix·vector
        }
        return new long[][] {sa, sb};
    }

    /** Operands of one float dtype in any layout, of one of six matmul forms for sizes m, k, n up to 17. */
    record MatmulCase(TensorSpec a, TensorSpec b) {}

    @Provide
    Arbitrary<MatmulCase> matmulCases() {
        return Combinators.combine(floatTypes(), Cases.size(17), Cases.size(17), Cases.size(17), Cases.choice(6))
                .flatAs((t, m, k, n, kind) -> {
                    long[][] sh = matmulShapes(kind, m, k, n);
                    return Combinators.combine(Cases.anyLayout(t, sh[0]), Cases.anyLayout(t, sh[1]))
                            .as(MatmulCase::new);
                });
    }

    @Property(tries = 120)
    void matmulFollowsTorchMatmulSemantics(@ForAll("matmulCases") MatmulCase c) {
        DType t = c.a().dtype();
        long[] sa = c.a().shape().toArray(), sb = c.b().shape().toArray();
        long k = sa[sa.length - 1];
        Tensor a = c.a().tensor(), b = c.b().tensor();
        Tensor y = a.matmul(b);
        // expected: promote like torch.matmul, loop, then squeeze
        long[] a2 = sa.length == 1 ? new long[] {1, sa[0]} : sa;
        long[] b2 = sb.length == 1 ? new long[] {sb[0], 1} : sb;
        long[] ba = Arrays.copyOf(a2, a2.length - 2), bb = Arrays.copyOf(b2, b2.length - 2);
        long[] batch = Shape.broadcast("test", Shape.of(ba), Shape.of(bb)).toArray();
        long mm = a2[a2.length - 2], nn = b2[b2.length - 1];
        List<Double> exp = new ArrayList<>();
        for (long[] bi : Oracle.indices(batch)) {
            for (long i = 0; i < mm; i++) {
                for (long j = 0; j < nn; j++) {
                    double s = 0;
                    for (long p = 0; p < k; p++) {
                        long[] ia = concat(Oracle.broadcastIndex(ba, bi), i, p),
                                ib = concat(Oracle.broadcastIndex(bb, bi), p, j);
                        double av = sa.length == 1 ? a.get(p) : a.get(ia);
                        double bv = sb.length == 1 ? b.get(p) : b.get(ib);
                        s += av * bv;
                    }
                    exp.add(t == DType.F32 ? (double) (float) s : s);
                }
            }
        }
        List<Long> es = new ArrayList<>();
        for (long d : batch) es.add(d);
        if (sa.length > 1) es.add(mm);
        if (sb.length > 1) es.add(nn);
        assertArrayEquals(
                es.stream().mapToLong(Long::longValue).toArray(),
                y.dims(),
                "matmul shape for " + Arrays.toString(sa) + " @ " + Arrays.toString(sb));
        double[] e = exp.stream().mapToDouble(Double::doubleValue).toArray();
        Oracle.assertClose(e, Oracle.values(y), t == DType.F64 ? 1e-11 : 1e-5, t == DType.F64 ? 1e-12 : 1e-5, "matmul");
    }

    static long[] concat(long[] head, long i, long j) {
        long[] out = Arrays.copyOf(head, head.length + 2);
        out[head.length] = i;
        out[head.length + 1] = j;
        return out;
    }

    // ---------------------------------------------------------------- softmax and norms

    @Provide
    Arbitrary<DimCase> softmaxCases() {
        return dimCases(floatTypes(), 1, 4);
    }

    @Property(tries = 100)
    void softmaxAndLogSoftmaxAlongAnyDim(
            @ForAll("softmaxCases") DimCase in, @ForAll boolean log, @ForAll boolean negative) {
        DType t = in.x().dtype();
        long[] shape = in.x().shape().toArray();
        int dim = in.dim();
        Tensor x = in.x().tensor().mul(3);
        Tensor y = log ? x.logSoftmax(dim - (negative ? shape.length : 0)) : x.softmax(dim);
        double[] exp = new double[(int) Shape.of(shape).numel()];
        long[][] ix = Oracle.indices(shape);
        for (int c = 0; c < ix.length; c++) {
            long[] i = ix[c].clone();
            double denom = 0;
            for (long k = 0; k < shape[dim]; k++) {
                i[dim] = k;
                denom += Math.exp(x.get(i));
            }
            double v = x.get(ix[c]);
            exp[c] = log ? v - Math.log(denom) : Math.exp(v) / denom;
        }
        Oracle.assertClose(
                exp,
                Oracle.values(y),
                t == DType.F64 ? 1e-12 : 1e-6,
                t == DType.F64 ? 1e-14 : 1e-6,
                (log ? "logSoftmax" : "softmax") + " dim " + dim);
    }

    /** x of rank 1 to 3 in F64 or F32, any layout; a weight and a bias of its last size, each used or not (null). */
    record NormCase(TensorSpec x, TensorSpec w, TensorSpec b, boolean withW, boolean withB, boolean rms) {}

    @Provide
    Arbitrary<NormCase> normCases() {
        return Combinators.combine(floatTypes(), Cases.shape(1, 3)).flatAs((t, shape) -> {
            long d = shape[shape.length - 1];
            Arbitrary<Boolean> flag = Arbitraries.of(false, true);
            return Combinators.combine(
                            Cases.anyLayout(t, shape), Cases.anyLayout(t, d), Cases.anyLayout(t, d), flag, flag, flag)
                    .as(NormCase::new);
        });
    }

    @Property(tries = 100)
    void layerNormAndRmsNormOverTheLastDim(@ForAll("normCases") NormCase in) {
        DType t = in.x().dtype();
        long[] shape = in.x().shape().toArray();
        long d = shape[shape.length - 1];
        Tensor x = in.x().tensor();
        Tensor w = in.withW() ? in.w().tensor() : null;
        Tensor b = in.withB() ? in.b().tensor() : null;
        double eps = 1e-5;
        boolean rms = in.rms();
        Tensor y = rms ? x.rmsNorm(w, eps) : x.layerNorm(w, b, eps);
        long[][] ix = Oracle.indices(shape);
        double[] exp = new double[ix.length];
        for (int c = 0; c < ix.length; c++) {
            long[] i = ix[c].clone();
            double mean = 0, sq = 0;
            for (long k = 0; k < d; k++) {
                i[i.length - 1] = k;
                mean += x.get(i);
            }
            mean = rms ? 0 : mean / d;
            for (long k = 0; k < d; k++) {
                i[i.length - 1] = k;
                sq += (x.get(i) - mean) * (x.get(i) - mean);
            }
            long last = ix[c][ix[c].length - 1];
            double v = (x.get(ix[c]) - mean) / Math.sqrt(sq / d + eps);
            if (w != null) v *= w.get(last);
            if (b != null && !rms) v += b.get(last);
            exp[c] = v;
        }
        Oracle.assertClose(exp, Oracle.values(y), t == DType.F64 ? 1e-11 : 1e-5, 1e-6, rms ? "rmsNorm" : "layerNorm");
    }
}
