package dev.panthera.simd;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.TensorSpec;
import java.util.function.Supplier;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The arithmetic binary ops ({@link BinaryRowLoop}) and softmax / log-softmax over the last dimension, whose rows
 * split over GEMM's threads when a call holds enough work: half the tries draw shapes large enough to split ([331 or
 * 700, 1537 or 1601]: 331 · 1537 · 4 flops is just above the split threshold), the rest 0, 1, primes and tails of the vector width; the first operand is dense or a view
 * (transposed, stepped, offset), the second full, a broadcast row, a broadcast column or a scalar.
 *
 * <p>Binary ops: ADD, SUB, MUL, DIV, MAXIMUM and MINIMUM give the same bits on one and two threads and equal the
 * reference backend exactly: each element is one IEEE operation on the same inputs, and the reference computes in
 * float64 and rounds to F32, which for these operations on F32 inputs gives the correctly rounded F32 result (float64
 * carries more than 2·24 + 2 bits). POW goes through the Vector API's math library, whose intrinsic and Java fallback
 * (the kernel before and after JIT compilation) may differ in the last ulp, so both thread counts are held to the
 * reference within 2e-7 relative: the library's 1 ulp plus the reference's rounding, 1.5 ulp, at most 1.5·2⁻²³
 * relative. A row read or written at another row's offset is far outside either check.
 *
 * <p>Softmax: both thread counts agree with the reference's float64 kernel within the conformance tolerance (2e-5
 * relative + 2e-6 absolute, as {@link RowLoopTest} uses for the row kernels), plus, for log-softmax, two F32 ulps of
 * the row's shift max + log Σ exp (x − max), which the kernel rounds to F32 before subtracting it from each logit: an
 * output near 0 from logits near 30 carries that rounding whole. And the two thread counts give the same bits: each
 * row is the same code on either thread, and its exp and row sums give the same bits interpreted and compiled.
 */
class TrainingRowSplitTest {
    private static final long[] ROWS = {0, 1, 2, 7, 31, 97}, COLS = {1, 3, 16, 17, 31, 384};
    private static final long[] BIG_ROWS = {331, 700}, BIG_COLS = {1537, 1601};

    private static double[] on(Backend be, int threads, Supplier<Tensor> op) {
        try (var use = Backends.use(be);
                var gemm = GemmConfig.of(threads).use()) {
            return op.get().toDoubleArray();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A [rows, cols] shape: small (0, 1, primes, vector tails) or large enough that the rows split over threads. */
    @Provide
    Arbitrary<long[]> shapes() {
        return Arbitraries.of(false, true).flatMap(big -> {
            long[] rows = big ? BIG_ROWS : ROWS, cols = big ? BIG_COLS : COLS;
            return Combinators.combine(Draws.oneOf(rows), Draws.oneOf(cols)).as((r, c) -> new long[] {r, c});
        });
    }

    /** b's shape for each broadcast form: same shape, a row, a column, a scalar. */
    private static long[] bShape(int form, long rows, long n) {
        return switch (form) {
            case 0 -> new long[] {rows, n};
            case 1 -> new long[] {n};
            case 2 -> new long[] {rows, 1};
            default -> new long[] {1};
        };
    }

    record BinaryCase(long rows, long n, TensorSpec a, int form, TensorSpec b, int kind) {}

    @Provide
    Arbitrary<BinaryCase> binaryCases() {
        return shapes().flatMap(s -> Combinators.combine(
                        Draws.views(DType.F32, s),
                        Arbitraries.integers()
                                .between(0, 3)
                                .flatMap(form -> Draws.contiguous(DType.F32, bShape(form, s[0], s[1]))
                                        .map(b -> java.util.Map.entry(form, b))),
                        Arbitraries.integers().between(0, 6))
                .as((a, fb, kind) -> new BinaryCase(s[0], s[1], a, fb.getKey(), fb.getValue(), kind)));
    }

    @Property(tries = 24)
    void binaryRowsGiveTheSameBitsOnOneAndTwoThreadsAndMatchTheReference(@ForAll("binaryCases") BinaryCase c) {
        long rows = c.rows(), n = c.n();
        Tensor a = c.a().tensor();
        int form = c.form();
        Tensor b = c.b().tensor();
        String[] names = {"add", "sub", "mul", "div", "maximum", "minimum", "pow"};
        int kind = c.kind();
        // pow of a negative base is NaN in both; its absolute value keeps the comparison about the split
        Tensor base = kind == 6 ? a.abs() : a;
        Supplier<Tensor> op = () -> switch (kind) {
            case 0 -> base.add(b);
            case 1 -> base.sub(b);
            case 2 -> base.mul(b);
            case 3 -> base.div(b);
            case 4 -> base.maximum(b);
            case 5 -> base.minimum(b);
            default -> base.pow(b);
        };
        SimdBackend simd = new SimdBackend();
        double[] one = on(simd, 1, op), two = on(simd, 2, op), want = on(ReferenceBackend.INSTANCE, 1, op);
        String what = names[kind] + " [" + rows + ", " + n + "] with b of form " + form;
        for (int i = 0; i < want.length; i++) {
            if (kind != 6 && Double.doubleToLongBits(one[i]) != Double.doubleToLongBits(two[i]))
                throw new AssertionError(
                        what + ": element " + i + " is " + one[i] + " on one thread, " + two[i] + " on two");
            for (double[] got : new double[][] {one, two}) {
                boolean ok = Double.doubleToLongBits(want[i]) == Double.doubleToLongBits(got[i])
                        || (kind == 6 && Math.abs(want[i] - got[i]) <= 2e-7 * Math.abs(want[i]));
                if (!ok)
                    throw new AssertionError(what + ": element " + i + " expected " + want[i] + " but was " + got[i]
                            + (got == one ? " (one thread)" : " (two threads)"));
            }
        }
    }

    record SoftmaxCase(long[] shape, TensorSpec x, int scale, boolean log) {}

    @Provide
    Arbitrary<SoftmaxCase> softmaxCases() {
        return shapes().flatMap(s -> Combinators.combine(
                        Draws.views(DType.F32, s), Arbitraries.integers().between(1, 8), Arbitraries.of(false, true))
                .as((x, scale, log) -> new SoftmaxCase(s, x, scale, log)));
    }

    @Property(tries = 16)
    void softmaxRowsAgreeWithTheReferenceOnOneAndTwoThreads(@ForAll("softmaxCases") SoftmaxCase c) {
        long[] s = c.shape();
        Tensor x = c.x().tensor();
        Tensor scaled = x.mul(c.scale()); // logits spread over a few units, as a model's are
        boolean log = c.log();
        Supplier<Tensor> op = () -> log ? scaled.logSoftmax(-1) : scaled.softmax(-1);
        SimdBackend simd = new SimdBackend();
        double[] one = on(simd, 1, op), two = on(simd, 2, op), want = on(ReferenceBackend.INSTANCE, 1, op);
        String what = (log ? "logSoftmax" : "softmax") + " [" + s[0] + ", " + s[1] + "]";
        double[] in = scaled.toDoubleArray();
        for (int i = 0; i < want.length; i++) {
            if (Double.doubleToLongBits(one[i]) != Double.doubleToLongBits(two[i]))
                throw new AssertionError(
                        what + ": element " + i + " is " + one[i] + " on one thread, " + two[i] + " on two");
            // log-softmax: x - want is the row's shift (exactly, in the reference's float64)
            double shift = log ? 2 * Math.ulp((float) Math.abs(in[i] - want[i])) : 0;
            for (double[] got : new double[][] {one, two}) {
                if (!(Math.abs(want[i] - got[i]) <= 2e-6 + 2e-5 * Math.abs(want[i]) + shift))
                    throw new AssertionError(what + ": element " + i + " expected " + want[i] + " but was " + got[i]
                            + (got == one ? " (one thread)" : " (two threads)"));
            }
        }
    }
}
