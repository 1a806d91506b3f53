package dev.panthera.simd;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.Backend;
import dev.panthera.tensor.spi.ReferenceBackend;
import java.util.Random;
import java.util.function.Function;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Row-wise kernels (GELU, tanh, exp, layer norm, RMS norm) on shapes large enough for {@link RowLoop} to split the
 * rows over two GEMM threads ([rows, n] up to 1031 × 1537, the BERT intermediate shape among them) as well as 0, 1,
 * primes and views (transposed, stepped, offset; when the innermost stride is not 1 the strided path runs instead).
 * Both the one-thread and the two-thread result agree with the reference backend's float64 kernels within the
 * conformance tolerance (2e-5 relative + 2e-6 absolute, as SimdBackendConformanceTest derives it for these kernels); a
 * row computed at another row's offset, or left unwritten, is far outside it. The two results are not compared bit for
 * bit: the same kernel may run JIT-compiled on one thread and not yet on the other, and the Vector API's fallback and
 * its intrinsics differ in the last ulp (EXP and TANH, and the lane order of reduceLanes(ADD) in the norms' row sums).
 */
class RowLoopTest {
    private static final long[] ROWS = {0, 1, 2, 7, 31, 700, 1031}, COLS = {1, 3, 16, 17, 384, 1537};

    private static double[] on(Backend be, int threads, Tensor x, Function<Tensor, Tensor> op) {
        try (var use = Backends.use(be);
                var gemm = GemmConfig.of(threads).use()) {
            return op.apply(x).toDoubleArray();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Property(tries = 30)
    void splitRowsAgreeWithOneThreadAndTheReference(@ForAll long seed) {
        Random r = new Random(seed);
        long rows = ROWS[r.nextInt(ROWS.length)], n = COLS[r.nextInt(COLS.length)];
        Tensor x = r.nextBoolean()
                ? Tensor.randn(Shape.of(rows, n), r.nextLong())
                : SeededViews.randomView(r, new long[] {rows, n}, DType.F32);
        Tensor w = Tensor.randn(Shape.of(n), r.nextLong()), b = Tensor.randn(Shape.of(n), r.nextLong());
        int kind = r.nextInt(5);
        String name = new String[] {"gelu", "tanh", "exp", "layerNorm", "rmsNorm"}[kind];
        Function<Tensor, Tensor> op = switch (kind) {
            case 0 -> Tensor::gelu;
            case 1 -> Tensor::tanh;
            case 2 -> Tensor::exp;
            case 3 -> t -> t.layerNorm(w, b, 1e-12);
            default -> t -> t.rmsNorm(w, 1e-6);
        };
        SimdBackend simd = new SimdBackend();
        double[] one = on(simd, 1, x, op), two = on(simd, 2, x, op), want = on(ReferenceBackend.INSTANCE, 1, x, op);
        String what = name + " [" + rows + ", " + n + "]";
        for (int i = 0; i < want.length; i++) {
            for (double[] got : new double[][] {one, two}) {
                if (!(Math.abs(want[i] - got[i]) <= 2e-6 + 2e-5 * Math.abs(want[i])))
                    throw new AssertionError(what + ": element " + i + " expected " + want[i] + " but was " + got[i]
                            + (got == one ? " (one thread)" : " (two threads)"));
            }
        }
    }
}
