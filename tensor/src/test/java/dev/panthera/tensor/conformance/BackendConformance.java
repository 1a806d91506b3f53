package dev.panthera.tensor.conformance;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.UnaryOp;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Runs the same tensor-level ops on a backend under test and on the reference backend and compares the results.
 * Reused by other modules through panthera-tensor's test jar (its own package, so it is visible from modules that
 * patch tests into their named module): a backend's test calls {@link #compareAll} with its backend and a tolerance.
 * Inputs cover random shapes (1, primes, tails) and random layouts.
 */
public final class BackendConformance {
    private BackendConformance() {}

    /**
     * One op applied to inputs; {@code conditionedAtol} is an extra absolute tolerance for ops whose float32 result is
     * ill-conditioned by definition (0 for the rest).
     */
    public record Case(String name, int arity, Function<Tensor[], Tensor> op, double conditionedAtol) {
        Case(String name, int arity, Function<Tensor[], Tensor> op) {
            this(name, arity, op, 0);
        }
    }

    /** The cases every backend must agree on. */
    public static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("add broadcast", 2, x -> x[0].add(x[1].select(0, 0))));
        c.add(new Case("sub", 2, x -> x[0].sub(x[1])));
        c.add(new Case("mul", 2, x -> x[0].mul(x[1])));
        c.add(new Case("div", 2, x -> x[0].div(x[1].abs().add(0.5))));
        c.add(new Case("pow", 2, x -> x[0].abs().add(0.1).pow(x[1])));
        c.add(new Case("maximum", 2, x -> x[0].maximum(x[1])));
        c.add(new Case("lt", 2, x -> x[0].lt(x[1]).to(x[0].dtype())));
        for (UnaryOp op : UnaryOp.values()) {
            c.add(new Case(op.name(), 1, x -> switch (op) {
                case NEG -> x[0].neg();
                case EXP -> x[0].exp();
                case LOG -> x[0].abs().add(0.1).log();
                case SQRT -> x[0].abs().sqrt();
                case RSQRT -> x[0].abs().add(0.1).rsqrt();
                case ABS -> x[0].abs();
                case TANH -> x[0].tanh();
                case SIGMOID -> x[0].sigmoid();
                case RELU -> x[0].relu();
                case GELU_ERF -> x[0].gelu();
                case GELU_TANH -> x[0].geluTanh();
                case SILU -> x[0].silu();
                case SIGN -> x[0].sign();
            }));
        }
        c.add(new Case("sum last", 1, x -> x[0].sum(new int[] {-1}, true)));
        c.add(new Case("sum first", 1, x -> x[0].sum(new int[] {0}, false)));
        c.add(new Case("mean all", 1, x -> x[0].mean()));
        c.add(new Case("max last", 1, x -> x[0].max(-1)));
        c.add(new Case("min first", 1, x -> x[0].min(0)));
        c.add(new Case("argmax last", 1, x -> x[0].argmax(-1, false).to(DType.F64)));
        c.add(new Case("var last", 1, x -> x[0].var(new int[] {-1}, 1, true)));
        c.add(new Case("softmax last", 1, x -> x[0].softmax(-1)));
        c.add(new Case("softmax first", 1, x -> x[0].softmax(0)));
        c.add(new Case("logSoftmax last", 1, x -> x[0].logSoftmax(-1)));
        c.add(new Case("logSoftmax first", 1, x -> x[0].logSoftmax(0)));
        c.add(new Case("softmax second", 1, x -> x[0].softmax(1)));
        // layer norm subtracts the row mean: a float32 mean carries an error of about ε·max|x| (6e-8 · 5 for normal
        // data),
        // and dividing by sqrt(var + eps) ≥ sqrt(1e-5) ≈ 3.2e-3 amplifies it to ≈ 1e-4 on rows whose values nearly
        // agree
        // (PyTorch's float32 layer_norm behaves the same); the float64 reference has no such error.
        c.add(new Case("layerNorm", 1, x -> x[0].layerNorm(null, null, 1e-5), 1e-4));
        c.add(new Case("rmsNorm", 1, x -> x[0].rmsNorm(null, 1e-6)));
        c.add(new Case("matmul xxᵀ", 1, x -> x[0].matmul(x[0].transpose(-1, -2))));
        c.add(new Case("matmul xᵀx", 1, x -> x[0].transpose(-1, -2).matmul(x[0])));
        // torch.matmul broadcasting: [s0, ..., M, K] @ [..., K, M], the second operand's batch shared across dim 0
        c.add(new Case(
                "matmul broadcast batch",
                1,
                x -> x[0].rank() < 3
                        ? x[0].matmul(x[0].transpose(-1, -2))
                        : x[0].matmul(x[0].select(0, 0).transpose(-1, -2))));
        // F32 activations × 16-bit weights: the weight reaches the backend in its own dtype (Backend#matmul)
        c.add(new Case(
                "matmul x·bf16(xᵀ)", 1, x -> x[0].matmul(x[0].transpose(-1, -2).to(DType.BF16))));
        c.add(new Case(
                "matmul x·f16(xᵀ)", 1, x -> x[0].matmul(x[0].transpose(-1, -2).to(DType.F16))));
        c.add(new Case("contiguous", 1, x -> x[0].contiguous()));
        c.add(new Case("to F16 and back", 1, x -> x[0].to(DType.F16).to(x[0].dtype())));
        c.add(new Case("to BF16 and back", 1, x -> x[0].to(DType.BF16).to(x[0].dtype())));
        c.add(new Case("cat", 2, x -> Tensor.cat(List.of(x[0], x[1]), 0)));
        c.add(new Case("where", 2, x -> Tensor.where(x[0].gt(0), x[0], x[1])));
        c.add(new Case("indexSelect", 1, x -> x[0].indexSelect(0, Tensor.of(new long[] {0, 0}, 2))));
        c.add(new Case("argmin last", 1, x -> x[0].argmin(-1, false).to(DType.F64)));
        c.add(new Case("argmin first", 1, x -> x[0].argmin(0, true).to(DType.F64)));
        c.add(new Case("sum first and last", 1, x -> x[0].sum(new int[] {0, -1}, false)));
        c.add(new Case("mean first and last", 1, x -> x[0].mean(new int[] {0, -1}, true)));
        c.add(new Case("max all", 1, x -> x[0].max()));
        c.add(new Case("min all", 1, x -> x[0].min()));
        c.add(new Case("gt", 2, x -> x[0].gt(x[1]).to(x[0].dtype())));
        c.add(new Case("le broadcast", 2, x -> x[0].le(x[1].select(0, 0)).to(x[0].dtype())));
        c.add(new Case("eq", 2, x -> x[0].eq(x[0].maximum(x[1])).to(x[0].dtype())));
        c.add(new Case(
                "ne scalar", 1, x -> x[0].ne(x[0].select(-1, 0).unsqueeze(-1)).to(x[0].dtype())));
        c.add(new Case(
                "where broadcast",
                2,
                x -> Tensor.where(
                        x[1].select(0, 0).lt(0), x[0], x[1].select(-1, 0).unsqueeze(-1))));
        c.add(new Case(
                "gather last", 1, x -> x[0].gather(-1, lastDimIndex(x[0].dims(), x[0].size(-1) + 2, x[0].size(-1)))));
        c.add(new Case(
                "scatterAdd last",
                2,
                x -> x[0].scatterAdd(-1, lastDimIndex(x[1].dims(), x[1].size(-1), x[0].size(-1)), x[1])));
        c.add(new Case("indexAdd first", 2, x -> x[0].indexAdd(0, rowIndex(x[1].size(0), x[0].size(0)), x[1])));
        c.add(new Case(
                "full", 1, x -> Tensor.full(x[0].dtype(), 2.5, x[0].dims()).add(x[0])));
        c.add(new Case(
                "full I32",
                1,
                x -> Tensor.full(DType.I32, 7, x[0].dims()).to(x[0].dtype()).sub(x[0])));
        c.add(new Case("fill_ view", 1, x -> {
            Tensor y = x[0].mul(1.0);
            y.slice(-1, 1, y.size(-1), 1).fill_(-0.75); // rows with a dense last dim
            y.slice(0, 0, y.size(0), 2).fill_(0); // stepped leading dim
            return y;
        }));
        return c;
    }

    /**
     * An I64 index of {@code shape} with its last dim resized to {@code last}, with values below {@code bound} and
     * repeats: element k of row r is (7·k + r) mod bound.
     */
    private static Tensor lastDimIndex(long[] shape, long last, long bound) {
        long[] s = shape.clone();
        s[s.length - 1] = last;
        long n = 1;
        for (long d : s) n *= d;
        long[] v = new long[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = ((i % last) * 7 + i / last) % bound;
        return Tensor.of(v, s);
    }

    /** {@code count} row indices below {@code bound} with repeats (k/2 mod bound), as a 1-D I64 tensor. */
    private static Tensor rowIndex(long count, long bound) {
        long[] v = new long[Math.toIntExact(count)];
        for (int i = 0; i < v.length; i++) v[i] = (i / 2) % bound;
        return Tensor.of(v, count);
    }

    /**
     * What the inputs hold besides normal values of rank 2..4 in the layouts of {@link #randomView}.
     *
     * @param specials   NaN, ±Inf, −0.0 and subnormals (of the dtype) mixed into the data
     * @param broadcasts views with a stride-0 (expanded) dim among the layouts
     * @param edgeShapes rank 0 and shapes with a size-0 dim among the shapes; where the reference throws for such
     *                   a shape, the backend must throw the same exception class
     */
    public record Inputs(boolean specials, boolean broadcasts, boolean edgeShapes) {
        /** Normal values, no broadcast views, no edge shapes. */
        public static final Inputs NORMAL = new Inputs(false, false, false);
        /** Everything. */
        public static final Inputs ALL = new Inputs(true, true, true);
    }

    /**
     * Compares {@code backend} with the reference on every case over {@code tries} random inputs of rank 2..4;
     * throws AssertionError naming the case, shape, layout and element on the first disagreement beyond
     * {@code rtol}·|expected| + {@code atol}.
     */
    public static void compareAll(Backend backend, long seed, int tries, DType dtype, double rtol, double atol) {
        compareAll(backend, seed, tries, dtype, rtol, atol, Inputs.NORMAL);
    }

    /** {@link #compareAll(Backend, long, int, DType, double, double)} over the given kind of inputs. */
    public static void compareAll(
            Backend backend, long seed, int tries, DType dtype, double rtol, double atol, Inputs inputs) {
        Random r = new Random(seed);
        for (int t = 0; t < tries; t++) {
            long[] shape = inputs.edgeShapes() && r.nextInt(4) == 0 ? edgeShape(r) : randomShape(r);
            for (Case c : cases()) {
                Tensor[] in = new Tensor[c.arity()];
                for (int k = 0; k < in.length; k++) in[k] = randomView(r, shape, dtype, inputs);
                double[] want;
                try {
                    want = run(ReferenceBackend.INSTANCE, c, in);
                } catch (RuntimeException refused) {
                    if (!inputs.edgeShapes()) throw refused;
                    RuntimeException e = null;
                    try {
                        run(backend, c, in);
                    } catch (RuntimeException thrown) {
                        e = thrown;
                    }
                    if (e == null || e.getClass() != refused.getClass())
                        throw new AssertionError(backend.name() + " vs reference, case '" + c.name() + "' on "
                                + Arrays.toString(shape) + ": reference threw " + refused + ", backend " + e);
                    continue;
                }
                double[] got = run(backend, c, in);
                if (want.length != got.length)
                    throw new AssertionError(c.name() + ": " + got.length + " values, reference " + want.length);
                for (int i = 0; i < want.length; i++) {
                    double e = want[i], g = got[i];
                    double at = dtype == DType.F64 ? atol : Math.max(atol, c.conditionedAtol());
                    boolean ok = (Double.isNaN(e) && Double.isNaN(g))
                            || e == g
                            || Math.abs(e - g) <= at + rtol * Math.abs(e);
                    if (!ok) {
                        throw new AssertionError(backend.name() + " vs reference, case '" + c.name() + "' on "
                                + Arrays.toString(shape) + " layouts " + in[0].layout() + ": element " + i
                                + " expected " + e + " but was " + g);
                    }
                }
            }
        }
    }

    private static final long[] SIZES = {1, 2, 3, 5, 7, 8, 9, 13, 16, 17};

    /** Rank 0, or rank 2..4 with one size-0 dim. */
    private static long[] edgeShape(Random r) {
        if (r.nextBoolean()) return new long[0];
        long[] s = randomShape(r);
        s[r.nextInt(s.length)] = 0;
        return s;
    }

    private static long[] randomShape(Random r) {
        long[] s = new long[2 + r.nextInt(3)];
        for (int i = 0; i < s.length; i++) s[i] = SIZES[r.nextInt(SIZES.length)];
        return s;
    }

    /** Normal values of {@code shape} as a contiguous tensor, a permuted view, a stepped slice, or an offset narrow. */
    public static Tensor randomView(Random r, long[] shape, DType dtype) {
        return randomView(r, shape, dtype, Inputs.NORMAL);
    }

    /**
     * Values of {@code shape} (normal, with specials mixed in when asked) as a contiguous tensor, a permuted view, a
     * stepped slice, an offset narrow, or (when asked) one dim broadcast from size 1.
     */
    public static Tensor randomView(Random r, long[] shape, DType dtype, Inputs inputs) {
        java.util.SplittableRandom g = new java.util.SplittableRandom(r.nextLong());
        if (shape.length == 0) return values(g, shape, dtype, inputs.specials());
        int d = r.nextInt(shape.length);
        int kind = r.nextInt(inputs.broadcasts() ? 5 : 4);
        if (kind == 4) {
            long[] one = shape.clone();
            one[d] = 1;
            return values(g, one, dtype, inputs.specials()).expand(shape);
        }
        if (inputs.specials()) {
            long[] base = shape.clone();
            if (kind == 1) {
                base[0] = shape[shape.length - 1];
                base[shape.length - 1] = shape[0];
                return values(g, base, dtype, true).transpose(0, shape.length - 1);
            }
            if (kind == 2) {
                base[d] *= 2;
                return values(g, base, dtype, true).slice(d, 1, Math.max(1, base[d]), 2);
            }
            if (kind == 3) {
                base[d] += 3;
                return values(g, base, dtype, true).narrow(d, 2, shape[d]);
            }
            return values(g, base, dtype, true);
        }
        switch (kind) {
            case 1 -> {
                long[] t = shape.clone();
                t[0] = shape[shape.length - 1];
                t[shape.length - 1] = shape[0];
                return Tensor.randn(g, t).to(dtype).transpose(0, shape.length - 1);
            }
            case 2 -> {
                long[] big = shape.clone();
                big[d] *= 2;
                return Tensor.randn(g, big).to(dtype).slice(d, 1, big[d], 2);
            }
            case 3 -> {
                long[] big = shape.clone();
                big[d] += 3;
                return Tensor.randn(g, big).to(dtype).narrow(d, 2, shape[d]);
            }
            default -> {
                return Tensor.randn(g, shape).to(dtype);
            }
        }
    }

    /**
     * Normal values, and with {@code specials} about one element in eight replaced by NaN, ±Inf, ±0.0 or a subnormal
     * of the dtype (F16's subnormals are far above F32's).
     */
    private static Tensor values(java.util.SplittableRandom g, long[] shape, DType dtype, boolean specials) {
        long n = 1;
        for (long s : shape) n *= s;
        double[] v = new double[Math.toIntExact(n)];
        double tiny = dtype == DType.F16 ? 0x1p-20 : dtype == DType.F64 ? 0x1p-1030 : 0x1p-130;
        double[] special = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 0.0, tiny, -3 * tiny};
        for (int i = 0; i < v.length; i++) {
            v[i] = specials && g.nextInt(8) == 0 ? special[g.nextInt(special.length)] : g.nextGaussian();
        }
        return Tensor.of(v, shape).to(dtype);
    }

    private static double[] run(Backend b, Case c, Tensor[] in) {
        try (AutoCloseable use = Backends.use(b)) {
            return c.op().apply(in).toDoubleArray();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
