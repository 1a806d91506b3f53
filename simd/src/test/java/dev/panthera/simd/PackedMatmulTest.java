package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.PackedStorage;
import dev.panthera.tensor.spi.ReferenceBackend;
import dev.panthera.testing.TensorSpec;
import java.util.Arrays;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * {@code x.matmul(w.packedForMatmul())} against {@code x.matmul(w)} on the SIMD backend, bit for bit: for M ≥ 8
 * the packed path sums the same products in the same order (same K blocking, A packing and micro-kernel with lane-wise
 * FMAs only; only B's packing moved to {@code packedForMatmul}); for M below 8 both read the weight's values through
 * the skinny path (its lane sums in LaneSum's fixed order), also checked against a float64 loop. Shapes include 1, primes and tails that are not multiples of MR (6), NR (16 or 32),
 * KC (256 or 1024) or NC; weights F32, BF16 and F16, contiguous, transposed (a Linear's [out, in] used as [in, out]),
 * stepped or offset views; activations likewise; one and two threads. The unpacked SIMD matmul is itself tested
 * against the reference backend and float64 loops (SimdBackendConformanceTest, MixedMatmulSimdTest).
 */
class PackedMatmulTest {
    private static final int[] M = {1, 2, 7, 8, 9, 13, 31, 97, 128};
    private static final int[] SIZES = {1, 2, 3, 5, 16, 17, 31, 32, 33, 61, 64, 97, 127, 257, 263};
    private static final DType[] WEIGHTS = {DType.F32, DType.BF16, DType.F16};

    record Case(int m, int k, int n, DType wt, int threads, TensorSpec x, TensorSpec w) {}

    /** Sizes up to a little past one KC block and one NC block of the widest vectors now and then. */
    private static Arbitrary<Integer> sizes() {
        return Arbitraries.frequencyOf(
                Tuple.of(8, Arbitraries.of(Arrays.stream(SIZES).boxed().toList())),
                Tuple.of(1, Arbitraries.integers().between(PackedGemm.KC + 1, PackedGemm.KC + 40)),
                Tuple.of(1, Arbitraries.integers().between(PackedGemm.NC, PackedGemm.NC + 2 * PackedGemm.NR - 1)));
    }

    @Provide
    Arbitrary<Case> cases() {
        return Combinators.combine(
                        Arbitraries.of(Arrays.stream(M).boxed().toList()),
                        sizes(),
                        sizes(),
                        Arbitraries.of(WEIGHTS),
                        Arbitraries.integers().between(1, 2))
                .as((m, k, n, wt, threads) ->
                        new int[] {m, k, n, java.util.List.of(WEIGHTS).indexOf(wt), threads})
                .flatMap(c -> Combinators.combine(
                                Draws.views(DType.F32, c[0], c[1]), Draws.views(WEIGHTS[c[3]], c[1], c[2]))
                        .as((x, w) -> new Case(c[0], c[1], c[2], WEIGHTS[c[3]], c[4], x, w)));
    }

    @Property(tries = 40)
    void packedEqualsUnpackedBitForBit(@ForAll("cases") Case c) {
        int m = c.m(), k = c.k(), n = c.n();
        DType wt = c.wt();
        int threads = c.threads();
        Tensor x = c.x().tensor();
        Tensor w = c.w().tensor();
        String what = "m=" + m + " k=" + k + " n=" + n + " " + wt + " w " + w.layout() + " x " + x.layout()
                + " threads " + threads;
        try (var use = Backends.use(new SimdBackend());
                var cfg = GemmConfig.of(threads).use()) {
            float[] plain = x.matmul(w).toFloatArray();
            Tensor p = w.packedForMatmul();
            assertInstanceOf(PackedPanels.class, ((PackedStorage) p.storage()).packed(), what);
            long before = PackedSgemm.CALLS.sum();
            float[] packed = x.matmul(p).toFloatArray();
            assertEquals(m >= Sgemm.SKINNY_M ? 1 : 0, PackedSgemm.CALLS.sum() - before, "packed path ran: " + what);
            // below SKINNY_M both read the weight's values through the same skinny GEMV path: the same bits too,
            // and each is also checked against a float64 loop
            assertBits(plain, packed, what);
            if (m < Sgemm.SKINNY_M) {
                float[] xv = x.contiguous().toFloatArray(),
                        wv = w.to(DType.F32).contiguous().toFloatArray();
                assertNearFloat64(xv, wv, m, k, n, plain, what + " unpacked");
                assertNearFloat64(xv, wv, m, k, n, packed, what + " packed");
            }
        }
    }

    /**
     * An F32 sum of K products lies within K·2⁻²⁴·Σ|a·w| of the exact value (each product and partial sum rounded at
     * most once; FMA only removes roundings), so 2·K·2⁻²⁴·Σ|a·w| plus half an ulp of the result is a safe bound.
     */
    private static void assertNearFloat64(float[] a, float[] w, int m, int k, int n, float[] got, String what) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0, abs = 0;
                for (int p = 0; p < k; p++) {
                    s += (double) a[i * k + p] * w[p * n + j];
                    abs += Math.abs((double) a[i * k + p] * w[p * n + j]);
                }
                double tol = 2.0 * k * 0x1p-24 * abs + Math.ulp((float) s) / 2;
                if (Math.abs(got[i * n + j] - s) > tol)
                    throw new AssertionError(
                            what + " [" + i + ", " + j + "]: expected " + s + " ± " + tol + ", got " + got[i * n + j]);
            }
        }
    }

    @Example
    void batchedActivationsAndAHalfPrecisionProduct() {
        Tensor w = view(1, new long[] {67, 45}, DType.BF16);
        Tensor x = view(2, new long[] {3, 11, 67}, DType.F32);
        try (var use = Backends.use(new SimdBackend())) {
            Tensor p = w.packedForMatmul();
            assertBits(x.matmul(w).toFloatArray(), x.matmul(p).toFloatArray(), "[3, 11, 67] x BF16 [67, 45]");
            Tensor xb = x.to(DType.BF16).reshape(33, 67); // BF16 × BF16: F32 accumulation, narrowed output
            assertBits(xb.matmul(w).toFloatArray(), xb.matmul(p).toFloatArray(), "BF16 [33, 67] x BF16 [67, 45]");
        }
    }

    @Example
    void theReferenceBackendReadsThePackedTensorsValues() {
        Tensor w = view(3, new long[] {40, 23}, DType.F16);
        Tensor x = view(4, new long[] {19, 40}, DType.F32);
        Tensor simdPacked;
        try (var use = Backends.use(new SimdBackend())) {
            simdPacked = w.packedForMatmul();
        }
        try (var use = Backends.use(ReferenceBackend.INSTANCE)) {
            Tensor refPacked = w.packedForMatmul();
            assertNull(((PackedStorage) refPacked.storage()).packed(), "the reference backend has no packed form");
            assertTrue(refPacked.isReadOnly());
            float[] plain = x.matmul(w).toFloatArray();
            assertBits(plain, x.matmul(refPacked).toFloatArray(), "reference, packed on reference");
            assertBits(plain, x.matmul(simdPacked).toFloatArray(), "reference, packed on simd");
        }
    }

    @Example
    void autogradReachesTheActivationsThroughAPackedWeight() {
        Tensor w = view(5, new long[] {33, 20}, DType.F32);
        try (var use = Backends.use(new SimdBackend())) {
            Tensor p = w.packedForMatmul();
            Tensor x1 = view(6, new long[] {12, 33}, DType.F32).contiguous();
            Tensor x2 = x1.copy();
            x1.requiresGrad(true);
            x2.requiresGrad(true);
            Tensor y1 = x1.matmul(w), y2 = x2.matmul(p);
            y1.mul(y1).sum().backward();
            y2.mul(y2).sum().backward();
            assertBits(x1.grad().toFloatArray(), x2.grad().toFloatArray(), "dL/dx");
        }
    }

    private static void assertBits(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i]))
                throw new AssertionError(
                        what + ": element " + i + " packed " + actual[i] + ", unpacked " + expected[i]);
        }
    }

    /** N(0, 1) values of {@code shape} as a transposed (non-contiguous) view in {@code dtype}. */
    private static Tensor view(long seed, long[] shape, DType dtype) {
        long[] reversed = new long[shape.length];
        for (int i = 0; i < shape.length; i++) reversed[i] = shape[shape.length - 1 - i];
        Tensor t = Tensor.randn(dev.panthera.tensor.Shape.of(reversed), seed).to(dtype);
        return shape.length < 2 ? t : t.transpose(0, shape.length - 1);
    }

    /**
     * The packed product overwrites C without reading it: C filled with NaN before the call ends bit for bit equal to
     * the unpacked product with beta 0 (which never reads C either), over two K blocks, a partial sliver and a
     * partial MR row block, on one and two threads.
     */
    @org.junit.jupiter.api.Test
    void packedProductOverwritesWhatCHeld() {
        java.util.Random r = new java.util.Random(11);
        for (int threads = 1; threads <= 2; threads++) {
            GemmConfig cfg = GemmConfig.of(threads);
            int m = 97, k = PackedGemm.KC + 37, n = 4 * PackedGemm.NR + 5;
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
                    var scope = cfg.use()) {
                java.lang.foreign.MemorySegment a = arena.allocate((long) m * k * 4, 64),
                        b = arena.allocate((long) k * n * 4, 64),
                        want = arena.allocate((long) m * n * 4, 64),
                        got = arena.allocate((long) m * n * 4, 64);
                for (long i = 0; i < (long) m * k; i++)
                    a.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
                for (long i = 0; i < (long) k * n; i++)
                    b.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
                for (long i = 0; i < (long) m * n; i++)
                    got.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, Float.NaN);
                Sgemm.sgemm(cfg, false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, want, 0, n);
                PackedSgemm.gemm(
                        false, m, k, a, 0, k, PackedPanels.pack(DType.F32, false, k, n, b, 0, n), got, 0, n, null);
                for (long i = 0; i < (long) m * n; i++) {
                    assertEquals(
                            Float.floatToRawIntBits(want.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i)),
                            Float.floatToRawIntBits(got.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i)),
                            threads + " threads, element " + i);
                }
            }
        }
    }
}
