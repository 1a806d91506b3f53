package dev.panthera.quant;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.quant.oracle.LlamaCppGgml;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
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
 * The integer decode dots ({@link IntDot}: 8-bit activations, Q8_0, Q4_0, Q4_K, Q6_K weights) through
 * {@link QuantizedMatmul}, against the exact oracle for their integer arithmetic: the reference decoder's weights
 * times the quantized activation (the scalar port of ggml's quantizers in {@link Q8ActivationTest}, decoded as d·q),
 * both in float64; and against llama.cpp's own {@code ggml_vec_dot_*} on the same bytes. Runs at the default width
 * and in the AVX2 and 128-bit JVMs of this module's pom.
 */
class IntDotKernelsTest {
    static final GgmlType[] TYPES = {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K};

    /**
     * The block the 8-bit activation of a product over {@code t} is rounded in: 256 (Q8_K) for the K-quants, 32 (Q8_0)
     * otherwise, whichever integer kernel (row-major or 16-bit group) takes it.
     */
    static int activationBlock(GgmlType t) {
        return t.blockSize() == 256 ? 256 : 32;
    }

    /** Activation row {@code i} of x quantized as ggml does for {@code t}'s dot, decoded to float64 (d·q). */
    static double[] quantizedActivation(GgmlType t, float[] x, int i, int k) {
        float[] row = Arrays.copyOfRange(x, i * k, i * k + k);
        double[] a = new double[k];
        if (activationBlock(t) == 32) {
            MemorySegment b = MemorySegment.ofArray(Q8ActivationTest.portQ8_0(row, false));
            for (int j = 0; j < k; j++) {
                a[j] = Float.float16ToFloat(b.get(Q8ActivationTest.LE16, 34L * (j / 32)))
                        * (double) b.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 34L * (j / 32) + 2 + j % 32);
            }
        } else {
            MemorySegment b = MemorySegment.ofArray(Q8ActivationTest.portQ8K(row));
            for (int j = 0; j < k; j++) {
                a[j] = b.get(Q8ActivationTest.LEF, 292L * (j / 256))
                        * (double) b.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 292L * (j / 256) + 4 + j % 256);
            }
        }
        return a;
    }

    /**
     * y against Σ w·a in float64, a the quantized activation. Bound: within a block the kernels sum integers exactly
     * (int32, see IntDot's overflow note; a Q6_K lane above 2^24 rounds once converting to float); what rounds is the
     * float scale d_w·d_a (once), the FMA chain over the B blocks (or super-blocks) of a row, the lane reduction (at
     * most L - 1 adds, L ≤ 16), the mins' own chain and final subtraction for Q4_K; and the reference decoder's weights
     * differ from d·sc·q - dmin·m by at most three roundings of |d·sc·q| + |dmin·m|. So each term passes through at
     * most B + L + 6 roundings, and |error| ≤ (B + L + 6)·2^-24·Σ|a|·(|w| + 2μ) to first order (1.01 covers the
     * second), μ the weight's min term.
     */
    static void checkInt(float[] x, int m, QuantizedWeight w, float[] y, String what) {
        int n = (int) w.out(), k = (int) w.in();
        float[] wd = w.dequantize();
        int blocks = k / activationBlock(w.type());
        for (int i = 0; i < m; i++) {
            double[] a = quantizedActivation(w.type(), x, i, k);
            for (int j = 0; j < n; j++) {
                double s = 0, mag = 0;
                for (int l = 0; l < k; l++) {
                    s += a[l] * wd[j * k + l];
                    mag += Math.abs(a[l]) * (Math.abs(wd[j * k + l]) + 2 * BlockDotKernelsTest.minTerm(w, j, l));
                }
                double bound = (blocks + 16 + 6) * 0x1p-24 * mag * 1.01 + 1e-30;
                assertEquals(s, y[i * n + j], bound, what + " y[" + i + ", " + j + "]");
            }
        }
    }

    /** y = x·Wᵀ for one activation row through the integer dots, whatever the type's default. */
    static void int8(float[] x, QuantizedWeight w, float[] y) {
        QuantizedMatmul.matmul(QuantLanes.F, x, 1, w, y, QuantizedMatmul.Activations.INT8);
    }

    /** A weight's blocks and one activation row. */
    record IntCase(QuantDraws.Blocks w, float[] x) {
        @Override
        public String toString() {
            return w + " x=" + QuantDraws.show(x);
        }
    }

    /**
     * Q8_0, Q4_0, Q4_K or Q6_K, 0 rows or a count from {@link BlockDotKernelsTest#ROWS}, 0 to 6 blocks per row, drawn
     * before the blocks ({@link QuantDraws#extremeScales} scales) and the activation row ({@link
     * QuantDraws#activations}, times 1000 one time in four), so a failure shrinks to a small weight first.
     */
    @Provide
    Arbitrary<IntCase> intCases() {
        List<Integer> rows = new ArrayList<>(List.of(0));
        for (int n : BlockDotKernelsTest.ROWS) rows.add(n);
        Arbitrary<Tuple.Tuple3<GgmlType, Integer, Integer>> sizes = Combinators.combine(
                        Arbitraries.of(TYPES),
                        Arbitraries.of(rows),
                        Arbitraries.integers().between(0, 6))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            GgmlType type = t.get1();
            int n = t.get2(), k = t.get3() * type.blockSize();
            return Combinators.combine(
                            QuantDraws.blocks(type, n, k, QuantDraws.extremeScales()),
                            QuantDraws.activations(k),
                            QuantDraws.activationScales())
                    .as((w, x, s) -> {
                        for (int i = 0; i < k; i++) x[i] *= s;
                        return new IntCase(w, x);
                    });
        });
    }

    @Property(tries = 80)
    void integerDotsAgainstTheQuantizedActivationInFloat64(@ForAll("intCases") IntCase c) {
        int m = 1;
        GgmlType type = c.w().type();
        int n = c.w().out(), k = c.w().in();
        try (Arena arena = Arena.ofShared()) {
            QuantizedWeight w = c.w().weight(arena);
            float[] x = c.x();
            float[] y = new float[m * n];
            Arrays.fill(y, Float.NaN); // every output must be written
            int8(x, w, y);
            checkInt(x, m, w, y, type + " " + QuantLanes.F.vectorBitSize() + "-bit m=" + m + " n=" + n + " k=" + k);
        }
    }

    @Test
    void aNonContiguousActivationIsQuantizedFromItsValues() {
        Random r = new Random(17);
        try (Arena arena = Arena.ofShared()) {
            for (GgmlType t : TYPES) {
                QuantizedWeight w = BlockDotKernelsTest.randomWeight(t, 13, 512, r, arena);
                float[] v = Q8ActivationTest.values(r, 512 * 3);
                float[] x = Tensor.of(v, 512, 3).select(1, 2).toFloatArray(); // a view with stride 3
                float[] y = new float[13];
                QuantizedMatmul.matmulInt8Activations(x, 1, w, y);
                checkInt(x, 1, w, y, t + " strided");
                if (QuantizedMatmul.intByDefault(t)) { // the Tensor entry point takes the default path
                    checkInt(
                            x,
                            1,
                            w,
                            QuantizedMatmul.matmul(Tensor.of(v, 512, 3).select(1, 2), w)
                                    .toFloatArray(),
                            t + " tensor");
                }
            }
        }
    }

    @Test
    void rowsSplitOverThreadsGiveTheSameDots() {
        Random r = new Random(19);
        try (Arena arena = Arena.ofShared()) {
            for (GgmlType t : TYPES) {
                QuantizedWeight w = BlockDotKernelsTest.randomWeight(t, 1031, 2048, r, arena); // past the threshold
                float[] x = Q8ActivationTest.values(r, 2048);
                float[] y = new float[1031];
                int8(x, w, y);
                checkInt(x, 1, w, y, t + " parallel");
            }
        }
    }

    @Test
    void aNaNActivationGivesNaNOutputs() {
        try (Arena arena = Arena.ofConfined()) {
            for (GgmlType t : TYPES) {
                QuantizedWeight w = BlockDotKernelsTest.randomWeight(t, 3, 256, new Random(2), arena);
                float[] x = new float[256];
                x[100] = Float.NaN;
                float[] y = new float[3];
                int8(x, w, y);
                for (float v : y) assertTrue(Float.isNaN(v), t + ": " + Arrays.toString(y));
            }
        }
    }

    /**
     * llama.cpp's {@code ggml_vec_dot_<w>_q8_0 / _q8_K} (the de.kherud:llama library) on the same weight bytes and
     * our activation's bytes: both are held to {@link #checkInt}'s bound of the exact value, so they agree within twice
     * it; llama.cpp's own value meeting the bound also checks the bound's derivation against an independent kernel.
     */
    @Test
    void llamaCppsIntegerDotsAgree() throws Throwable {
        Random r = new Random(23);
        for (GgmlType t : TYPES) {
            String fn = switch (t) {
                case Q8_0 -> "ggml_vec_dot_q8_0_q8_0";
                case Q4_0 -> "ggml_vec_dot_q4_0_q8_0";
                case Q4_K -> "ggml_vec_dot_q4_K_q8_K";
                default -> "ggml_vec_dot_q6_K_q8_K";
            };
            MethodHandle dot = LlamaCppGgml.fn(
                    fn, null, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT);
            int n = 9, k = 1024;
            try (Arena arena = Arena.ofConfined()) {
                QuantizedWeight w = BlockDotKernelsTest.randomWeight(t, n, k, r, arena);
                float[] x = Q8ActivationTest.values(r, k);
                float[] ours = new float[n];
                int8(x, w, ours);
                checkInt(x, 1, w, llamaCppRows(dot, w, x, arena), t + " llama.cpp");
                checkInt(x, 1, w, ours, t + " ours");
            }
        }
    }

    /**
     * The 16-bit group kernels ({@link InterleavedIntDot#q4_0Int}, {@link InterleavedKIntDot#q4KInt}, through
     * {@link InterleavedMatmul}) beside llama.cpp's {@code ggml_vec_dot_q4_0_q8_0} / {@code ggml_vec_dot_q4_K_q8_K} on
     * the same weight rows and our activation's bytes, both held to {@link #checkInt}'s bound of the exact value, as
     * above; 32 rows (two groups), 1024 inputs.
     */
    @Test
    void llamaCppsIntegerDotsAgreeWithTheGroupedKernels() throws Throwable {
        // the 16-bit kernels run at 512-bit vectors unless decodeActivations=f32; elsewhere this test has nothing to do
        org.junit.jupiter.api.Assumptions.assumeTrue(
                QuantizedMatmul.groupedInt(GgmlType.Q4_0, 1),
                "skipped: the 16-bit group kernels do not run at " + QuantLanes.F.vectorBitSize() + " bits or with "
                        + "decodeActivations=f32");
        Random r = new Random(31);
        for (GgmlType t : new GgmlType[] {GgmlType.Q4_0, GgmlType.Q4_K}) {
            MethodHandle dot = LlamaCppGgml.fn(
                    t == GgmlType.Q4_0 ? "ggml_vec_dot_q4_0_q8_0" : "ggml_vec_dot_q4_K_q8_K",
                    null,
                    JAVA_INT,
                    ADDRESS,
                    JAVA_LONG,
                    ADDRESS,
                    JAVA_LONG,
                    ADDRESS,
                    JAVA_LONG,
                    JAVA_INT);
            int n = 32, k = 1024;
            try (Arena arena = Arena.ofConfined()) {
                QuantizedWeight w = BlockDotKernelsTest.randomWeight(t, n, k, r, arena);
                float[] x = Q8ActivationTest.values(r, k);
                float[] ours = new float[n];
                InterleavedMatmul.matmul(x, 1, InterleavedWeight.of(w), ours);
                checkInt(x, 1, w, llamaCppRows(dot, w, x, arena), t + " llama.cpp");
                checkInt(x, 1, w, ours, t + " ours, grouped");
            }
        }
    }

    /**
     * llama.cpp's integer dot {@code dot} of each of w's rows with x quantized by us in the form w's type takes (its
     * ggml bytes, {@link Q8ActivationTest#bytesQ8_0} / {@link Q8ActivationTest#bytesQ8K}).
     */
    private static float[] llamaCppRows(MethodHandle dot, QuantizedWeight w, float[] x, Arena arena) throws Throwable {
        int n = (int) w.out(), k = (int) w.in();
        Q8Activation act = QuantizedMatmul.activationBlock(w.type()) == 32
                ? Q8Activation.q8_0(x, 0, k)
                : Q8Activation.q8K(x, 0, k);
        byte[] ab = act.kForm ? Q8ActivationTest.bytesQ8K(act) : Q8ActivationTest.bytesQ8_0(act);
        MemorySegment vy = arena.allocate(ab.length, 64).copyFrom(MemorySegment.ofArray(ab));
        MemorySegment s = arena.allocate(4);
        float[] theirs = new float[n];
        for (int row = 0; row < n; row++) {
            MemorySegment vx = w.blocks().asSlice(row * w.rowBytes(), w.rowBytes());
            dot.invokeExact(k, s, 0L, vx, 0L, vy, 0L, 1);
            theirs[row] = s.get(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0);
        }
        return theirs;
    }

    /**
     * The Q4_K and Q5_K kernels' activation pairs as their javadoc states them: element u holds xq[2u]'s 16 bits low and
     * xq[2u + 1]'s high, written out here per element (lengths 0, 2, 18 and 2048; the extremes of a short at both ends
     * of a pair).
     */
    @Test
    void activationPairsHoldTheEvenQuantLowAndTheOddQuantHigh() {
        Random r = new Random(31);
        for (int n : new int[] {0, 2, 18, 2048}) {
            short[] xq = new short[n];
            for (int i = 0; i < n; i++)
                xq[i] = i < 4 ? new short[] {Short.MIN_VALUE, -1, Short.MAX_VALUE, 0}[i] : (short) r.nextInt(1 << 16);
            int[] xp = InterleavedKIntDot.pairs(xq);
            assertEquals(n / 2, xp.length);
            for (int u = 0; u < n / 2; u++) {
                assertEquals(xq[2 * u], (short) (xp[u] & 0xFFFF), "n=" + n + " pair " + u + " low half");
                assertEquals(xq[2 * u + 1], (short) (xp[u] >>> 16), "n=" + n + " pair " + u + " high half");
            }
        }
    }
}
