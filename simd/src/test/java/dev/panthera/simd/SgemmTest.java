package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/**
 * SGEMM against a float64 triple loop, all four transpose cases, alpha/beta, padded leading dimensions and offsets,
 * shapes from 1 and primes through sizes that cross the MR/NR/KC/MC block edges, on 1 and 2 threads.
 * Tolerance per element (forward error of a float dot product): |Δ| ≤ 2·sqrt(K)·ε·Σ|a||b| + ε·|beta·c|. Each case's
 * sizes, transposes, scalars, paddings, offsets and threads are drawn before its values, so a failure shrinks to a
 * small product first.
 */
class SgemmTest {
    private static final long[] SIZES = {1, 2, 3, 5, 6, 7, 8, 13, 16, 17, 31, 97, 130, 257, 300};

    /**
     * One product's set-up: sizes, transposes, alpha and beta, the padding of each leading dimension (0 to 2), the
     * offsets of A, B and C (0 to 4), the thread count and whether the memory is shared (else confined).
     */
    record Gemm(
            int m,
            int n,
            int k,
            boolean ta,
            boolean tb,
            float alpha,
            float beta,
            int lda,
            int ldb,
            int ldc,
            long aOff,
            long bOff,
            long cOff,
            int threads,
            boolean shared) {
        long aLen() {
            return aOff + (long) (ta ? k : m) * lda;
        }

        long bLen() {
            return bOff + (long) (tb ? n : k) * ldb;
        }

        long cLen() {
            return cOff + (long) m * ldc;
        }
    }

    /** A set-up and the values of A, B and C (each over its whole buffer, padding and offset included). */
    record Case(Gemm g, float[] a, float[] b, float[] c) {
        @Override
        public String toString() {
            return g + " a=" + Draws.show(a) + " b=" + Draws.show(b) + " c=" + Draws.show(c);
        }
    }

    /**
     * Cases of the given sizes, the set-up drawn before the values so a failure shrinks to a small product first.
     * Alpha is 1 or N(0, 1) equally often, beta one of 0, 1, −0.5; two threads use shared memory three times in four
     * (a confined arena must still work, on the caller's thread).
     */
    private static Arbitrary<Case> cases(Arbitrary<Integer> ms, Arbitrary<Integer> ns, Arbitrary<Integer> ks) {
        return cases(ms, ns, ks, Arbitraries.integers().between(1, 2));
    }

    /** {@link #cases(Arbitrary, Arbitrary, Arbitrary)} with the thread count drawn from {@code threads}. */
    private static Arbitrary<Case> cases(
            Arbitrary<Integer> ms, Arbitrary<Integer> ns, Arbitrary<Integer> ks, Arbitrary<Integer> threads) {
        Arbitrary<Boolean> flag = Arbitraries.of(false, true);
        Arbitrary<Float> alpha =
                Arbitraries.oneOf(Arbitraries.just(1f), Values.normal().map(Double::floatValue));
        Arbitrary<Float> beta = Arbitraries.of(0f, 1f, -0.5f);
        Arbitrary<List<Integer>> pads =
                Arbitraries.integers().between(0, 2).list().ofSize(3);
        Arbitrary<List<Integer>> offs =
                Arbitraries.integers().between(0, 4).list().ofSize(3);
        Arbitrary<Boolean> shared =
                Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.just(true)), Tuple.of(1, Arbitraries.just(false)));
        Arbitrary<List<Object>> rest =
                Combinators.combine(pads, offs, threads, shared).as(List::of);
        Arbitrary<Gemm> gemms = Combinators.combine(ms, ns, ks, flag, flag, alpha, beta, rest)
                .as((m, n, k, ta, tb, al, be, r) -> {
                    @SuppressWarnings("unchecked")
                    List<Integer> pad = (List<Integer>) r.get(0), off = (List<Integer>) r.get(1);
                    int t = (Integer) r.get(2);
                    return new Gemm(
                            m,
                            n,
                            k,
                            ta,
                            tb,
                            al,
                            be,
                            (ta ? m : k) + pad.get(0),
                            (tb ? k : n) + pad.get(1),
                            n + pad.get(2),
                            off.get(0),
                            off.get(1),
                            off.get(2),
                            t,
                            t == 2 && (Boolean) r.get(3));
                });
        return SizesFirst.flatMap(
                gemms,
                g -> Combinators.combine(Draws.normals(g.aLen()), Draws.normals(g.bLen()), Draws.normals(g.cLen()))
                        .as((a, b, c) -> new Case(g, a, b, c)));
    }

    private static Arbitrary<Integer> listed() {
        return Draws.oneOf(SIZES).map(Long::intValue);
    }

    @Provide
    Arbitrary<Case> anySizes() {
        return cases(listed(), listed(), listed());
    }

    @Provide
    Arbitrary<Case> skinny() {
        return cases(
                Arbitraries.integers().between(1, 7),
                Arbitraries.integers().between(700, 899),
                Arbitraries.integers().between(1400, 1699));
    }

    @Provide
    Arbitrary<Case> severalKBlocks() {
        return cases(
                Arbitraries.integers().between(PackedGemm.MC + 1, PackedGemm.MC + 20),
                Arbitraries.integers().between(PackedGemm.NR + 1, PackedGemm.NR + 40),
                Arbitraries.integers().between(PackedGemm.KC + 1, 2 * PackedGemm.KC + 50));
    }

    @Property(tries = 120)
    void matchesFloat64(@ForAll("anySizes") Case c) {
        check(c);
    }

    /** Skinny shapes long enough that the M &lt; 8 path splits K (transposed B) and N (plain B) into chunks. */
    @Property(tries = 8)
    void skinnyChunkedPaths(@ForAll("skinny") Case c) {
        check(c);
    }

    /**
     * The block sizes this machine's kernel chose fit its vector width: NR is two vectors of lanes, and the M and N
     * cache blocks hold whole micro-panels (MC a multiple of MR, NC of NR), so only the matrix edges are partial panels,
     * which the shapes below cross.
     */
    @Test
    void blockSizesFitTheVectorWidth() {
        String kernel = "micro-kernel " + PackedGemm.MR + "x" + PackedGemm.NR + ", KC " + PackedGemm.KC + ", MC "
                + PackedGemm.MC + ", NC " + PackedGemm.NC + " (" + PackedGemm.F.vectorBitSize() + "-bit vectors)";
        assertEquals(2 * PackedGemm.F.length(), PackedGemm.NR, kernel);
        assertEquals(0, PackedGemm.MC % PackedGemm.MR, kernel);
        assertEquals(0, PackedGemm.NC % PackedGemm.NR, kernel);
    }

    @Property(tries = 6)
    void severalBlocksOfK(@ForAll("severalKBlocks") Case c) {
        check(c);
    }

    /**
     * Rows enough for panels narrower than NC ({@link PackedGemm#narrowPanel}), columns past one NC panel and K past
     * one depth block, one thread (two would split the columns into chunks of one panel or less): the product goes
     * through {@link PackedGemm}'s narrow panels with A packed once.
     */
    @Provide
    Arbitrary<Case> narrowPanels() {
        return cases(
                Arbitraries.integers().between(250, 330),
                Arbitraries.integers().between(PackedGemm.NC + 1, PackedGemm.NC + 90),
                Arbitraries.integers().between(PackedGemm.KC + 1, PackedGemm.KC + 60),
                Arbitraries.just(1));
    }

    @Property(tries = 6)
    void narrowPanelsMatchFloat64(@ForAll("narrowPanels") Case c) {
        check(c);
    }

    /**
     * A product wider than one narrow panel (A packed once, panels of {@link PackedGemm#narrowPanel} columns) gives
     * the bits of the same product computed as column pieces of three slivers (each narrower than a panel, so A is
     * packed per block): every element sums the same products in the same order either way. All four transposes,
     * beta 0 (the first depth block stores C) and 1 (C added to), one thread; 700 rows make panels narrower than NC,
     * and a partial one at the end.
     */
    @Test
    void narrowPanelsGiveTheBitsOfNarrowerPieces() {
        int m = 700, n = PackedGemm.NC + 77, k = PackedGemm.KC + 45;
        assertTrue(PackedGemm.narrowPanel(m) < PackedGemm.NC && n % PackedGemm.narrowPanel(m) != 0, "panels");
        Random r = new Random(47);
        GemmConfig one = GemmConfig.of(1);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = random(arena, (long) m * k, r), b = random(arena, (long) n * k, r);
            MemorySegment c0 = random(arena, (long) m * n, r);
            for (boolean ta : new boolean[] {false, true})
                for (boolean tb : new boolean[] {false, true})
                    for (float beta : new float[] {0f, 1f}) {
                        int lda = ta ? m : k, ldb = tb ? k : n;
                        MemorySegment whole = arena.allocate(c0.byteSize(), 64).copyFrom(c0),
                                pieces = arena.allocate(c0.byteSize(), 64).copyFrom(c0);
                        Sgemm.sgemm(one, ta, tb, m, n, k, 0.75f, a, 0, lda, b, 0, ldb, beta, whole, 0, n);
                        for (int j = 0; j < n; j += 3 * PackedGemm.NR) {
                            int w = Math.min(3 * PackedGemm.NR, n - j);
                            long bAt = tb ? (long) j * ldb : j;
                            Sgemm.sgemm(one, ta, tb, m, w, k, 0.75f, a, 0, lda, b, bAt, ldb, beta, pieces, j, n);
                        }
                        long differ = MemorySegment.mismatch(whole, 0, whole.byteSize(), pieces, 0, pieces.byteSize());
                        assertEquals(-1, differ, "ta " + ta + " tb " + tb + " beta " + beta + ": first byte differing");
                    }
        }
    }

    private static void check(Case cs) {
        Gemm g = cs.g();
        int m = g.m(), n = g.n(), k = g.k(), lda = g.lda(), ldb = g.ldb(), ldc = g.ldc();
        boolean ta = g.ta(), tb = g.tb();
        float alpha = g.alpha(), beta = g.beta();
        long aOff = g.aOff(), bOff = g.bOff(), cOff = g.cOff();
        Sgemm.setThreads(g.threads());
        try (Arena arena = g.shared() ? Arena.ofShared() : Arena.ofConfined()) {
            MemorySegment a = segment(arena, cs.a()), b = segment(arena, cs.b()), c = segment(arena, cs.c());
            float[] c0 = c.toArray(ValueLayout.JAVA_FLOAT);
            Sgemm.sgemm(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            double eps = Math.ulp(1f);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0, mag = 0;
                    for (int p = 0; p < k; p++) {
                        double av = a.getAtIndex(
                                ValueLayout.JAVA_FLOAT, aOff + (ta ? (long) p * lda + i : (long) i * lda + p));
                        double bv = b.getAtIndex(
                                ValueLayout.JAVA_FLOAT, bOff + (tb ? (long) j * ldb + p : (long) p * ldb + j));
                        s += av * bv;
                        mag += Math.abs(av * bv);
                    }
                    double old = c0[(int) (cOff + (long) i * ldc + j)];
                    double want = alpha * s + (beta == 0 ? 0 : beta * old);
                    double got = c.getAtIndex(ValueLayout.JAVA_FLOAT, cOff + (long) i * ldc + j);
                    double tol = 2 * Math.sqrt(k) * eps * Math.abs(alpha) * mag + eps * Math.abs(beta * old) + 1e-30;
                    if (Math.abs(got - want) > tol + eps * Math.abs(want)) {
                        throw new AssertionError("C[" + i + "][" + j + "] of " + m + "x" + n + "x" + k
                                + (ta ? " Aᵀ" : "") + (tb ? " Bᵀ" : "") + " alpha " + alpha + " beta " + beta
                                + ": expected " + want + " but was " + got + " (tolerance " + tol + ")");
                    }
                }
            }
            // nothing outside C's rows was written
            for (long x = 0; x < cOff; x++) {
                if (c.getAtIndex(ValueLayout.JAVA_FLOAT, x) != c0[(int) x])
                    throw new AssertionError("wrote before C's offset at " + x);
            }
        } finally {
            Sgemm.setThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
        }
    }

    /**
     * One activation row against a transposed B (decode's x·Wᵀ): the outputs are bit for bit the same whether a row is
     * computed with others (B rows j and j + N/2 in one pass) or on its own (a product with one output column), so a
     * decode's logits do not depend on how the rows were grouped or split over threads. Lengths below, at and past the
     * two-vector step, with tails; odd and even output counts; weights at the start of a cache line and 4 and 32
     * bytes into one (rows long enough for {@link RowHeads#alignedHead} to take a head).
     */
    @Test
    void decodeRowsAreTheSameComputedTogetherOrAlone() {
        Random r = new Random(41);
        GemmConfig one = GemmConfig.of(1);
        try (Arena arena = Arena.ofConfined()) {
            for (int k : new int[] {1, 17, 31, 32, 33, 64, 100, 172, 256, 300, 768, 773})
                for (int off : new int[] {0, 4, 32}) {
                    for (int n : new int[] {8, 9, 13, 64, 67}) {
                        MemorySegment a = random(arena, k, r),
                                b = random(arena, (long) n * k + 16, r).asSlice(off, (long) n * k * 4);
                        MemorySegment all = arena.allocate(n * 4L), alone = arena.allocate(4);
                        Sgemm.sgemm(one, false, true, 1, n, k, 1f, a, 0, k, b, 0, k, 0f, all, 0, n);
                        for (int j = 0; j < n; j++) {
                            Sgemm.sgemm(one, false, true, 1, 1, k, 1f, a, 0, k, b, (long) j * k, k, 0f, alone, 0, 1);
                            float x = all.getAtIndex(ValueLayout.JAVA_FLOAT, j),
                                    y = alone.getAtIndex(ValueLayout.JAVA_FLOAT, 0);
                            assertEquals(
                                    Float.floatToRawIntBits(y),
                                    Float.floatToRawIntBits(x),
                                    "k=" + k + " n=" + n + " row " + j + ": " + x + " together, " + y + " alone");
                        }
                    }
                }
        }
    }

    /**
     * A skinny product started while its thread's scratch is held (as by a product nested in another's range) takes
     * arrays of its own: the held accumulators keep their values, and the result matches a float64 loop within
     * γ(k + 1)·Σ|a_p·b_p| (γ(n) = n·u / (1 − n·u), u = 2⁻²⁴: any order of summing k float products, each rounded at
     * most once).
     */
    @Test
    void aProductWhileTheThreadsScratchIsHeldLeavesItAlone() {
        Random r = new Random(43);
        int k = 100, n = 67;
        SkinnyGemm.Scratch held = SkinnyGemm.Scratch.take();
        try (Arena arena = Arena.ofConfined()) {
            float[] acc = held.acc(n), av = held.av(k);
            java.util.Arrays.fill(acc, 7f);
            java.util.Arrays.fill(av, -3f);
            MemorySegment a = random(arena, k, r), b = random(arena, (long) n * k, r), c = arena.allocate(n * 4L);
            Sgemm.sgemm(GemmConfig.of(1), false, true, 1, n, k, 1f, a, 0, k, b, 0, k, 0f, c, 0, n);
            for (int j = 0; j < n; j++) {
                double want = 0, bound = 0;
                for (int p = 0; p < k; p++) {
                    double t = (double) a.getAtIndex(ValueLayout.JAVA_FLOAT, p)
                            * b.getAtIndex(ValueLayout.JAVA_FLOAT, (long) j * k + p);
                    want += t;
                    bound += Math.abs(t);
                }
                float got = c.getAtIndex(ValueLayout.JAVA_FLOAT, j);
                double nu = (k + 1) * 0x1p-24;
                assertEquals(want, got, nu / (1 - nu) * bound, "row " + j);
                assertEquals(7f, acc[j], "held accumulator " + j);
            }
            for (int p = 0; p < k; p++) assertEquals(-3f, av[p], "held A row " + p);
        } finally {
            held.busy = false;
        }
    }

    /**
     * beta 0 means C is not read (BLAS): a C full of NaN ends as alpha·A·B, bit for bit what a zeroed C gets with
     * beta 1 (the same products in the same order, added to zeros), on the skinny and both packed splits, across two
     * K blocks, one and two threads.
     */
    @Test
    void betaZeroIgnoresWhatCHeld() {
        Random r = new Random(47);
        for (int[] s : new int[][] {{5, 40, 70}, {64, 200, PackedGemm.KC + 9}, {200, 24, PackedGemm.KC + 9}})
            for (int threads = 1; threads <= 2; threads++) {
                int m = s[0], n = s[1], k = s[2];
                GemmConfig cfg = GemmConfig.of(threads);
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment a = random(arena, (long) m * k, r), b = random(arena, (long) k * n, r);
                    MemorySegment nan = arena.allocate((long) m * n * 4, 64),
                            zero = arena.allocate((long) m * n * 4, 64);
                    nan.fill((byte) 0xFF); // 0xFFFFFFFF: a NaN
                    Sgemm.sgemm(cfg, false, false, m, n, k, 0.5f, a, 0, k, b, 0, n, 0f, nan, 0, n);
                    Sgemm.sgemm(cfg, false, false, m, n, k, 0.5f, a, 0, k, b, 0, n, 1f, zero, 0, n);
                    for (long i = 0; i < (long) m * n; i++) {
                        assertEquals(
                                Float.floatToRawIntBits(zero.getAtIndex(ValueLayout.JAVA_FLOAT, i)),
                                Float.floatToRawIntBits(nan.getAtIndex(ValueLayout.JAVA_FLOAT, i)),
                                m + "x" + n + "x" + k + ", " + threads + " threads, element " + i);
                    }
                }
            }
    }

    private static MemorySegment segment(Arena arena, float[] values) {
        MemorySegment s = arena.allocate(values.length * 4L, 64);
        s.copyFrom(MemorySegment.ofArray(values));
        return s;
    }

    private static MemorySegment random(Arena arena, long n, Random r) {
        MemorySegment s = arena.allocate(n * 4, 64);
        for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
        return s;
    }

    /** Products running on several caller threads while another thread keeps changing the pool size. */
    @Test
    void concurrentCallersWhileThePoolIsResized() throws Exception {
        int m = 64, n = 96, k = 200;
        try (Arena arena = Arena.ofShared()) {
            Random r = new Random(3);
            MemorySegment a = random(arena, (long) m * k, r), b = random(arena, (long) k * n, r);
            MemorySegment want = arena.allocate((long) m * n * 4, 64);
            Sgemm.setThreads(1);
            Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, want, 0, n);
            java.util.concurrent.atomic.AtomicReference<Throwable> failure =
                    new java.util.concurrent.atomic.AtomicReference<>();
            Thread[] callers = new Thread[3];
            for (int t = 0; t < callers.length; t++) {
                callers[t] = new Thread(() -> {
                    try {
                        MemorySegment c = arena.allocate((long) m * n * 4, 64);
                        for (int it = 0; it < 40; it++) {
                            Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
                            if (c.mismatch(want) != -1)
                                throw new AssertionError(
                                        "result differs from the 1-thread product at byte " + c.mismatch(want));
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                callers[t].start();
            }
            for (int i = 0; i < 200 && callers[0].isAlive(); i++) Sgemm.setThreads(1 + i % 3);
            for (Thread t : callers) t.join();
            if (failure.get() != null) throw new AssertionError("a concurrent sgemm failed", failure.get());
        } finally {
            Sgemm.setThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
        }
    }

    @Test
    void badArgumentsAreRejectedBeforeAnyRead() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(16 * 4);
            assertThrows(
                    IndexOutOfBoundsException.class,
                    () -> Sgemm.sgemm(false, false, 4, 4, 4, 1f, s, 0, 4, s, 8, 4, 0f, s, 0, 4));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> Sgemm.sgemm(false, false, 4, 4, 4, 1f, s, 0, 3, s, 0, 4, 0f, s, 0, 4));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> Sgemm.sgemm(false, false, -1, 4, 4, 1f, s, 0, 4, s, 0, 4, 0f, s, 0, 4));
        }
    }
}
