package dev.panthera.simd;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.FloatConversions;
import dev.panthera.testing.ElementArrays;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

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
 * sums now have one order on both paths, {@link LaneSum}.) The set-up is drawn by jqwik before the values, so a
 * failure shrinks to a small product first; without jqwik's edge-case mixing, which would put the largest M with the
 * largest N and K in several tries (the size lists already hold the edges, drawn uniformly).
 */
class GemmThreadCountTest {
    private static final int[] SMALL = {0, 1, 2, 3, 7, 13, 31, 61}, LARGE = {127, 257, 509, 768, 1031, 2048};
    private static final double EPS = Math.ulp(1f);

    /**
     * One product's set-up: weight type, sizes, transposes, alpha and beta, the padding of each leading dimension
     * (0 to 2) and the offsets of A, W and C (0 to 4).
     */
    record Setup(
            DType type,
            int m,
            int n,
            int k,
            boolean ta,
            boolean tw,
            float alpha,
            float beta,
            int lda,
            int ldw,
            int ldc,
            long aOff,
            long wOff,
            long cOff) {
        long aLen() {
            return aOff + (long) (ta ? k : m) * lda + 1;
        }

        long wLen() {
            return wOff + (long) (tw ? n : k) * ldw;
        }

        long cLen() {
            return cOff + (long) m * ldc + 4;
        }
    }

    /** A set-up and the N(0, 1) values of A, W (scaled by 0.1 when written) and C, each over its whole buffer. */
    record Case(Setup s, float[] a, float[] w, float[] c) {
        @Override
        public String toString() {
            return s + " a=" + Draws.show(a) + " w=" + Draws.show(w) + " c=" + Draws.show(c);
        }
    }

    /**
     * M below 8 (decode) twice as often as 8 to 127; N and K one of the large sizes five times in six, else a small
     * one; W transposed three times in four; alpha 1 or N(0, 1) equally often, beta one of 0, 1, −0.5. The set-up is
     * drawn before the values, so a failure shrinks to a small product first.
     */
    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Integer> ms = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.integers().between(1, 7)),
                Tuple.of(1, Arbitraries.integers().between(8, 127)));
        Arbitrary<Integer> sizes = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.of(boxed(SMALL))), Tuple.of(5, Arbitraries.of(boxed(LARGE))));
        Arbitrary<Boolean> ta = Arbitraries.of(false, true);
        Arbitrary<Boolean> tw =
                Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.just(true)), Tuple.of(1, Arbitraries.just(false)));
        Arbitrary<Float> alpha =
                Arbitraries.oneOf(Arbitraries.just(1f), Values.normal().map(Double::floatValue));
        Arbitrary<Float> beta = Arbitraries.of(0f, 1f, -0.5f);
        Arbitrary<List<Integer>> pads =
                Arbitraries.integers().between(0, 2).list().ofSize(3);
        Arbitrary<List<Integer>> offs =
                Arbitraries.integers().between(0, 4).list().ofSize(3);
        Arbitrary<DType> types = Arbitraries.of(DType.F32, DType.BF16, DType.F16);
        Arbitrary<Setup> setups = Combinators.combine(
                        types,
                        ms,
                        sizes,
                        sizes,
                        Combinators.combine(ta, tw).as(List::of),
                        Combinators.combine(alpha, beta).as(List::of),
                        pads,
                        offs)
                .as((type, m, n, k, t, ab, pad, off) -> new Setup(
                        type,
                        m,
                        n,
                        k,
                        t.get(0),
                        t.get(1),
                        ab.get(0),
                        ab.get(1),
                        Math.max(1, (t.get(0) ? m : k) + pad.get(0)),
                        Math.max(1, (t.get(1) ? k : n) + pad.get(1)),
                        Math.max(1, n + pad.get(2)),
                        off.get(0),
                        off.get(1),
                        off.get(2)));
        return SizesFirst.flatMap(
                setups,
                s -> Combinators.combine(normals(s.aLen()), normals(s.wLen()), normals(s.cLen()))
                        .as((a, w, c) -> new Case(s, a, w, c)));
    }

    /** N(0, 1) floats, drawn as one array (the buffers reach millions of elements; see {@link ElementArrays}). */
    private static Arbitrary<float[]> normals(long n) {
        return ElementArrays.floatArrays(r -> (float) r.nextGaussian(), n);
    }

    private static List<Integer> boxed(int[] values) {
        return java.util.Arrays.stream(values).boxed().toList();
    }

    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE) // see the class comment
    void twoAndThreeThreadsEqualOneThreadBitForBit(@ForAll("cases") Case cs) {
        Setup st = cs.s();
        DType type = st.type();
        int m = st.m(), n = st.n(), k = st.k(), lda = st.lda(), ldw = st.ldw(), ldc = st.ldc();
        boolean ta = st.ta(), tw = st.tw();
        float alpha = st.alpha(), beta = st.beta();
        long aOff = st.aOff(), wOff = st.wOff(), cOff = st.cOff();
        String what = type + " " + m + "x" + n + "x" + k + (ta ? " Aᵀ" : "") + (tw ? " Wᵀ" : "") + " lda " + lda
                + " ldw " + ldw + " ldc " + ldc;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = arena.allocate(st.aLen() * 4, 64).copyFrom(MemorySegment.ofArray(cs.a()));
            long wLen = st.wLen();
            int bytes = (int) type.byteSize();
            MemorySegment w = arena.allocate(wLen * bytes + 4, 64);
            double[] wd = new double[(int) wLen];
            for (int i = 0; i < wLen; i++) {
                float g = (float) (cs.w()[i] * 0.1);
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
            long cLen = st.cLen();
            MemorySegment c0 = arena.allocate(cLen * 4, 64).copyFrom(MemorySegment.ofArray(cs.c()));
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
