package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.FloatConversions;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/**
 * BF16/F16-weight GEMM against a float64 loop over weights decoded by the JDK ({@link Float#float16ToFloat}) and the
 * tensor module ({@link FloatConversions#bf16ToFloat}); the in-register conversions against those same decoders
 * for all 65536 bit patterns; batched SGEMM against float64. Tolerance as in {@link SgemmTest}:
 * |Δ| ≤ 2·sqrt(K)·ε·|alpha|·Σ|a||w| + ε·|beta·c| + ε·|expected| (the weights are exact in F32, so no extra term).
 * The properties draw each case's set-up before its values, so a failure shrinks to a small product first.
 */
class MixedGemmTest {
    private static final long[] SIZES = {1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 97, 130, 257};
    private static final double EPS = Math.ulp(1f);

    @Test
    void vectorDecodeMatchesScalarDecodersForEveryBitPattern() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = arena.allocate(65536 * 2L);
            for (int i = 0; i < 65536; i++) h.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) i);
            float[] out = new float[8];
            for (int i = 0; i < 65536; i += 8) {
                WeightLoads.toFloats(DType.F16, h, i, 8, out, 0);
                for (int l = 0; l < 8; l++) {
                    float want = Float.float16ToFloat((short) (i + l));
                    if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(out[l])) {
                        throw new AssertionError(
                                "F16 0x" + Integer.toHexString(i + l) + ": expected " + want + " but was " + out[l]);
                    }
                }
                WeightLoads.load(DType.BF16, h, i).intoArray(out, 0);
                for (int l = 0; l < 8; l++) {
                    float want = FloatConversions.bf16ToFloat((short) (i + l));
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(out[l]), "BF16 bits");
                }
            }
        }
    }

    /**
     * One product's set-up: the weight type, sizes, transposes, alpha and beta, each leading dimension's padding (0 to
     * 2), the offsets of A, W and C (0 to 4) and the thread count.
     */
    record Gemm(
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
            long cOff,
            int threads) {}

    /** A set-up and the values of A, W (before rounding to 16 bits) and C, each over its whole buffer. */
    record Case(Gemm g, float[] a, float[] w, float[] c) {
        @Override
        public String toString() {
            return g + " a=" + Draws.show(a) + " w=" + Draws.show(w) + " c=" + Draws.show(c);
        }
    }

    /**
     * Cases of the given sizes, the set-up drawn before the values so a failure shrinks to a small product first.
     * Alpha is 1 or N(0, 1) equally often, beta one of 0, 1, −0.5; weights are N(0, 0.1²).
     */
    private static Arbitrary<Case> cases(Arbitrary<Integer> ms, Arbitrary<Integer> ns, Arbitrary<Integer> ks) {
        Arbitrary<Boolean> flag = Arbitraries.of(false, true);
        Arbitrary<Float> alpha =
                Arbitraries.oneOf(Arbitraries.just(1f), Values.normal().map(Double::floatValue));
        Arbitrary<Float> beta = Arbitraries.of(0f, 1f, -0.5f);
        Arbitrary<List<Integer>> pads =
                Arbitraries.integers().between(0, 2).list().ofSize(3);
        Arbitrary<List<Integer>> offs =
                Arbitraries.integers().between(0, 4).list().ofSize(3);
        Arbitrary<List<Object>> rest = Combinators.combine(
                        Arbitraries.of(DType.BF16, DType.F16),
                        pads,
                        offs,
                        Arbitraries.integers().between(1, 2))
                .as(List::of);
        Arbitrary<Gemm> gemms = Combinators.combine(ms, ns, ks, flag, flag, alpha, beta, rest)
                .as((m, n, k, ta, tw, al, be, r) -> {
                    @SuppressWarnings("unchecked")
                    List<Integer> pad = (List<Integer>) r.get(1), off = (List<Integer>) r.get(2);
                    return new Gemm(
                            (DType) r.get(0),
                            m,
                            n,
                            k,
                            ta,
                            tw,
                            al,
                            be,
                            (ta ? m : k) + pad.get(0),
                            (tw ? k : n) + pad.get(1),
                            n + pad.get(2),
                            off.get(0),
                            off.get(1),
                            off.get(2),
                            (Integer) r.get(3));
                });
        return SizesFirst.flatMap(gemms, g -> {
            long aLen = g.aOff() + (long) (g.ta() ? g.k() : g.m()) * g.lda();
            long wLen = g.wOff() + (long) (g.tw() ? g.n() : g.k()) * g.ldw();
            long cLen = g.cOff() + (long) g.m() * g.ldc();
            return Combinators.combine(Draws.normals(aLen), Draws.normals(wLen), Draws.normals(cLen))
                    .as((a, w, c) -> new Case(g, a, w, c));
        });
    }

    private static Arbitrary<Integer> listed() {
        return Draws.oneOf(SIZES).map(Long::intValue);
    }

    @Provide
    Arbitrary<Case> anySizes() {
        return cases(listed(), listed(), listed());
    }

    /** Skinny shapes long enough that the M &lt; 8 path converts and consumes B in several K or N chunks. */
    @Provide
    Arbitrary<Case> skinny() {
        return cases(
                Arbitraries.integers().between(1, 7),
                Arbitraries.integers().between(700, 899),
                Arbitraries.integers().between(1400, 1699));
    }

    @Property(tries = 80)
    void matchesFloat64(@ForAll("anySizes") Case c) {
        check(c);
    }

    /** Skinny shapes long enough that the M &lt; 8 path converts and consumes B in several K or N chunks. */
    @Property(tries = 8)
    void skinnyChunkedPaths(@ForAll("skinny") Case c) {
        check(c);
    }

    private static void check(Case cs) {
        Gemm g = cs.g();
        DType type = g.type();
        int m = g.m(), n = g.n(), k = g.k(), lda = g.lda(), ldw = g.ldw(), ldc = g.ldc();
        boolean ta = g.ta(), tw = g.tw();
        float alpha = g.alpha(), beta = g.beta();
        long aOff = g.aOff(), wOff = g.wOff(), cOff = g.cOff();
        Sgemm.setThreads(g.threads());
        try (Arena arena = g.threads() == 2 ? Arena.ofShared() : Arena.ofConfined()) {
            MemorySegment a = arena.allocate(cs.a().length * 4L, 64);
            a.copyFrom(MemorySegment.ofArray(cs.a()));
            int wLen = cs.w().length;
            MemorySegment w = arena.allocate(wLen * 2L, 64);
            double[] wd = new double[wLen];
            for (int i = 0; i < wLen; i++) {
                float v = (float) (cs.w()[i] * 0.1);
                short bits = type == DType.BF16 ? FloatConversions.floatToBf16(v) : Float.floatToFloat16(v);
                w.setAtIndex(ValueLayout.JAVA_SHORT, i, bits);
                wd[i] = type == DType.BF16 ? FloatConversions.bf16ToFloat(bits) : Float.float16ToFloat(bits);
            }
            MemorySegment c = arena.allocate(cs.c().length * 4L, 64);
            c.copyFrom(MemorySegment.ofArray(cs.c()));
            float[] c0 = c.toArray(ValueLayout.JAVA_FLOAT);
            MixedGemm.gemm(type, ta, tw, m, n, k, alpha, a, aOff, lda, w, wOff, ldw, beta, c, cOff, ldc);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0, mag = 0;
                    for (int p = 0; p < k; p++) {
                        double av = a.getAtIndex(
                                ValueLayout.JAVA_FLOAT, aOff + (ta ? (long) p * lda + i : (long) i * lda + p));
                        double wv = wd[(int) (wOff + (tw ? (long) j * ldw + p : (long) p * ldw + j))];
                        s += av * wv;
                        mag += Math.abs(av * wv);
                    }
                    double old = c0[(int) (cOff + (long) i * ldc + j)];
                    double want = alpha * s + (beta == 0 ? 0 : beta * old);
                    double got = c.getAtIndex(ValueLayout.JAVA_FLOAT, cOff + (long) i * ldc + j);
                    double tol = 2 * Math.sqrt(k) * EPS * Math.abs(alpha) * mag
                            + EPS * Math.abs(beta * old)
                            + EPS * Math.abs(want)
                            + 1e-30;
                    if (!(Math.abs(got - want) <= tol)) {
                        throw new AssertionError(type + " C[" + i + "][" + j + "] of " + m + "x" + n + "x" + k
                                + (ta ? " Aᵀ" : "") + (tw ? " Wᵀ" : "") + ": expected " + want + " but was " + got
                                + " (tolerance " + tol + ")");
                    }
                }
            }
        } finally {
            Sgemm.setThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
        }
    }

    private static final short[] F16_SPECIALS = new short[] {
        0,
        (short) 0x8000,
        1,
        (short) 0x8001,
        0x03FF,
        0x0400,
        0x7BFF,
        (short) 0xFBFF,
        0x7C00,
        (short) 0xFC00,
        0x7E00,
        0x7C01,
        (short) 0xFE00
    };
    private static final short[] BF16_SPECIALS = new short[] {
        0,
        (short) 0x8000,
        1,
        (short) 0x8001,
        0x007F,
        0x0080,
        0x7F7F,
        (short) 0xFF7F,
        0x7F80,
        (short) 0xFF80,
        0x7FC0,
        0x7F81
    };
    private static final double[] SPECIAL_RATES = {0, 0.001, 0.05};

    /** The weight type, sizes, layout and the rate of special weights (the first listed values and all of them). */
    record SpecialSetup(DType type, int m, int n, int k, boolean tw, double specialRate) {}

    /** A setup, the activations and the weights' 16-bit patterns. */
    record SpecialCase(SpecialSetup s, float[] a, short[] w) {
        @Override
        public String toString() {
            return s + " a=" + Draws.show(a) + " w="
                    + (w.length <= 64
                            ? Arrays.toString(w)
                            : w.length + " patterns, first " + Arrays.toString(Arrays.copyOf(w, 16)));
        }
    }

    /**
     * Weight patterns: at the given rate any special value; else one time in ten a zero or subnormal (common in real
     * weights), nine in ten N(0, 1) rounded to the type. Shrinks toward the rounded normal values, and those toward 0.
     */
    private static Arbitrary<Short> weightBits(DType type, double specialRate) {
        short[] specials = type == DType.F16 ? F16_SPECIALS : BF16_SPECIALS;
        List<Short> all = new ArrayList<>(), common = new ArrayList<>();
        for (int i = 0; i < specials.length; i++) {
            all.add(specials[i]);
            if (i < 6) common.add(specials[i]);
        }
        int special = (int) Math.round(specialRate * 100_000), rest = 100_000 - special;
        Arbitrary<Short> normal = Values.normal()
                .map(v -> type == DType.BF16
                        ? FloatConversions.floatToBf16(v.floatValue())
                        : Float.floatToFloat16(v.floatValue()));
        List<Tuple.Tuple2<Integer, Arbitrary<Short>>> choices = new ArrayList<>();
        choices.add(Tuple.of(rest - rest / 10, normal));
        choices.add(Tuple.of(rest / 10, Arbitraries.of(common)));
        if (special > 0) choices.add(Tuple.of(special, Arbitraries.of(all)));
        return Arbitraries.frequencyOf(choices);
    }

    @Provide
    Arbitrary<SpecialCase> specialCases() {
        Arbitrary<Integer> ms = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.integers().between(1, 7)),
                Tuple.of(1, Arbitraries.integers().between(8, 16)));
        Arbitrary<SpecialSetup> setups = Combinators.combine(
                        Arbitraries.of(DType.BF16, DType.F16),
                        ms,
                        Arbitraries.integers().between(1, 40),
                        Arbitraries.integers().between(1, 300),
                        Arbitraries.of(false, true),
                        Arbitraries.of(0, 1, 2))
                .as((t, m, n, k, tw, rate) -> new SpecialSetup(t, m, n, k, tw, SPECIAL_RATES[rate]));
        return SizesFirst.flatMap(
                setups,
                st -> Combinators.combine(
                                Draws.normals((long) st.m() * st.k()),
                                weightBits(st.type(), st.specialRate())
                                        .list()
                                        .ofSize(st.n() * st.k())
                                        .map(MixedGemmTest::shorts))
                        .as((a, w) -> new SpecialCase(st, a, w)));
    }

    private static short[] shorts(List<Short> values) {
        short[] out = new short[values.size()];
        for (int i = 0; i < out.length; i++) out[i] = values.get(i);
        return out;
    }

    /**
     * 16-bit weights with zeros of both signs, subnormals, the largest finite values, infinities and NaNs, in random
     * rows, through every path (skinny M &lt; 8 both layouts, packed): each output must equal the float64 sum of the
     * decoded products — inf where the float64 sum is inf, NaN where it is NaN — within the usual tolerance. Rows with
     * an inf or NaN take the F16 path's exact recomputation; the rest its two-halves-per-lane conversion, which must
     * still turn subnormals and −0 into the right values.
     */
    @Property(tries = 40)
    void specialWeightValues(@ForAll("specialCases") SpecialCase sc) {
        SpecialSetup st = sc.s();
        DType type = st.type();
        int m = st.m(), n = st.n(), k = st.k();
        boolean tw = st.tw();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate((long) m * k * 4),
                    w = arena.allocate((long) n * k * 2),
                    c = arena.allocate((long) m * n * 4);
            a.copyFrom(MemorySegment.ofArray(sc.a()));
            double[] wd = new double[n * k];
            for (int i = 0; i < n * k; i++) {
                short bits = sc.w()[i];
                w.setAtIndex(ValueLayout.JAVA_SHORT, i, bits);
                wd[i] = type == DType.BF16 ? FloatConversions.bf16ToFloat(bits) : Float.float16ToFloat(bits);
            }
            MixedGemm.gemm(type, false, tw, m, n, k, 1f, a, 0, k, w, 0, tw ? k : n, 0f, c, 0, n);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0, mag = 0;
                    for (int p = 0; p < k; p++) {
                        double t =
                                a.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * k + p) * wd[tw ? j * k + p : p * n + j];
                        s += t;
                        mag += Math.abs(t);
                    }
                    double got = c.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * n + j);
                    String where = type + " C[" + i + "][" + j + "] of " + m + "x" + n + "x" + k + (tw ? " Wᵀ" : "");
                    // finite products whose magnitudes add past Float.MAX_VALUE may overflow a float accumulator
                    // (to ±inf, or to NaN against an opposite inf): only a NaN sum is then still certain
                    if (Double.isNaN(s) || finiteMag(a, i, k, wd, tw, j, n) < Float.MAX_VALUE / 2) {
                        if (Double.isNaN(s) || Double.isInfinite(s)) assertEquals(s, got, where);
                        else assertEquals(s, got, 2 * Math.sqrt(k) * EPS * mag + 1e-30, where);
                    }
                }
            }
        }
    }

    /** Σ|a·w| over the finite products of one output (the part that can overflow a float accumulator). */
    private static double finiteMag(MemorySegment a, int i, int k, double[] wd, boolean tw, int j, int n) {
        double mag = 0;
        for (int p = 0; p < k; p++) {
            double t =
                    Math.abs(a.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * k + p) * wd[tw ? j * k + p : p * n + j]);
            if (Double.isFinite(t)) mag += t;
        }
        return mag;
    }

    @Test
    void gemvOfALinearLayerWeight() {
        // y = x·Wᵀ with W [n, k] F16: 4096-wide rows exercise the streaming path's vector body and a 3-element tail
        int n = 19, k = 4099;
        Random r = new Random(7);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(k * 4L), w = arena.allocate((long) n * k * 2), y = arena.allocate(n * 4L);
            for (int p = 0; p < k; p++) x.setAtIndex(ValueLayout.JAVA_FLOAT, p, (float) r.nextGaussian());
            for (long i = 0; i < (long) n * k; i++)
                w.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16((float) r.nextGaussian()));
            MixedGemm.gemv(DType.F16, true, n, k, x, 0, w, 0, k, y, 0);
            for (int j = 0; j < n; j++) {
                double[] sm = f16RowSum(x, w, j, k);
                assertEquals(
                        sm[0], y.getAtIndex(ValueLayout.JAVA_FLOAT, j), 2 * Math.sqrt(k) * EPS * sm[1], "y[" + j + "]");
            }
        }
    }

    /**
     * The float64 sum of x[p]·W[j][p] over p &lt; k for an F16 W [n, k] decoded by the JDK, and Σ|x[p]·W[j][p]|: {sum,
     * magnitude}.
     */
    /**
     * One-row products with 16-bit Linear weights whose rows pass {@link HalfDots#LONG_ROWS} (the four-row decode
     * dots, then pairs for the last w mod 4 outputs), against a float64 loop over the JDK's conversions with the
     * bound γ(k + 1)·Σ|x·w|; one F16 row holds an inf, whose quad goes through the exact scalar sums (inf expected).
     */
    @Test
    void decodeProductsWithRowsPastTheL1Length() {
        Random r = new Random(23);
        int k = HalfDots.LONG_ROWS + 37;
        for (DType t : new DType[] {DType.F16, DType.BF16}) {
            for (int n : new int[] {4, 7, 13}) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment x = arena.allocate(4L * k),
                            w = arena.allocate(2L * n * k),
                            y = arena.allocate(4L * n);
                    for (int i = 0; i < k; i++) x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
                    for (long i = 0; i < (long) n * k; i++) {
                        float v = (float) (r.nextGaussian() * 0.05);
                        w.setAtIndex(
                                ValueLayout.JAVA_SHORT,
                                i,
                                t == DType.F16 ? Float.floatToFloat16(v) : (short) (Float.floatToRawIntBits(v) >>> 16));
                    }
                    int infRow = n - 2;
                    if (t == DType.F16) w.setAtIndex(ValueLayout.JAVA_SHORT, (long) infRow * k + 100, (short) 0x7C00);
                    MixedGemm.gemv(t, true, n, k, x, 0, w, 0, k, y, 0);
                    for (int j = 0; j < n; j++) {
                        double s = 0, mag = 0;
                        for (int p = 0; p < k; p++) {
                            short h = w.getAtIndex(ValueLayout.JAVA_SHORT, (long) j * k + p);
                            double wv = t == DType.F16 ? Float.float16ToFloat(h) : Float.intBitsToFloat(h << 16);
                            double term = x.getAtIndex(ValueLayout.JAVA_FLOAT, p) * wv;
                            s += term;
                            mag += Math.abs(term);
                        }
                        float got = y.getAtIndex(ValueLayout.JAVA_FLOAT, j);
                        if (Double.isInfinite(s) || Double.isNaN(s)) {
                            assertEquals(s, (double) got, t + " n=" + n + " row " + j);
                            continue;
                        }
                        double u = 0x1p-24, gamma = (k + 1) * u / (1 - (k + 1) * u);
                        assertEquals(s, got, gamma * mag, t + " n=" + n + " row " + j);
                    }
                }
            }
        }
    }

    static double[] f16RowSum(MemorySegment x, MemorySegment w, int j, int k) {
        double s = 0, mag = 0;
        for (int p = 0; p < k; p++) {
            double t = x.getAtIndex(ValueLayout.JAVA_FLOAT, p)
                    * (double) Float.float16ToFloat(w.getAtIndex(ValueLayout.JAVA_SHORT, (long) j * k + p));
            s += t;
            mag += Math.abs(t);
        }
        return new double[] {s, mag};
    }

    @Test
    void batchedSgemmWithASharedWeight() {
        int batch = 3, m = 5, n = 11, k = 9;
        Random r = new Random(11);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate((long) batch * m * k * 4),
                    b = arena.allocate((long) k * n * 4),
                    c = arena.allocate((long) batch * m * n * 4);
            for (long i = 0; i < a.byteSize() / 4; i++)
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            for (long i = 0; i < b.byteSize() / 4; i++)
                b.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            Sgemm.sgemmBatched(
                    batch, false, false, m, n, k, 1f, a, 0, k, (long) m * k, b, 0, n, 0, 0f, c, 0, n, (long) m * n);
            for (int q = 0; q < batch; q++) {
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double s = 0, mag = 0;
                        for (int p = 0; p < k; p++) {
                            double t = a.getAtIndex(ValueLayout.JAVA_FLOAT, (long) q * m * k + (long) i * k + p)
                                    * (double) b.getAtIndex(ValueLayout.JAVA_FLOAT, (long) p * n + j);
                            s += t;
                            mag += Math.abs(t);
                        }
                        assertEquals(
                                s,
                                c.getAtIndex(ValueLayout.JAVA_FLOAT, (long) q * m * n + (long) i * n + j),
                                2 * Math.sqrt(k) * EPS * mag + 1e-30);
                    }
                }
            }
            assertThrows(
                    IllegalArgumentException.class,
                    () -> Sgemm.sgemmBatched(2, false, false, m, n, k, 1f, a, 0, k, 0, b, 0, n, 0, 0f, c, 0, n, 1));
        }
    }

    @Test
    void weightsPastTheirSegmentAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(8 * 4), w = arena.allocate(8 * 8 * 2 - 2), y = arena.allocate(8 * 4);
            IndexOutOfBoundsException e = assertThrows(
                    IndexOutOfBoundsException.class, () -> MixedGemm.gemv(DType.BF16, true, 8, 8, x, 0, w, 0, 8, y, 0));
            assert e.getMessage().contains("BF16") : e.getMessage();
        }
    }
}
