package dev.panthera.testing.conformance;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.UnaryOp;
import java.util.ArrayList;
import java.util.List;

/**
 * The tensor-level cases every backend must agree with the reference backend on: elementwise ops (every
 * {@link UnaryOp}), broadcasting, comparisons, reductions over each end, softmax and norms, matmul (transposed,
 * batched, with 16-bit weights), conversions, cat, where, the index ops and fills of views. Each takes one or two
 * inputs of the same shape (rank 2..4 in the suite; the cases accept rank 0 and size-0 dims and then either compute
 * or throw).
 */
public final class ConformanceCases {
    private ConformanceCases() {}

    /** The cases every backend must agree on. */
    public static List<ConformanceCase> all() {
        List<ConformanceCase> c = new ArrayList<>();
        c.add(new ConformanceCase("add broadcast", 2, x -> x[0].add(x[1].select(0, 0))));
        c.add(new ConformanceCase("sub", 2, x -> x[0].sub(x[1])));
        c.add(new ConformanceCase("mul", 2, x -> x[0].mul(x[1])));
        c.add(new ConformanceCase("div", 2, x -> x[0].div(x[1].abs().add(0.5))));
        c.add(new ConformanceCase("pow", 2, x -> x[0].abs().add(0.1).pow(x[1])));
        c.add(new ConformanceCase("maximum", 2, x -> x[0].maximum(x[1])));
        c.add(new ConformanceCase("lt", 2, x -> x[0].lt(x[1]).to(x[0].dtype())));
        for (UnaryOp op : UnaryOp.values()) {
            c.add(new ConformanceCase(op.name(), 1, x -> switch (op) {
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
        c.add(ConformanceCase.summing("sum last", 1, x -> x[0].sum(new int[] {-1}, true), d -> d[d.length - 1]));
        c.add(ConformanceCase.summing("sum first", 1, x -> x[0].sum(new int[] {0}, false), d -> d[0]));
        c.add(ConformanceCase.summing("mean all", 1, x -> x[0].mean(), ConformanceCases::count));
        c.add(new ConformanceCase("max last", 1, x -> x[0].max(-1)));
        c.add(new ConformanceCase("min first", 1, x -> x[0].min(0)));
        c.add(new ConformanceCase("argmax last", 1, x -> x[0].argmax(-1, false).to(DType.F64)));
        c.add(new ConformanceCase("var last", 1, x -> x[0].var(new int[] {-1}, 1, true)));
        c.add(new ConformanceCase("softmax last", 1, x -> x[0].softmax(-1)));
        c.add(new ConformanceCase("softmax first", 1, x -> x[0].softmax(0)));
        c.add(new ConformanceCase("logSoftmax last", 1, x -> x[0].logSoftmax(-1)));
        c.add(new ConformanceCase("logSoftmax first", 1, x -> x[0].logSoftmax(0)));
        c.add(new ConformanceCase("softmax second", 1, x -> x[0].softmax(1)));
        // layer norm subtracts the row mean: a float32 mean carries an error of about ε·max|x| (6e-8 · 5 for normal
        // data),
        // and dividing by sqrt(var + eps) ≥ sqrt(1e-5) ≈ 3.2e-3 amplifies it to ≈ 1e-4 on rows whose values nearly
        // agree
        // (PyTorch's float32 layer_norm behaves the same); the float64 reference has no such error.
        c.add(new ConformanceCase("layerNorm", 1, x -> x[0].layerNorm(null, null, 1e-5), 1e-4));
        c.add(new ConformanceCase("rmsNorm", 1, x -> x[0].rmsNorm(null, 1e-6)));
        c.add(ConformanceCase.summing("matmul xxᵀ", 1, x -> x[0].matmul(x[0].transpose(-1, -2)), d -> d[d.length - 1]));
        c.add(ConformanceCase.summing(
                "matmul xᵀx", 1, x -> x[0].transpose(-1, -2).matmul(x[0]), d -> d[d.length - 2]));
        // torch.matmul broadcasting: [s0, ..., M, K] @ [..., K, M], the second operand's batch shared across dim 0
        c.add(ConformanceCase.summing(
                "matmul broadcast batch",
                1,
                x -> x[0].rank() < 3
                        ? x[0].matmul(x[0].transpose(-1, -2))
                        : x[0].matmul(x[0].select(0, 0).transpose(-1, -2)),
                d -> d[d.length - 1]));
        // F32 activations × 16-bit weights: the weight reaches the backend in its own dtype (Backend#matmul)
        c.add(ConformanceCase.summing(
                "matmul x·bf16(xᵀ)", 1, x -> x[0].matmul(x[0].transpose(-1, -2).to(DType.BF16)), d -> d[d.length - 1]));
        c.add(ConformanceCase.summing(
                "matmul x·f16(xᵀ)", 1, x -> x[0].matmul(x[0].transpose(-1, -2).to(DType.F16)), d -> d[d.length - 1]));
        c.add(new ConformanceCase("contiguous", 1, x -> x[0].contiguous()));
        c.add(new ConformanceCase("to F16 and back", 1, x -> x[0].to(DType.F16).to(x[0].dtype())));
        c.add(new ConformanceCase(
                "to BF16 and back", 1, x -> x[0].to(DType.BF16).to(x[0].dtype())));
        c.add(new ConformanceCase("cat", 2, x -> Tensor.cat(List.of(x[0], x[1]), 0)));
        c.add(new ConformanceCase("where", 2, x -> Tensor.where(x[0].gt(0), x[0], x[1])));
        c.add(new ConformanceCase("indexSelect", 1, x -> x[0].indexSelect(0, Tensor.of(new long[] {0, 0}, 2))));
        c.add(new ConformanceCase("argmin last", 1, x -> x[0].argmin(-1, false).to(DType.F64)));
        c.add(new ConformanceCase("argmin first", 1, x -> x[0].argmin(0, true).to(DType.F64)));
        c.add(ConformanceCase.summing(
                "sum first and last", 1, x -> x[0].sum(new int[] {0, -1}, false), d -> d[0] * d[d.length - 1]));
        c.add(ConformanceCase.summing(
                "mean first and last", 1, x -> x[0].mean(new int[] {0, -1}, true), d -> d[0] * d[d.length - 1]));
        c.add(new ConformanceCase("max all", 1, x -> x[0].max()));
        c.add(new ConformanceCase("min all", 1, x -> x[0].min()));
        c.add(new ConformanceCase("gt", 2, x -> x[0].gt(x[1]).to(x[0].dtype())));
        c.add(new ConformanceCase(
                "le broadcast", 2, x -> x[0].le(x[1].select(0, 0)).to(x[0].dtype())));
        c.add(new ConformanceCase("eq", 2, x -> x[0].eq(x[0].maximum(x[1])).to(x[0].dtype())));
        c.add(new ConformanceCase(
                "ne scalar", 1, x -> x[0].ne(x[0].select(-1, 0).unsqueeze(-1)).to(x[0].dtype())));
        c.add(new ConformanceCase(
                "where broadcast",
                2,
                x -> Tensor.where(
                        x[1].select(0, 0).lt(0), x[0], x[1].select(-1, 0).unsqueeze(-1))));
        c.add(new ConformanceCase(
                "gather last", 1, x -> x[0].gather(-1, lastDimIndex(x[0].dims(), x[0].size(-1) + 2, x[0].size(-1)))));
        c.add(new ConformanceCase(
                "scatterAdd last",
                2,
                x -> x[0].scatterAdd(-1, lastDimIndex(x[1].dims(), x[1].size(-1), x[0].size(-1)), x[1])));
        c.add(new ConformanceCase(
                "indexAdd first", 2, x -> x[0].indexAdd(0, rowIndex(x[1].size(0), x[0].size(0)), x[1])));
        c.add(new ConformanceCase(
                "full", 1, x -> Tensor.full(x[0].dtype(), 2.5, x[0].dims()).add(x[0])));
        c.add(new ConformanceCase(
                "full I32",
                1,
                x -> Tensor.full(DType.I32, 7, x[0].dims()).to(x[0].dtype()).sub(x[0])));
        c.add(new ConformanceCase("fill_ view", 1, x -> {
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

    /** The number of elements of a tensor of {@code dims}. */
    private static long count(long[] dims) {
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }
}
