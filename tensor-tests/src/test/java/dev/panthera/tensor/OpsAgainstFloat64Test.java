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
import java.util.Random;
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

    private static DType floatType(Random r) {
        return r.nextBoolean() ? DType.F64 : DType.F32;
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

    /** Two shapes that broadcast: b drops leading dims and sets some dims to 1, or a does. */
    static long[][] broadcastPair(Random r) {
        long[] out = Seeded.shape(r, 0, 4);
        long[] a = out.clone();
        int drop = out.length == 0 ? 0 : r.nextInt(out.length + 1);
        long[] b = Arrays.copyOfRange(out, drop, out.length);
        for (int i = 0; i < b.length; i++) if (r.nextInt(3) == 0) b[i] = 1;
        for (int i = 0; i < a.length; i++) if (r.nextInt(4) == 0) a[i] = 1;
        return r.nextBoolean() ? new long[][] {a, b} : new long[][] {b, a};
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

    @Property(tries = 100)
    void argmaxAndArgminPickTheFirstExtreme(@ForAll long seed) {
        Random r = new Random(seed);
        long[] shape = Seeded.shape(r, 1, 3);
        int dim = r.nextInt(shape.length);
        // small integer values make ties likely: the first occurrence must win
        Tensor x = Seeded.random(r, shape, DType.F64)
                .mul(2)
                .relu()
                .add(0.5)
                .to(DType.I64)
                .to(DType.F32);
        boolean keep = r.nextBoolean();
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

    @Property(tries = 120)
    void matmulFollowsTorchMatmulSemantics(@ForAll long seed) {
        Random r = new Random(seed);
        DType t = floatType(r);
        long m = Seeded.size(r, 17), k = Seeded.size(r, 17), n = Seeded.size(r, 17);
        int caseKind = r.nextInt(6);
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
        Tensor a = Seeded.random(r, sa, t), b = Seeded.random(r, sb, t);
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

    @Property(tries = 100)
    void softmaxAndLogSoftmaxAlongAnyDim(@ForAll long seed) {
        Random r = new Random(seed);
        DType t = floatType(r);
        long[] shape = Seeded.shape(r, 1, 4);
        int dim = r.nextInt(shape.length);
        Tensor x = Seeded.random(r, shape, t).mul(3);
        boolean log = r.nextBoolean();
        Tensor y = log ? x.logSoftmax(dim - (r.nextBoolean() ? shape.length : 0)) : x.softmax(dim);
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

    @Property(tries = 100)
    void layerNormAndRmsNormOverTheLastDim(@ForAll long seed) {
        Random r = new Random(seed);
        DType t = floatType(r);
        long[] shape = Seeded.shape(r, 1, 3);
        long d = shape[shape.length - 1];
        Tensor x = Seeded.random(r, shape, t);
        Tensor w = r.nextBoolean() ? Seeded.random(r, new long[] {d}, t) : null;
        Tensor b = r.nextBoolean() ? Seeded.random(r, new long[] {d}, t) : null;
        double eps = 1e-5;
        boolean rms = r.nextBoolean();
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

    // ---------------------------------------------------------------- indexing

    @Property(tries = 100)
    void embeddingIndexSelectGatherAndWhere(@ForAll long seed) {
        Random r = new Random(seed);
        DType t = floatType(r);
        long vocab = 1 + r.nextInt(11), dim = Seeded.size(r, 17);
        Tensor w = Seeded.random(r, new long[] {vocab, dim}, t);
        long[] idShape = Seeded.shape(r, 0, 2);
        long[] ids = new long[(int) Shape.of(idShape).numel()];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt((int) vocab);
        Tensor idT = Tensor.of(ids, idShape.length == 0 ? new long[0] : idShape);
        if (idShape.length == 0) idT = idT.reshape();
        Tensor e = Tensor.embedding(w, r.nextBoolean() ? idT : idT.to(DType.I32));
        long[] es = Arrays.copyOf(idShape, idShape.length + 1);
        es[idShape.length] = dim;
        assertArrayEquals(es, e.dims());
        double[] got = Oracle.values(e);
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < dim; j++)
                assertEquals(w.get(ids[i], j), got[(int) (i * dim + j)], 0.0, "embedding row " + ids[i]);
        }

        // gather along a random dim of a random 2-3D tensor
        long[] shape = Seeded.shape(r, 1, 3);
        int gd = r.nextInt(shape.length);
        Tensor x = Seeded.random(r, shape, t);
        long[] ishape = shape.clone();
        ishape[gd] = 1 + r.nextInt(4);
        long[] gi = new long[(int) Shape.of(ishape).numel()];
        for (int i = 0; i < gi.length; i++) gi[i] = r.nextInt((int) shape[gd]);
        Tensor g = x.gather(gd, Tensor.of(gi, ishape));
        long[][] ix = Oracle.indices(ishape);
        for (int c = 0; c < ix.length; c++) {
            long[] src = ix[c].clone();
            src[gd] = gi[c];
            assertEquals(x.get(src), g.get(ix[c]), 0.0, "gather");
        }

        // where with broadcasting, and maskedFill
        long[][] sh = broadcastPair(r);
        Tensor a = Seeded.random(r, sh[0], t), b = Seeded.random(r, sh[1], t);
        Tensor cond = a.gt(0);
        Tensor wv = Tensor.where(cond, a, b);
        long[] out = Shape.broadcast("test", a.shape(), b.shape()).toArray();
        for (long[] i : Oracle.indices(out)) {
            double av = a.get(Oracle.broadcastIndex(a.dims(), i)), bv = b.get(Oracle.broadcastIndex(b.dims(), i));
            assertEquals(av > 0 ? av : bv, wv.get(i), 0.0, "where");
        }
        Tensor mf = a.maskedFill(cond, -7);
        double[] av = Oracle.values(a), mv = Oracle.values(mf);
        for (int i = 0; i < av.length; i++) assertEquals(av[i] > 0 ? -7 : av[i], mv[i], 0.0, "maskedFill");
    }

    @Property(tries = 80)
    void catStackSplitChunk(@ForAll long seed) {
        Random r = new Random(seed);
        DType t = floatType(r);
        long[] shape = Seeded.shape(r, 1, 3);
        int dim = r.nextInt(shape.length);
        int parts = 1 + r.nextInt(3);
        List<Tensor> xs = new ArrayList<>();
        for (int p = 0; p < parts; p++) {
            long[] s = shape.clone();
            s[dim] = 1 + r.nextInt(4);
            xs.add(Seeded.random(r, s, t));
        }
        Tensor c = Tensor.cat(xs, dim);
        long at = 0;
        for (Tensor x : xs) {
            for (long[] i : Oracle.indices(x.dims())) {
                long[] j = i.clone();
                j[dim] += at;
                assertEquals(x.get(i), c.get(j), 0.0, "cat");
            }
            at += x.size(dim);
        }
        // split and chunk are views that cat back to the original
        long size = 1 + r.nextInt(3);
        assertArrayEquals(Oracle.values(c), Oracle.values(Tensor.cat(c.split(size, dim), dim)), "split/cat round trip");
        List<Tensor> ch = c.chunk(1 + r.nextInt(4), dim);
        assertArrayEquals(Oracle.values(c), Oracle.values(Tensor.cat(ch, dim)), "chunk/cat round trip");
        for (Tensor part : ch) assertEquals(c.storage(), part.storage(), "chunks are views");
        // stack = unsqueeze + cat
        List<Tensor> same = List.of(xs.get(0), xs.get(0).mul(2));
        int sd = r.nextInt(shape.length + 1);
        Tensor st = Tensor.stack(same, sd);
        assertEquals(2, st.size(sd));
        assertArrayEquals(Oracle.values(xs.get(0)), Oracle.values(st.select(sd, 0)));
        assertArrayEquals(Oracle.values(xs.get(0).mul(2)), Oracle.values(st.select(sd, 1)));
    }

    @Property(tries = 60)
    void indexSelectAlongAnyDim(@ForAll long seed) {
        Random r = new Random(seed);
        long[] shape = Seeded.shape(r, 1, 3);
        int dim = r.nextInt(shape.length);
        Tensor x = Seeded.random(r, shape, DType.F64);
        long[] idx = new long[1 + r.nextInt(5)];
        for (int i = 0; i < idx.length; i++) idx[i] = r.nextInt((int) shape[dim]);
        Tensor y = x.indexSelect(dim, Tensor.of(idx, idx.length));
        long[] ys = shape.clone();
        ys[dim] = idx.length;
        assertArrayEquals(ys, y.dims());
        for (long[] i : Oracle.indices(ys)) {
            long[] s = i.clone();
            s[dim] = idx[(int) i[dim]];
            assertEquals(x.get(s), y.get(i), 0.0);
        }
    }
}
