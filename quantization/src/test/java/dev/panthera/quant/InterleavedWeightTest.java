package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.simd.FilledSgemm;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
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
 * The row-grouped Q4_0, Q8_0, Q4_K and (where their 16-bit kernels run) Q5_K and Q6_K weights: the regrouping is lossless (each
 * row's GGML bytes come back), the panel decoder gives the scalar decoder's floats bit for bit, and the decode kernels
 * and the panel path match the float64 product of the dequantized weight within {@link QuantizedMatmulTest#check}'s
 * bound (one Q4_0 row, which is quantized to 8 bits first: the product with its quantized values, within {@link
 * IntDotKernelsTest#checkInt}'s), at the width this JVM runs (the surefire executions run this class at 512, 256 and
 * 128 bits).
 */
class InterleavedWeightTest {
    /** The grouped types at this JVM's width: Q5_K and Q6_K are regrouped only where their 16-bit kernels run. */
    static final GgmlType[] TYPES = QuantizedMatmul.groupedInt(GgmlType.Q6_K, 1)
            ? new GgmlType[] {GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}
            : new GgmlType[] {GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K};

    /** Byte offset of d, the block scale every grouped type has, in a block of {@code t}. */
    static int dAt(GgmlType t) {
        return t == GgmlType.Q6_K ? 208 : 0;
    }

    @Test
    void everyFiniteHalfConvertsAsFloat16ToFloat() {
        byte[] a = new byte[2 * 65536 + InterleavedWeight.PAD];
        for (int h = 0; h < 65536; h++) {
            a[2 * h] = (byte) h;
            a[2 * h + 1] = (byte) (h >> 8);
        }
        float[] got = new float[InterleavedDot.L];
        int checked = 0;
        for (int h = 0; h < 65536; h += InterleavedDot.L) {
            InterleavedDot.halves(a, 2 * h).intoArray(got, 0);
            for (int l = 0; l < got.length; l++) {
                float want = Float.float16ToFloat((short) (h + l));
                if (!Float.isFinite(want)) continue; // regroup keeps such scales out (see the test below)
                checked++;
                assertEquals(
                        Float.floatToRawIntBits(want),
                        Float.floatToRawIntBits(got[l]),
                        "half 0x" + Integer.toHexString(h + l) + ": want " + want + ", got " + got[l]);
            }
        }
        assertEquals(65536 - 2 * 1024, checked); // every half but the two exponent-31 ranges
    }

    @Test
    void aWeightWithAnInfiniteOrNaNScaleKeepsTheRowMajorKernels() {
        Random r = new Random(15);
        try (Arena arena = Arena.ofShared()) {
            for (GgmlType t : TYPES) {
                for (short bad : new short[] {(short) 0x7C00, (short) 0xFE01}) { // +infinity, a NaN
                    QuantizedWeight w = QuantizedMatmulTest.randomWeight(t, 32, t.blockSize(), r, arena);
                    assertNotNull(InterleavedWeight.regroup(w), t + " finite scales");
                    // row 17's first block's d
                    w.blocks().set(QuantDraws.LE16, 17 * w.rowBytes() + dAt(t), bad);
                    assertNull(InterleavedWeight.regroup(w), t + " scale 0x" + Integer.toHexString(bad & 0xFFFF));
                    QuantizedLinear layer = QuantizedLinear.of(w, null);
                    assertEquals(32 * w.rowBytes(), layer.weightBytes());
                    float[] x = new float[t.blockSize()];
                    for (int i = 0; i < x.length; i++) x[i] = 1 + r.nextFloat(); // no zero: 0·∞ would hide the sign
                    float[] y = layer.forward(Tensor.of(x, 1, x.length)).toFloatArray();
                    float[] rowMajor = new float[32];
                    QuantizedMatmul.matmul(x, 1, w, rowMajor);
                    assertFalse(Float.isFinite(y[17]), t + " y[17] = " + y[17]);
                    assertArrayEquals(rowMajor, y, t + ": the layer is the row-major product");
                }
            }
        }
    }

    @Test
    void regroupingGivesEachRowsBytesBack() {
        Random r = new Random(11);
        try (Arena arena = Arena.ofConfined()) {
            for (GgmlType t : TYPES) {
                for (int out : new int[] {16, 48}) {
                    for (int blocks : new int[] {1, 3}) {
                        int in = blocks * t.blockSize();
                        // random bytes everywhere: every quant value and (Q4_K) every packed scale bit pattern
                        byte[] raw = new byte[Math.toIntExact(t.bytesFor((long) out * in))];
                        r.nextBytes(raw);
                        if (t == GgmlType.Q6_K) { // d held as a float: drawn finite, as for Q4_K below
                            for (int at = 0; at < raw.length; at += 210)
                                raw[at + 209] &= (byte) ((raw[at + 209] & 0x7C) == 0x7C ? ~0x04 : ~0);
                        }
                        if (t == GgmlType.Q4_K || t == GgmlType.Q5_K) {
                            // d and dmin are held as floats: a NaN half's payload need not survive, and regroup
                            // refuses non-finite scales anyway, so they are drawn finite (exponent below 31)
                            for (int at = 0; at < raw.length; at += t == GgmlType.Q4_K ? 144 : 176) {
                                raw[at + 1] &= (byte) ((raw[at + 1] & 0x7C) == 0x7C ? ~0x04 : ~0);
                                raw[at + 3] &= (byte) ((raw[at + 3] & 0x7C) == 0x7C ? ~0x04 : ~0);
                            }
                        }
                        QuantizedWeight w = new QuantDraws.Blocks(t, out, in, raw).weight(arena);
                        InterleavedWeight g = InterleavedWeight.of(w);
                        int rb = Math.toIntExact(w.rowBytes());
                        for (int row = 0; row < out; row++) {
                            byte[] want =
                                    w.blocks().asSlice((long) row * rb, rb).toArray(ValueLayout.JAVA_BYTE);
                            assertArrayEquals(want, g.rowBlocks(row), t + " [" + out + ", " + in + "] row " + row);
                        }
                    }
                }
            }
        }
    }

    /**
     * Weights stacked (parts of 8, 40, 16 and 32 rows: groups that straddle parts) and regrouped from a shared arena,
     * where the row groups are split over one, two and three threads, give the bytes of one weight holding the same
     * rows back to back in a confined arena, which is regrouped on the calling thread alone.
     */
    @Test
    void stackedPartsOnSeveralThreadsGiveTheOneWeightsBytes() {
        Random r = new Random(23);
        for (GgmlType t : TYPES) {
            int in = 12 * 256; // 96 rows × 3072: past the work GEMM's threads split at
            int[] outs = {8, 40, 16, 32};
            try (Arena shared = Arena.ofShared();
                    Arena confined = Arena.ofConfined()) {
                java.util.List<QuantizedWeight> parts = new java.util.ArrayList<>();
                java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
                for (int o : outs) {
                    QuantizedWeight p = QuantizedMatmulTest.randomWeight(t, o, in, r, shared);
                    parts.add(p);
                    all.writeBytes(p.blocks().toArray(ValueLayout.JAVA_BYTE));
                }
                QuantizedWeight one = new QuantDraws.Blocks(t, 96, in, all.toByteArray()).weight(confined);
                byte[] want = InterleavedWeight.of(one).data;
                for (int threads = 1; threads <= 3; threads++) {
                    try (var scope = dev.panthera.simd.GemmConfig.of(threads).use()) {
                        InterleavedWeight g = InterleavedWeight.regroup("stack", parts);
                        assertNotNull(g, t + " regrouped");
                        assertArrayEquals(want, g.data, t + " stacked on " + threads + " threads");
                    }
                }
            }
        }
    }

    @Test
    void aWeightPastTheRegroupingBudgetKeepsTheRowMajorKernels() {
        Random r = new Random(16);
        long old = InterleavedWeight.BUDGET.limit(0);
        try (Arena arena = Arena.ofShared()) {
            QuantizedWeight w = QuantizedMatmulTest.randomWeight(GgmlType.Q4_0, 32, 64, r, arena);
            assertNull(InterleavedWeight.regroup(w), "regrouped past a budget of 0 bytes");
            QuantizedLinear layer = QuantizedLinear.of(w, null);
            assertEquals(32 * w.rowBytes(), layer.weightBytes(), "the layer reads the source blocks");
            float[] x = new float[64];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            float[] y = layer.forward(Tensor.of(x, 1, 64)).toFloatArray(), rowMajor = new float[32];
            QuantizedMatmul.matmul(x, 1, w, rowMajor);
            assertArrayEquals(rowMajor, y, 0f);
            InterleavedWeight.BUDGET.limit(Long.MAX_VALUE);
            assertNotNull(InterleavedWeight.regroup(w), "regrouped within the budget");
        } finally {
            InterleavedWeight.BUDGET.limit(old);
        }
    }

    @Test
    void onlyTheGroupedTypesWithWholeGroupsAreRegrouped() {
        Random r = new Random(12);
        try (Arena arena = Arena.ofConfined()) {
            assertTrue(InterleavedWeight.supports(QuantizedMatmulTest.randomWeight(GgmlType.Q4_K, 32, 256, r, arena)));
            assertFalse(InterleavedWeight.supports(QuantizedMatmulTest.randomWeight(GgmlType.Q4_0, 24, 64, r, arena)));
            assertEquals(
                    QuantizedMatmul.groupedInt(GgmlType.Q6_K, 1),
                    InterleavedWeight.supports(QuantizedMatmulTest.randomWeight(GgmlType.Q6_K, 16, 256, r, arena)),
                    "Q6_K: regrouped where its 16-bit kernel runs");
            assertEquals(
                    QuantizedMatmul.groupedInt(GgmlType.Q5_K, 1),
                    InterleavedWeight.supports(QuantizedMatmulTest.randomWeight(GgmlType.Q5_K, 16, 256, r, arena)),
                    "Q5_K: regrouped where its 16-bit kernel runs");
            assertFalse(InterleavedWeight.supports(QuantizedMatmulTest.randomWeight(GgmlType.Q4_1, 16, 256, r, arena)));
            QuantizedWeight odd = QuantizedMatmulTest.randomWeight(GgmlType.Q8_0, 8, 32, r, arena);
            var e = assertThrows(IllegalArgumentException.class, () -> InterleavedWeight.of(odd));
            assertTrue(e.getMessage().contains("[8, 32]"), e.getMessage());
        }
    }

    /**
     * Whole rows through {@link InterleavedMatmul#dequantize} (k-major, every group's columns) and blocks of them
     * through {@link InterleavedMatmul#fill} (FilledSgemm's sliver layout, a depth range starting at a block other
     * than the first, a column range starting at the second group and ending in a part sliver where the sliver is
     * two groups wide): every float is the scalar decoder's, bit for bit.
     */
    @Test
    void panelDecoderGivesTheScalarDecodersFloats() {
        Random r = new Random(13);
        try (Arena arena = Arena.ofConfined()) {
            for (GgmlType t : TYPES) {
                int out = 48, in = 3 * t.blockSize(), bs = t.blockSize(), s = FilledSgemm.SLIVER;
                QuantizedWeight w = QuantizedMatmulTest.randomWeight(t, out, in, r, arena);
                InterleavedWeight g = InterleavedWeight.of(w);
                float[] want = w.dequantize();
                float[] b = new float[out * in];
                for (int grp = 0; grp < out / InterleavedWeight.ROWS; grp++)
                    InterleavedMatmul.dequantize(g, grp, 0, in / bs, b, grp * InterleavedWeight.ROWS, out);
                for (int n = 0; n < out; n++) {
                    for (int j = 0; j < in; j++) same(want[n * in + j], b[j * out + n], t + " W[" + n + ", " + j + "]");
                }
                int pc = bs, kc = 2 * bs, jc = InterleavedWeight.ROWS, nc = out - jc;
                float[] sl = new float[(nc + s - 1) / s * s * kc];
                java.util.Arrays.fill(sl, Float.NaN);
                InterleavedMatmul.fill(g, pc, kc, jc, nc, sl);
                for (int j = 0; j < (nc + s - 1) / s * s; j++) {
                    for (int p = 0; p < kc; p++) {
                        float got = sl[j / s * s * kc + p * s + j % s];
                        if (j < nc)
                            same(
                                    want[(jc + j) * in + pc + p],
                                    got,
                                    t + " sliver W[" + (jc + j) + ", " + (pc + p) + "]");
                        else same(0f, got, t + " sliver padding column " + j + ", depth " + p);
                    }
                }
            }
        }
    }

    private static void same(float want, float got, String what) {
        assertEquals(
                Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), what + ": want " + want + ", got " + got);
    }

    /** A type, m in [1, 9] or 17, 1 to 3 groups of rows, 1 to 3 blocks per row, drawn before the values. */
    @Provide
    Arbitrary<QuantizedMatmulTest.Product> products() {
        Arbitrary<Tuple.Tuple4<GgmlType, Integer, Integer, Integer>> sizes = Combinators.combine(
                        Arbitraries.of(TYPES),
                        Arbitraries.oneOf(Arbitraries.integers().between(1, 9), Arbitraries.just(17)),
                        Arbitraries.integers().between(1, 3),
                        Arbitraries.integers().between(1, 3))
                .as(Tuple::of);
        return SizesFirst.flatMap(
                sizes,
                t -> QuantizedMatmulTest.products(
                        t.get1(),
                        t.get2(),
                        InterleavedWeight.ROWS * t.get3(),
                        t.get4() * t.get1().blockSize()));
    }

    /**
     * Decode (m below 8) and panels (m from 8), against the float64 product: each y is checked with {@link
     * QuantizedMatmulTest#check}'s bound, (k + 2)·2^-24·Σ|x|·(|w| + 2μ). The kernels keep each term a single-rounding
     * product (exact nibble values, one FMA or product per term, one scaling per block or sub-block), so only the
     * summation order differs from the row-major dots that bound covers.
     */
    @Property(tries = 60)
    void groupedProductsAgainstFloat64(@ForAll("products") QuantizedMatmulTest.Product c) {
        int m = c.m(), n = c.w().out(), k = c.w().in();
        try (Arena arena = Arena.ofShared()) {
            QuantizedWeight w = c.w().weight(arena);
            InterleavedWeight g = InterleavedWeight.of(w);
            float[] y = new float[m * n];
            java.util.Arrays.fill(y, Float.NaN); // every output must be written
            InterleavedMatmul.matmul(c.x(), m, g, y);
            String what = w.type() + " grouped m=" + m + " n=" + n + " k=" + k;
            if (QuantizedMatmul.groupedInt(w.type(), m)) IntDotKernelsTest.checkInt(c.x(), m, w, y, what);
            else QuantizedMatmulTest.check(c.x(), m, w, y, what);
            // the filled-panel product at every m, on three threads: column ranges of one group each
            java.util.Arrays.fill(y, Float.NaN);
            try (var three = dev.panthera.simd.GemmConfig.of(3).use()) {
                InterleavedMatmul.panels(c.x(), m, g, y);
            }
            QuantizedMatmulTest.check(c.x(), m, w, y, w.type() + " grouped panels m=" + m + " n=" + n + " k=" + k);
        }
    }

    /**
     * Two to seven activation rows through the group kernels give each row exactly the bits the one-row kernel gives it
     * alone: where the 16-bit kernels run (512-bit vectors) Q8_0's, Q4_0's, Q5_K's and Q6_K's four rows per pass and Q4_K's
     * four and two, then one at a time; elsewhere Q8_0's float kernel four rows per pass. A batch's
     * decode step then rounds as each prompt's own would. Random weights of two groups, 1 to 3 blocks per row (Q4_K:
     * super-blocks), activations with a row of zeros and a row 1000 times larger among them.
     */
    @Test
    void severalRowsGiveEachRowTheOneRowBits() {
        Random r = new Random(23);
        java.util.List<GgmlType> types = new java.util.ArrayList<>(java.util.List.of(GgmlType.Q8_0));
        if (QuantizedMatmul.groupedInt(GgmlType.Q4_0, 2))
            types.addAll(java.util.List.of(GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K));
        try (Arena arena = Arena.ofShared()) {
            for (GgmlType t : types) {
                for (int blocks = 1; blocks <= 3; blocks++) {
                    int k = blocks * t.blockSize(), n = 2 * InterleavedWeight.ROWS;
                    QuantizedWeight w = QuantizedMatmulTest.randomWeight(t, n, k, r, arena);
                    InterleavedWeight g = InterleavedWeight.of(w);
                    for (int m = 2; m < QuantizedMatmul.DOTS_BELOW_M; m++) {
                        float[] x = new float[m * k];
                        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                        for (int i = 0; i < k; i++) x[i] = 0; // row 0 all zeros
                        for (int i = 0; i < k; i++) x[(m - 1) * k + i] *= 1000;
                        float[] y = new float[m * n];
                        InterleavedMatmul.matmul(x, m, g, y);
                        for (int i = 0; i < m; i++) {
                            float[] one = new float[n];
                            InterleavedMatmul.matmul(java.util.Arrays.copyOfRange(x, i * k, (i + 1) * k), 1, g, one);
                            for (int j = 0; j < n; j++)
                                assertEquals(
                                        Float.floatToRawIntBits(one[j]),
                                        Float.floatToRawIntBits(y[i * n + j]),
                                        t + " k=" + k + " m=" + m + " row " + i + " output " + j + ": " + y[i * n + j]
                                                + " against " + one[j] + " alone");
                        }
                    }
                }
            }
        }
    }

    @Test
    void aLayerOverAGroupedWeightMatchesTheSourceBlocks() {
        Random r = new Random(14);
        try (Arena arena = Arena.ofShared()) {
            for (GgmlType t : TYPES) {
                QuantizedWeight w = QuantizedMatmulTest.randomWeight(t, 64, 2 * t.blockSize(), r, arena);
                QuantizedLinear layer = QuantizedLinear.of(w, null);
                boolean grouped = QuantizedLinear.REGROUP && !QuantizedMatmul.intByDefault(t);
                assertEquals(
                        grouped ? InterleavedWeight.of(w).data.length - InterleavedWeight.PAD : 64 * w.rowBytes(),
                        layer.weightBytes());
                for (int m : new int[] {1, 3, 12}) {
                    float[] x = new float[m * (int) w.in()];
                    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                    float[] y = layer.forward(Tensor.of(x, m, w.in())).toFloatArray();
                    if (grouped && QuantizedMatmul.groupedInt(t, m))
                        IntDotKernelsTest.checkInt(x, m, w, y, t + " layer m=" + m);
                    else QuantizedMatmulTest.check(QuantLanes.F, x, m, w, y, t + " layer m=" + m);
                }
            }
        }
    }

    /**
     * A Q8_0, Q4_0, Q4_K or Q6_K weight of {@code out} rows whose every quant byte is {@code b}: Q8_0 and Q4_0 scales
     * 1; Q4_K d = dmin = 1 and every 6-bit scale and min 63 (all twelve packed bytes 0xFF); Q6_K (every ql and qh
     * byte b) d = 1 and every sub-block scale -128; Q5_K (every qh and qs byte b) as Q4_K.
     */
    private static QuantizedWeight uniform(GgmlType t, int out, int in, int b, Arena arena) {
        int blockBytes = Math.toIntExact(t.bytesFor(t.blockSize()));
        int quants = t == GgmlType.Q4_K || t == GgmlType.Q5_K ? 16 : 2;
        java.lang.foreign.MemorySegment blocks = arena.allocate((long) out * in / t.blockSize() * blockBytes);
        for (long o = 0; o < blocks.byteSize(); o += blockBytes) {
            short one = Float.floatToFloat16(1f);
            if (t == GgmlType.Q6_K) {
                for (int i = 0; i < 192; i++) blocks.set(ValueLayout.JAVA_BYTE, o + i, (byte) b);
                for (int i = 192; i < 208; i++) blocks.set(ValueLayout.JAVA_BYTE, o + i, (byte) -128);
                blocks.set(ValueLayout.JAVA_SHORT_UNALIGNED, o + 208, one);
                continue;
            }
            blocks.set(ValueLayout.JAVA_SHORT_UNALIGNED, o, one); // GGUF is little-endian, as this machine is
            if (t == GgmlType.Q4_K || t == GgmlType.Q5_K) {
                blocks.set(ValueLayout.JAVA_SHORT_UNALIGNED, o + 2, one);
                for (int i = 4; i < 16; i++) blocks.set(ValueLayout.JAVA_BYTE, o + i, (byte) 0xFF);
            }
            for (int i = quants; i < blockBytes; i++) blocks.set(ValueLayout.JAVA_BYTE, o + i, (byte) b);
        }
        return new QuantizedWeight("uniform", t, out, in, blocks);
    }

    /**
     * The 16-bit kernels' lane sums at their widest: nibbles 15 (and 0) against activation quants of ±127 give
     * sixteen products of 1,905 each, 30,480 per lane and sum, the most a short holds here; summing the low and high
     * nibbles' products (Q4_0), or a Q4_K sub-block's 32 products, in one lane would pass 32,767 and wrap. Q8_0 quant
     * bytes of -128 (or 127) against ±127 give two products of 16,256 (16,129) to a lane, 32,512 at most; a third
     * would wrap. Q6_K bytes 0x00 (every weight q - 32 = -32) or 0xFF (31) against ±127 give eight products of up
     * to 4,064 to a lane, 32,512 at most; a sub-block's sixteen in one lane would wrap. Q5_K bytes 0x00 (every weight
     * q - 16 = -16) or 0xFF (15) give sixteen products of up to 2,032 to a lane, 32,512; a sub-block's 32 in one lane
     * would wrap. Expected:
     * the float64 product of the weight and the quantized activation ({@link IntDotKernelsTest#checkInt}). Where the
     * 16-bit kernels do not run ({@link QuantizedMatmul#groupedInt}) the float kernels meet the float bound instead.
     */
    @Test
    void theWidestSixteenBitSumsDoNotWrap() {
        int out = 32;
        try (Arena arena = Arena.ofConfined()) {
            for (GgmlType t : TYPES) {
                int in = 3 * t.blockSize();
                int[] bytes = switch (t) {
                    case Q8_0 -> new int[] {0x80, 0x7F, 0x00};
                    case Q5_K, Q6_K -> new int[] {0x00, 0xFF, 0x0F};
                    default -> new int[] {0xFF, 0x00, 0x0F, 0xF0};
                };
                for (int b : bytes) {
                    QuantizedWeight w = uniform(t, out, in, b, arena);
                    InterleavedWeight g = InterleavedWeight.of(w);
                    for (float v : new float[] {1f, -1f}) {
                        float[] x = new float[in];
                        java.util.Arrays.fill(x, v);
                        float[] y = new float[out];
                        java.util.Arrays.fill(y, Float.NaN);
                        InterleavedMatmul.matmul(x, 1, g, y);
                        String what = String.format("%s bytes 0x%02X x = %s", t, b, v);
                        if (QuantizedMatmul.groupedInt(t, 1)) IntDotKernelsTest.checkInt(x, 1, w, y, what);
                        else QuantizedMatmulTest.check(x, 1, w, y, what);
                    }
                }
            }
        }
    }

    /**
     * A NaN or infinite activation value gives NaN or infinite outputs on every grouped decode: on the 16-bit ones its
     * block's scale is NaN, as a float dot's sum would be.
     */
    @Test
    void aNonFiniteActivationGivesNonFiniteOutputsOnTheGroupedDecodes() {
        try (Arena arena = Arena.ofConfined()) {
            for (GgmlType t : TYPES) {
                QuantizedWeight w = QuantizedMatmulTest.randomWeight(t, 32, 512, new Random(3), arena);
                InterleavedWeight g = InterleavedWeight.of(w);
                for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
                    float[] x = new float[512];
                    x[300] = bad;
                    float[] y = new float[32];
                    InterleavedMatmul.matmul(x, 1, g, y);
                    for (float v : y)
                        assertTrue(
                                Float.isNaN(v) || Float.isInfinite(v),
                                t + " " + bad + ": " + java.util.Arrays.toString(y));
                }
            }
        }
    }

    /**
     * Output rows split over threads (a product past {@link dev.panthera.simd.Sgemm#parallelRanges}' threshold, on
     * three threads) give each row its own dot: every row held to the bound of the one-thread product's reference.
     */
    @Test
    void groupedDecodeSplitOverThreads() {
        Random r = new Random(29);
        try (Arena arena = Arena.ofShared();
                var three = dev.panthera.simd.GemmConfig.of(3).use()) {
            for (GgmlType t : TYPES) {
                QuantizedWeight w = QuantizedMatmulTest.randomWeight(t, 1040, 2048, r, arena);
                float[] x = Q8ActivationTest.values(r, 2048);
                float[] y = new float[1040];
                java.util.Arrays.fill(y, Float.NaN);
                InterleavedMatmul.matmul(x, 1, InterleavedWeight.of(w), y);
                if (QuantizedMatmul.groupedInt(t, 1)) IntDotKernelsTest.checkInt(x, 1, w, y, t + " three threads");
                else QuantizedMatmulTest.check(x, 1, w, y, t + " three threads");
            }
        }
    }
}
