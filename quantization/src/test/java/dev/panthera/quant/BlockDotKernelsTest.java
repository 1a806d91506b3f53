package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.ggml.GgmlQuants;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
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
 * The M = 1 block-dot kernels over F32 activations ({@link GgmlDot}, {@link BlockDot}, {@link KQuantDot};
 * {@link QuantizedMatmul#matmulF32Activations}) of every GGML block type against
 * a float64 sum over the scalar reference decoder's weights ({@code GgmlQuants.dequantize}, itself checked byte for
 * byte against ggml in GgmlAgainstLlamaCppTest). The kernels run at {@link QuantLanes#F}: this class runs in the
 * default test JVM (the machine's widest vectors) and again in a JVM limited to AVX2 ({@code -XX:UseAVX=2}, 256-bit
 * vectors) and one with {@code -Dpanthera.simd.bits=128} (the surefire executions of this module's pom).
 */
class BlockDotKernelsTest {
    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LEF = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final GgmlType[] TYPES = {
        GgmlType.Q8_0,
        GgmlType.Q4_0,
        GgmlType.Q4_1,
        GgmlType.Q5_0,
        GgmlType.Q5_1,
        GgmlType.Q4_K,
        GgmlType.Q5_K,
        GgmlType.Q6_K,
        GgmlType.Q8_K
    };

    /** Row counts: 1, primes, and ones that are no multiple of a vector width or the tile. */
    static final int[] ROWS = {1, 2, 3, 7, 13, 31, 37, 64};

    /**
     * An fp16 scale: mostly N(0, 0.1), sometimes an extreme one (0, the smallest subnormal, the largest finite, a
     * negative) so sub-block products far from 1 and exact zeros are covered.
     */
    static short scale(Random r) {
        return switch (r.nextInt(8)) {
            case 0 -> Float.floatToFloat16(0f);
            case 1 -> (short) 1; // 2^-24, the smallest fp16 subnormal
            case 2 -> Float.floatToFloat16(r.nextBoolean() ? 65504f : -65504f);
            default -> Float.floatToFloat16((float) r.nextGaussian() * 0.1f);
        };
    }

    /**
     * Blocks of {@code type} from a seeded Random, for the fixed fixtures: random bytes everywhere (every quant, every
     * packed scale), then {@link #scale} scales (the properties draw theirs with {@link QuantDraws#blocks}).
     */
    static QuantizedWeight randomWeight(GgmlType type, int out, int in, Random r, Arena arena) {
        long bytes = type.bytesFor((long) out * in), blocks = (long) out * in / type.blockSize();
        byte[] raw = new byte[(int) bytes];
        r.nextBytes(raw);
        float[] scales = new float[(int) blocks * QuantDraws.scalesPerBlock(type)];
        for (int i = 0; i < scales.length; i++) scales[i] = Float.float16ToFloat(scale(r));
        QuantDraws.patchScales(type, MemorySegment.ofArray(raw), blocks, scales);
        return new QuantDraws.Blocks(type, out, in, raw).weight(arena);
    }

    /**
     * |min term| of weight [row, col]: dmin·m of its sub-block (Q4_K, Q5_K) or the block's m (Q4_1, Q5_1); 0 for the
     * formats without one.
     */
    static double minTerm(QuantizedWeight w, int row, int col) {
        MemorySegment s = w.blocks();
        long at = row * w.rowBytes()
                + (long) w.type().typeSize() * (col / w.type().blockSize());
        return switch (w.type()) {
            case Q4_1, Q5_1 -> Math.abs(Float.float16ToFloat(s.get(LE16, at + 2)));
            case Q4_K, Q5_K ->
                Math.abs(Float.float16ToFloat(s.get(LE16, at + 2))
                        * GgmlQuants.scaleMinK4(s, at + 4, (col % 256) / 32, 1));
            default -> 0;
        };
    }

    /**
     * y against Σ x·w in float64 over the reference decoder's weights. Bound, from the summation order: the kernels
     * form Σ_s c_s·(Σ q·x) [- Σ_s μ_s·(Σ x)] with FMAs into lane accumulators, per-(sub-)block scales c_s = fl(d·sc),
     * a few accumulator sums and a lane reduction; every product term passes through at most k + 2 roundings (k ≥ 32
     * weights; fewer in fact: log2 of the lanes for the reduction plus the block and sub-block chains), and the
     * reference's own weights differ from c·q - μ by at most two roundings of |c·q| + |μ|. The terms summed are
     * |x|·|c·q| ≤ |x|·(|w| + μ) and |x|·μ, so |error| ≤ (k + 2)·2^-24·Σ|x|·(|w| + 2μ) to first order (the 1.01 covers
     * the second).
     */
    static void check(float[] x, QuantizedWeight w, float[] y, String what) {
        int n = (int) w.out(), k = (int) w.in();
        float[] wd = w.dequantize();
        for (int j = 0; j < n; j++) {
            double s = 0, a = 0;
            for (int l = 0; l < k; l++) {
                s += (double) x[l] * wd[j * k + l];
                a += Math.abs((double) x[l]) * (Math.abs(wd[j * k + l]) + 2 * minTerm(w, j, l));
            }
            double bound = (k + 2) * 0x1p-24 * a * 1.01;
            assertEquals(s, y[j], bound, what + " y[" + j + "]");
        }
    }

    /** A weight's blocks and one activation row. */
    record Dot(QuantDraws.Blocks w, float[] x) {
        @Override
        public String toString() {
            return w + " x=" + QuantDraws.show(x);
        }
    }

    /**
     * Every block type, a row count from {@link #ROWS}, 1 to 11 blocks per row, drawn before the blocks
     * ({@link QuantDraws#extremeScales} scales) and the N(0, 1) activations (times 1000 one time in four), so a
     * failure shrinks to a small weight first.
     */
    @Provide
    Arbitrary<Dot> dots() {
        Arbitrary<Tuple.Tuple3<GgmlType, Integer, Integer>> sizes = Combinators.combine(
                        Arbitraries.of(TYPES),
                        Arbitraries.of(Arrays.stream(ROWS).boxed().toList()),
                        Arbitraries.integers().between(1, 11))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            GgmlType type = t.get1();
            int n = t.get2(), k = t.get3() * type.blockSize();
            return Combinators.combine(
                            QuantDraws.blocks(type, n, k, QuantDraws.extremeScales()),
                            QuantDraws.normals(k),
                            QuantDraws.activationScales())
                    .as((w, x, s) -> {
                        for (int i = 0; i < k; i++) x[i] *= s;
                        return new Dot(w, x);
                    });
        });
    }

    @Property(tries = 120)
    void everyBlockTypeAgainstFloat64(@ForAll("dots") Dot c) {
        GgmlType type = c.w().type();
        int n = c.w().out(), k = c.w().in();
        try (Arena arena = Arena.ofConfined()) {
            QuantizedWeight w = c.w().weight(arena);
            float[] x = c.x();
            float[] y = new float[n];
            QuantizedMatmul.matmulF32Activations(x, 1, w, y);
            check(x, w, y, type + " " + QuantLanes.F.vectorBitSize() + "-bit n=" + n + " k=" + k);
        }
    }

    @Test
    void theKernelsRunAtTheWidthThisJvmWasStartedWith() {
        String bits = System.getProperty("panthera.simd.bits");
        int expected = bits != null
                ? Integer.parseInt(bits)
                : jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
        assertEquals(expected, QuantLanes.F.vectorBitSize());
        assertEquals(expected / 32, KQuantDot.lanes());
    }

    /** The prefill panels' Vector API decoders give the scalar reference decoder's floats exactly, as documented. */
    /** Q4_K, Q6_K or Q8_0, 1 to 5 blocks per row, three rows, drawn before the blocks. */
    @Provide
    Arbitrary<QuantDraws.Blocks> panelWeights() {
        Arbitrary<Tuple.Tuple2<GgmlType, Integer>> sizes = Combinators.combine(
                        Arbitraries.of(GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q8_0, GgmlType.Q4_0),
                        Arbitraries.integers().between(1, 5))
                .as(Tuple::of);
        return SizesFirst.flatMap(
                sizes,
                t -> QuantDraws.blocks(t.get1(), 3, t.get2() * t.get1().blockSize(), QuantDraws.extremeScales()));
    }

    @Property(tries = 30)
    void vectorDequantizersGiveTheScalarDecodersFloats(@ForAll("panelWeights") QuantDraws.Blocks b) {
        GgmlType type = b.type();
        int k = b.in(), n = b.out();
        try (Arena arena = Arena.ofConfined()) {
            QuantizedWeight w = b.weight(arena);
            float[] dst = new float[k];
            for (int row = 0; row < n; row++) {
                long ro = row * w.rowBytes();
                switch (type) {
                    case Q4_K -> KQuantDot.dequantQ4K(w.blocks(), ro, k, dst, 0);
                    case Q6_K -> KQuantDot.dequantQ6K(w.blocks(), ro, k, dst, 0);
                    case Q8_0 -> KQuantDot.dequantQ8_0(w.blocks(), ro, k, dst, 0);
                    default -> KQuantDot.dequantQ4_0(w.blocks(), ro, k, dst, 0);
                }
                float[] expected = new float[k];
                w.dequantizeRow(row, expected, 0);
                assertArrayEquals(expected, dst, type + " row " + row + " k=" + k);
            }
        }
    }

    @Test
    void rowsSplitOverThreadsGiveTheSameDots() {
        Random r = new Random(11);
        try (Arena arena = Arena.ofShared()) {
            for (GgmlType t : TYPES) {
                // 1031 rows (a prime) of 2048: past the parallel threshold, the split does not fall on a tile edge
                QuantizedWeight w = randomWeight(t, 1031, 2048, r, arena);
                float[] x = new float[2048];
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                float[] y = new float[1031];
                QuantizedMatmul.matmulF32Activations(x, 1, w, y);
                check(x, w, y, t + " parallel");
            }
        }
    }

    @Test
    void aStridedInputIsReadAsItsValues() {
        Random r = new Random(13);
        try (Arena arena = Arena.ofShared()) {
            QuantizedWeight w = randomWeight(GgmlType.Q4_K, 5, 256, r, arena);
            QuantizedLinear lin = QuantizedLinear.of(w, null);
            float[] v = new float[256 * 3];
            for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
            // column 1 of a [256, 3] matrix: a view with stride 3
            Tensor col = Tensor.of(v, 256, 3).select(1, 1);
            float[] x = col.toFloatArray();
            try (var g = Autograd.noGrad()) {
                float[] y = lin.forward(col).toFloatArray();
                float[] expect = new float[5];
                QuantizedMatmul.matmul(x, 1, w, expect);
                assertArrayEquals(expect, y);
                QuantizedMatmulTest.check(QuantLanes.F, x, 1, w, y, "strided Q4_K"); // the decode path's activations
            }
        }
    }
}
