package dev.panthera.simd;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.FloatConversions;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * GEMM split over 1, 2 and 3 threads ({@link Team}'s chunks: the skinny path's output columns, the packed path's
 * columns or rows) against a float64 loop: F32, BF16 and F16 weights; M from 1 (decode) through the packed path's 8
 * and above; N and K among 0, 1, primes and sizes with tails past every vector width; transposed operands, leading
 * dimensions above the row length and offsets (strided views of larger buffers). The shapes are large enough
 * (≥ {@link Sgemm#PARALLEL_FLOPS}) that the split happens. Each result must be within {@link SgemmTest}'s bound
 * |Δ| ≤ 2·sqrt(K)·ε·|alpha|·Σ|a·w| + ε·|beta·c| + ε·|expected| of the float64 value, and every thread count must give
 * one thread's bits: each output is computed by the same kernel code whichever chunk holds it. (A chunk could once
 * run where that code was still interpreted, and the Vector API's Java fallback added the lanes of reduceLanes(ADD)
 * in another order than the C2 intrinsic: a one-ulp difference seen here for a 5 × 2048 × 2048 F32 product. The lane
 * sums now have one order on both paths, {@link LaneSum}.)
 */
class GemmThreadCountTest {
    private static final int[] SMALL = {0, 1, 2, 3, 7, 13, 31, 61}, LARGE = {127, 257, 509, 768, 1031, 2048};
    private static final double EPS = Math.ulp(1f);

    @Property(tries = 60)
    void twoAndThreeThreadsEqualOneThreadBitForBit(@ForAll long seed) {
        Random r = new Random(seed);
        DType type = new DType[] {DType.F32, DType.BF16, DType.F16}[r.nextInt(3)];
        int m = r.nextInt(3) == 0 ? 8 + r.nextInt(120) : 1 + r.nextInt(7);
        int n = r.nextInt(6) == 0 ? SMALL[r.nextInt(SMALL.length)] : LARGE[r.nextInt(LARGE.length)];
        int k = r.nextInt(6) == 0 ? SMALL[r.nextInt(SMALL.length)] : LARGE[r.nextInt(LARGE.length)];
        boolean ta = r.nextBoolean(), tw = r.nextInt(4) != 0;
        float alpha = r.nextBoolean() ? 1f : (float) r.nextGaussian(), beta = new float[] {0f, 1f, -0.5f}[r.nextInt(3)];
        int lda = Math.max(1, (ta ? m : k) + r.nextInt(3)),
                ldw = Math.max(1, (tw ? k : n) + r.nextInt(3)),
                ldc = Math.max(1, n + r.nextInt(3));
        long aOff = r.nextInt(5), wOff = r.nextInt(5), cOff = r.nextInt(5);
        String what = type + " " + m + "x" + n + "x" + k + (ta ? " Aᵀ" : "") + (tw ? " Wᵀ" : "") + " lda " + lda
                + " ldw " + ldw + " ldc " + ldc;
        try (Arena arena = Arena.ofShared()) {
            int aRows = ta ? k : m, wRows = tw ? n : k;
            MemorySegment a = arena.allocate((aOff + (long) aRows * lda) * 4 + 4, 64);
            for (long i = 0; i < a.byteSize() / 4; i++)
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            long wLen = wOff + (long) wRows * ldw;
            int bytes = (int) type.byteSize();
            MemorySegment w = arena.allocate(wLen * bytes + 4, 64);
            double[] wd = new double[(int) wLen];
            for (int i = 0; i < wLen; i++) {
                float g = (float) (r.nextGaussian() * 0.1);
                switch (type) {
                    case F32 -> {
                        w.setAtIndex(ValueLayout.JAVA_FLOAT, i, g);
                        wd[i] = g;
                    }
                    case BF16 -> {
                        short bits = FloatConversions.floatToBf16(g);
                        w.setAtIndex(ValueLayout.JAVA_SHORT, i, bits);
                        wd[i] = FloatConversions.bf16ToFloat(bits);
                    }
                    default -> {
                        short bits = Float.floatToFloat16(g);
                        w.setAtIndex(ValueLayout.JAVA_SHORT, i, bits);
                        wd[i] = Float.float16ToFloat(bits);
                    }
                }
            }
            long cLen = cOff + (long) m * ldc + 4;
            MemorySegment c0 = arena.allocate(cLen * 4, 64);
            for (long i = 0; i < cLen; i++) c0.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            MemorySegment[] out = new MemorySegment[4];
            for (int threads = 1; threads <= 3; threads++) {
                MemorySegment c = arena.allocate(cLen * 4, 64).copyFrom(c0);
                Sgemm.gemm(
                        GemmConfig.of(threads),
                        "test",
                        type,
                        ta,
                        tw,
                        m,
                        n,
                        k,
                        alpha,
                        a,
                        aOff,
                        lda,
                        w,
                        wOff,
                        ldw,
                        beta,
                        c,
                        cOff,
                        ldc);
                out[threads] = c;
            }
            // every row when the float64 loop is cheap, else the first, a middle and the last row (all columns; a
            // row split, the packed path's choice when N is small, only happens on shapes checked in full)
            int[] rows = (long) m * n * k <= 20_000_000L
                    ? java.util.stream.IntStream.range(0, m).toArray()
                    : new int[] {0, m / 2, m - 1};
            for (int i : rows) {
                for (int j = 0; j < n; j++) {
                    double s = 0, mag = 0;
                    for (int p = 0; p < k; p++) {
                        double av = a.getAtIndex(
                                ValueLayout.JAVA_FLOAT, aOff + (ta ? (long) p * lda + i : (long) i * lda + p));
                        double wv = wd[(int) (wOff + (tw ? (long) j * ldw + p : (long) p * ldw + j))];
                        s += av * wv;
                        mag += Math.abs(av * wv);
                    }
                    long at = cOff + (long) i * ldc + j;
                    double old = c0.getAtIndex(ValueLayout.JAVA_FLOAT, at);
                    double want = alpha * s + (beta == 0 ? 0 : beta * old);
                    double tol = 2 * Math.sqrt(k) * EPS * Math.abs(alpha) * mag
                            + EPS * Math.abs(beta * old)
                            + EPS * Math.abs(want)
                            + 1e-30;
                    for (int t = 1; t <= 3; t++) {
                        double got = out[t].getAtIndex(ValueLayout.JAVA_FLOAT, at);
                        if (!(Math.abs(got - want) <= tol))
                            throw new AssertionError(what + ", " + t + " threads: C[" + i + "][" + j + "] expected "
                                    + want + " but was " + got + " (tolerance " + tol + ")");
                    }
                }
            }
            // and the same bits on every thread count, over all of C (its padding and offsets included)
            for (int t = 2; t <= 3; t++) {
                long differs = out[1].mismatch(out[t]);
                if (differs >= 0)
                    throw new AssertionError(what + ": " + t + " threads differ from one thread at byte " + differs
                            + " of C (" + out[1].get(ValueLayout.JAVA_FLOAT, differs & ~3L) + " vs "
                            + out[t].get(ValueLayout.JAVA_FLOAT, differs & ~3L) + ")");
            }
        }
    }
}
