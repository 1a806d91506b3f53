package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/**
 * The quantized matmul against a float64 product of the dequantized weight (the scalar block decoders, themselves
 * checked against ggml in GgmlAgainstLlamaCppTest), at every vector width this machine has.
 */
class QuantizedMatmulTest {
    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final GgmlType[] TYPES = {
        GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
        GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_K, GgmlType.F32
    };

    static List<VectorSpecies<Float>> species() {
        List<VectorSpecies<Float>> out = new ArrayList<>();
        for (int bits = 128; bits <= FloatVector.SPECIES_PREFERRED.vectorBitSize(); bits *= 2)
            out.add(VectorSpecies.of(float.class, VectorShape.forBitSize(bits)));
        return out;
    }

    /**
     * Blocks of {@code type} from a seeded Random, for the fixed fixtures: random bits everywhere (every quant value),
     * then N(0, 1)·0.1 fp16 scales (a float N(0, 1) for Q8_K); N(0, 1) values for F32. The properties draw theirs with
     * {@link #weights}.
     */
    static QuantizedWeight randomWeight(GgmlType type, int out, int in, Random r, Arena arena) {
        if (type == GgmlType.F32) {
            float[] w = new float[out * in];
            for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
            return QuantizedWeight.quantize("w", w, out, in, type, arena);
        }
        long bytes = type.bytesFor((long) out * in), blocks = (long) out * in / type.blockSize();
        byte[] raw = new byte[(int) bytes];
        r.nextBytes(raw);
        int per = QuantDraws.scalesPerBlock(type);
        float[] scales = new float[(int) blocks * per];
        for (int b = 0; b < blocks; b++) {
            float d = (float) r.nextGaussian() * 0.1f, m = (float) r.nextGaussian() * 0.1f;
            if (type == GgmlType.Q8_K) d = (float) r.nextGaussian();
            scales[b * per] = d;
            if (per == 2) scales[b * per + 1] = m;
        }
        QuantDraws.patchScales(type, MemorySegment.ofArray(raw), blocks, scales);
        return new QuantDraws.Blocks(type, out, in, raw).weight(arena);
    }

    /**
     * The blocks of an [out, in] weight of {@code type}: drawn bytes with N(0, 1)·0.1 scales (a float N(0, 1) for
     * Q8_K), or N(0, 1) values for F32.
     */
    static Arbitrary<QuantDraws.Blocks> weights(GgmlType type, int out, int in) {
        if (type == GgmlType.F32) return QuantDraws.f32Blocks(out, in);
        return QuantDraws.blocks(type, out, in, QuantDraws.normalScales(type == GgmlType.Q8_K ? 1 : 0.1));
    }

    /**
     * Checks y against the float64 product of x and the dequantized weight. Bound: the dequantized weights are the
     * reference decoder's floats (exact products q·d for Q8_0/Q4_0, the same scalar code in the tile path; Q6_K's
     * d·sc·q has one rounding, as a product term does), so the error is summation's. Any order of k fused multiply-adds, plus one scaling FMA per block and the lane reduction, has
     * depth at most k + 2, giving |error| ≤ (k + 2)·2^-24·Σ|x·w| (first order).
     */
    static void check(float[] x, int m, QuantizedWeight w, float[] y, String what) {
        int n = (int) w.out(), k = (int) w.in();
        float[] wd = w.dequantize();
        // the row-grouped Q4_0 decode sums d·q·x and 8d·x apart, as if 8d were a min
        boolean foldedQ4_0 =
                w.type() == GgmlType.Q4_0 && m < QuantizedMatmul.DOTS_BELOW_M && InterleavedWeight.supports(w);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0, a = 0;
                for (int l = 0; l < k; l++) {
                    s += (double) x[i * k + l] * wd[j * k + l];
                    // the decode dots of the formats with a min (Q4_1, Q5_1, Q4_K, Q5_K) sum d·sc·q·x and μ·x apart, so
                    // their terms are as large as |x|·(|w| + 2μ) (|d·sc·q| ≤ |w| + μ); the others sum x·w
                    double mu = foldedQ4_0 ? 8 * q4_0Scale(w, j, l) : q4kMin(w, j, l);
                    a += Math.abs((double) x[i * k + l]) * (Math.abs(wd[j * k + l]) + 2 * mu);
                }
                double bound = (k + 2) * 0x1p-24 * a * 1.01 + 1e-30;
                assertEquals(s, y[i * n + j], bound, what + " y[" + i + ", " + j + "]");
            }
        }
    }

    /**
     * {@link #check}, or {@link IntDotKernelsTest#checkInt} where the product at species {@code fs} took the integer
     * dots (8-bit activations), whose oracle is the quantized activation.
     */
    static void check(VectorSpecies<Float> fs, float[] x, int m, QuantizedWeight w, float[] y, String what) {
        if (QuantizedMatmul.intActivations(fs, w.type(), m, QuantizedMatmul.Activations.DEFAULT))
            IntDotKernelsTest.checkInt(x, m, w, y, what);
        else check(x, m, w, y, what);
    }

    /** |d| of the Q4_0 block holding weight [row, col]. */
    static double q4_0Scale(QuantizedWeight w, int row, int col) {
        long at = row * w.rowBytes()
                + (long) w.type().typeSize() * (col / w.type().blockSize());
        return Math.abs(Float.float16ToFloat(w.blocks().get(QuantDraws.LE16, at)));
    }

    /** The min term of weight [row, col] for the formats with one (see {@link BlockDotKernelsTest#minTerm}); else 0. */
    static double q4kMin(QuantizedWeight w, int row, int col) {
        return BlockDotKernelsTest.minTerm(w, row, col);
    }

    /** A weight's blocks and m activation rows. */
    record Product(QuantDraws.Blocks w, int m, float[] x) {
        @Override
        public String toString() {
            return w + " m=" + m + " x=" + QuantDraws.show(x);
        }
    }

    /** The product of [m, k] N(0, 1) activations and {@link #weights} of {@code type}, [n, k]. */
    static Arbitrary<Product> products(GgmlType type, int m, int n, int k) {
        return Combinators.combine(weights(type, n, k), QuantDraws.normals(m * k))
                .as((w, x) -> new Product(w, m, x));
    }

    /**
     * Every type (F32 too), m in [0, 5], n in [0, 19], 0 to 3 blocks per row (F32: 37·blocks + 4 values, or 1, so a
     * prime length meets the scalar tail), drawn before the weight and the activations.
     */
    @Provide
    Arbitrary<Product> decodeProducts() {
        Arbitrary<Tuple.Tuple4<GgmlType, Integer, Integer, Integer>> sizes = Combinators.combine(
                        Arbitraries.of(TYPES),
                        Arbitraries.integers().between(0, 5),
                        Arbitraries.integers().between(0, 19),
                        Arbitraries.integers().between(0, 3))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            GgmlType type = t.get1();
            int kBlocks = t.get4();
            int k = type == GgmlType.F32 ? 37 * kBlocks + (kBlocks > 0 ? 4 : 1) : kBlocks * type.blockSize();
            return products(type, t.get2(), t.get3(), k);
        });
    }

    @Property(tries = 40)
    void everyTypeAndWidthAgainstFloat64(@ForAll("decodeProducts") Product c) {
        GgmlType type = c.w().type();
        int m = c.m(), n = c.w().out(), k = c.w().in();
        try (Arena arena = Arena.ofConfined()) {
            QuantizedWeight w = c.w().weight(arena);
            float[] x = c.x();
            for (VectorSpecies<Float> fs : species()) {
                float[] y = new float[m * n];
                QuantizedMatmul.matmul(fs, x, m, w, y);
                check(fs, x, m, w, y, type + " " + fs.vectorBitSize() + "-bit m=" + m + " n=" + n + " k=" + k);
            }
            float[] ref = new float[m * n];
            QuantizedMatmul.reference(x, m, w, ref);
            check(x, m, w, ref, type + " scalar reference");
        }
    }

    /**
     * Every type, m from {@link QuantizedMatmul#DOTS_BELOW_M}, 9, 17, 33, n in [1, 150], 1 to 4 blocks per row (F32:
     * 37·blocks + 4 values), drawn before the weight and the activations.
     */
    @Provide
    Arbitrary<Product> prefillProducts() {
        Arbitrary<Tuple.Tuple4<GgmlType, Integer, Integer, Integer>> sizes = Combinators.combine(
                        Arbitraries.of(TYPES),
                        Arbitraries.of(QuantizedMatmul.DOTS_BELOW_M, 9, 17, 33),
                        Arbitraries.integers().between(1, 150),
                        Arbitraries.integers().between(1, 4))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            GgmlType type = t.get1();
            int kBlocks = t.get4();
            int k = type == GgmlType.F32 ? 37 * kBlocks + 4 : kBlocks * type.blockSize();
            return products(type, t.get2(), t.get3(), k);
        });
    }

    /**
     * The prefill path (at least {@link QuantizedMatmul#DOTS_BELOW_M} activation rows: SGEMM over blocks decoded into
     * its slivers) for every type, with row counts that are no multiple of a sliver; same float64 oracle and bound as
     * {@link #check} (SGEMM sums the reference decoder's own floats).
     */
    @Property(tries = 30)
    void prefillPanelsAgainstFloat64(@ForAll("prefillProducts") Product c) {
        GgmlType type = c.w().type();
        int m = c.m(), n = c.w().out(), k = c.w().in();
        try (Arena arena = Arena.ofShared()) {
            QuantizedWeight w = c.w().weight(arena);
            float[] x = c.x();
            float[] y = new float[m * n];
            java.util.Arrays.fill(y, Float.NaN); // every output must be written
            QuantizedMatmul.matmul(x, m, w, y);
            check(x, m, w, y, type + " prefill m=" + m + " n=" + n + " k=" + k);
            // the same product on three threads: column ranges of whole 8-row tiles, slivers from each range's start
            java.util.Arrays.fill(y, Float.NaN);
            try (var three = dev.panthera.simd.GemmConfig.of(3).use()) {
                QuantizedMatmul.panels(x, m, w, y);
            }
            check(x, m, w, y, type + " prefill on three threads m=" + m + " n=" + n + " k=" + k);
        }
    }

    /**
     * The prefill path over more than one depth block of SGEMM (k past {@link dev.panthera.simd.FilledSgemm#DEPTH}),
     * so each weight row is decoded from a block column other than the first: a Vector API decoder (Q6_K, Q4_0) and
     * the scalar one (Q5_K), against the float64 product.
     */
    @Test
    void prefillAcrossDepthBlocks() {
        Random r = new Random(8);
        int k = dev.panthera.simd.FilledSgemm.DEPTH + 256, m = 9, n = 40;
        try (Arena arena = Arena.ofShared()) {
            for (GgmlType t : new GgmlType[] {GgmlType.Q6_K, GgmlType.Q4_0, GgmlType.Q5_K}) {
                QuantizedWeight w = randomWeight(t, n, k, r, arena);
                float[] x = new float[m * k], y = new float[m * n];
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                QuantizedMatmul.matmul(x, m, w, y);
                check(x, m, w, y, t + " prefill k=" + k);
            }
        }
    }

    @Test
    void decodeDotsReadBlocksInPlaceAtEveryWidth() {
        Random r = new Random(5);
        try (Arena arena = Arena.ofConfined()) {
            for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K}) {
                for (int kBlocks : new int[] {1, 2, 5}) {
                    for (int n : new int[] {1, 7}) {
                        QuantizedWeight w = randomWeight(t, n, t.blockSize() * kBlocks, r, arena);
                        float[] x = new float[t.blockSize() * kBlocks];
                        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                        for (VectorSpecies<Float> fs : species()) {
                            float[] y = new float[n];
                            QuantizedMatmul.matmul(fs, x, 1, w, y);
                            check(fs, x, 1, w, y, t + " decode " + fs.vectorBitSize() + "-bit k=" + x.length);
                        }
                    }
                }
            }
        }
    }

    @Test
    void largeProductsSplitAcrossThreadsAndTensorsKeepTheirLeadingDims() {
        Random r = new Random(7);
        try (Arena arena = Arena.ofShared();
                Arena confined = Arena.ofConfined()) {
            // a confined weight stays on this thread; a shared one is split over the pool
            QuantizedWeight own = randomWeight(GgmlType.Q4_0, 300, 512, r, confined);
            float[] x1 = new float[4 * 512];
            for (int i = 0; i < x1.length; i++) x1[i] = (float) r.nextGaussian();
            float[] y1 = new float[4 * 300];
            QuantizedMatmul.matmul(x1, 4, own, y1);
            check(QuantLanes.F, x1, 4, own, y1, "confined");
            float[] x17 = new float[17 * 512], y17 = new float[17 * 300]; // the prefill path, on three threads
            for (int i = 0; i < x17.length; i++) x17[i] = (float) r.nextGaussian();
            try (var three = dev.panthera.simd.GemmConfig.of(3).use()) {
                QuantizedMatmul.matmul(x17, 17, own, y17);
            }
            check(QuantLanes.F, x17, 17, own, y17, "confined m=17");
            for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q6_K}) {
                QuantizedWeight w = randomWeight(t, 300, 512, r, arena); // 300·512·m crosses the parallel threshold
                for (int m : new int[] {1, 17}) {
                    float[] x = new float[m * 512];
                    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                    float[] y = new float[m * 300];
                    QuantizedMatmul.matmul(x, m, w, y);
                    check(QuantLanes.F, x, m, w, y, t + " m=" + m);
                }
            }
            QuantizedWeight w = randomWeight(GgmlType.Q8_0, 5, 64, r, arena);
            float[] x = new float[2 * 3 * 64];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            Tensor y = QuantizedMatmul.matmul(Tensor.of(x, 2, 3, 64), w);
            assertArrayEquals(new long[] {2, 3, 5}, y.dims());
            check(QuantLanes.F, x, 6, w, y.toFloatArray(), "tensor");
            var e = assertThrows(
                    IllegalArgumentException.class, () -> QuantizedMatmul.matmul(Tensor.of(new float[63], 1, 63), w));
            assertTrue(e.getMessage().contains("[5, 64]") && e.getMessage().contains("63"), e.getMessage());
        }
    }

    @Test
    void weightsTheBlockSizeDoesNotDivideAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            var e = assertThrows(
                    IllegalArgumentException.class,
                    () -> QuantizedWeight.quantize(
                            "blk.0.ffn_down.weight", new float[4 * 48], 4, 48, GgmlType.Q8_0, arena));
            assertTrue(
                    e.getMessage().contains("blk.0.ffn_down.weight")
                            && e.getMessage().contains("[4, 48]"),
                    e.getMessage());
            float[] w = new float[64];
            w[5] = Float.NaN;
            var nan = assertThrows(
                    IllegalArgumentException.class,
                    () -> QuantizedWeight.quantize("attn_q", w, 2, 32, GgmlType.Q4_0, arena));
            assertTrue(nan.getMessage().contains("attn_q") && nan.getMessage().contains("weight 5"), nan.getMessage());
            assertThrows(
                    IllegalArgumentException.class,
                    () -> new QuantizedWeight("short", GgmlType.Q4_K, 2, 256, arena.allocate(144)));
        }
    }
}
