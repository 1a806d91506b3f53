package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * The F16 decode dot's two ways of applying the exponent bias 2^112: on each weight vector, or once on activations
 * below 2^15 in magnitude ({@link HalfDots#scalable}). Both must give the same bits — the scaled products are the
 * same real numbers — for weights across the whole finite F16 range (subnormals and both zeros included) and
 * activations from subnormal floats up to just below 2^15. Activations the scaling cannot take (2^15 and above, inf,
 * NaN) go the unscaled way and are checked against a float64 loop.
 */
class HalfDotsTest {

    record Case(int k, long seed) {}

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Integer> k = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.integers().between(0, 70)),
                Tuple.of(1, Arbitraries.of(HalfDots.BLOCK - 1, HalfDots.BLOCK, HalfDots.BLOCK + 1, 257, 768, 1021)),
                Tuple.of(2, Arbitraries.integers().between(70, 2100)));
        return Combinators.combine(k, Arbitraries.longs()).as(Case::new);
    }

    @Property(tries = 60)
    void scaledActivationsGiveTheSameBits(@ForAll("cases") Case c) {
        Random r = new Random(c.seed());
        int k = c.k();
        float[] x = new float[k];
        for (int i = 0; i < k; i++) {
            // magnitudes 2^-140 .. 2^15 (exclusive), subnormal floats among them, and zeros of both signs
            float v = (float) Math.scalb(1 + r.nextDouble(), r.nextInt(155) - 140);
            if (v >= 0x1p15f) v = Math.nextDown(0x1p15f);
            if (r.nextInt(20) == 0) v = 0;
            x[i] = r.nextBoolean() ? -v : v;
        }
        assertTrue(HalfDots.scalable(x, 0, k));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(2L * k * 2 + 2, 64);
            for (long i = 0; i < 2L * k + 1; i++) w.setAtIndex(ValueLayout.JAVA_SHORT, i, finiteHalf(r));
            long r0 = r.nextBoolean() ? 1 : 0, r1 = r0 + k; // rows at an odd element offset too
            float[] plain = new float[k], scaled = new float[k], a = new float[2], b = new float[2];
            HalfDots.splitEvenOdd(x, 0, plain, 0, k, 1f);
            HalfDots.splitEvenOdd(x, 0, scaled, 0, k, HalfDots.F16_SCALE);
            assertTrue(HalfDots.dot2(plain, 0, w, r0, r1, k, false, a));
            assertTrue(HalfDots.dot2(scaled, 0, w, r0, r1, k, true, b));
            assertEquals(Float.floatToRawIntBits(a[0]), Float.floatToRawIntBits(b[0]), "row 0: " + a[0] + " " + b[0]);
            assertEquals(Float.floatToRawIntBits(a[1]), Float.floatToRawIntBits(b[1]), "row 1: " + a[1] + " " + b[1]);
        }
    }

    /**
     * The four-row dots give each row the bits the two-row dots give it (rows (0, 1) and (2, 3) through dot2), for F16
     * with and without the activation scaling and for BF16, at any length (full blocks, the two-block BF16 steps and
     * element tails); an F16 inf or NaN in a full block of any of the four rows makes dot4 refuse, as dot2 does.
     */
    @Property(tries = 60)
    void fourRowDotsGiveEachRowTheTwoRowBits(@ForAll("cases") Case c) {
        Random r = new Random(c.seed());
        int k = c.k();
        float[] x = new float[k];
        for (int i = 0; i < k; i++) x[i] = (float) r.nextGaussian();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(4L * (k + 3) * 2 + 2, 64);
            for (long i = 0; i < w.byteSize() / 2; i++) w.setAtIndex(ValueLayout.JAVA_SHORT, i, finiteHalf(r));
            long r0 = r.nextInt(2), r1 = r0 + k + r.nextInt(2), r2 = r1 + k + r.nextInt(2), r3 = r2 + k;
            float[] two = new float[4], four = new float[4], pair = new float[2];
            for (boolean scaled : new boolean[] {false, true}) {
                float[] xs = new float[k];
                HalfDots.splitEvenOdd(x, 0, xs, 0, k, scaled ? HalfDots.F16_SCALE : 1f);
                assertTrue(HalfDots.dot2(xs, 0, w, r0, r1, k, scaled, pair));
                two[0] = pair[0];
                two[1] = pair[1];
                assertTrue(HalfDots.dot2(xs, 0, w, r2, r3, k, scaled, pair));
                two[2] = pair[0];
                two[3] = pair[1];
                assertTrue(HalfDots.dot4(xs, 0, w, r0, r1, r2, r3, k, scaled, four));
                for (int i = 0; i < 4; i++)
                    assertEquals(
                            Float.floatToRawIntBits(two[i]),
                            Float.floatToRawIntBits(four[i]),
                            "F16 row " + i + (scaled ? " scaled" : "") + ": " + two[i] + " " + four[i]);
            }
            float[] xs = new float[k];
            HalfDots.splitEvenOdd(x, 0, xs, 0, k, 1f);
            HalfDots.dot2Bf16(xs, 0, w, r0, r1, k, pair);
            two[0] = pair[0];
            two[1] = pair[1];
            HalfDots.dot2Bf16(xs, 0, w, r2, r3, k, pair);
            two[2] = pair[0];
            two[3] = pair[1];
            HalfDots.dot4Bf16(xs, 0, w, r0, r1, r2, r3, k, four);
            for (int i = 0; i < 4; i++)
                assertEquals(
                        Float.floatToRawIntBits(two[i]),
                        Float.floatToRawIntBits(four[i]),
                        "BF16 row " + i + ": " + two[i] + " " + four[i]);
            if (k >= HalfDots.BLOCK) { // an inf in a full block of one row: refused
                long[] rows = {r0, r1, r2, r3};
                long at = rows[r.nextInt(4)] + r.nextInt(k / HalfDots.BLOCK * HalfDots.BLOCK);
                w.setAtIndex(ValueLayout.JAVA_SHORT, at, (short) 0x7C00);
                HalfDots.splitEvenOdd(x, 0, xs, 0, k, 1f);
                assertFalse(HalfDots.dot4(xs, 0, w, r0, r1, r2, r3, k, false, four));
            }
        }
    }

    /**
     * The two- and four-activation dots give each (activation, row) pair the bits dot2 gives it, with and without the
     * activation scaling, at any length; an inf or NaN in a full block of either row makes them refuse, as dot2 does.
     * The four-activation BF16 dot gives each pair dot2Bf16's bits.
     * (Their lane sums are formed several vectors at once; dot2 sums each vector alone with LaneSum.)
     */
    @Property(tries = 60)
    void severalActivationDotsGiveEachPairTheOneActivationBits(@ForAll("cases") Case c) {
        Random r = new Random(c.seed());
        int k = c.k();
        float[] x = new float[4 * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(2L * (k + 1) * 2 + 2, 64);
            for (long i = 0; i < w.byteSize() / 2; i++) w.setAtIndex(ValueLayout.JAVA_SHORT, i, finiteHalf(r));
            long r0 = r.nextInt(2), r1 = r0 + k + r.nextInt(2);
            float[] pair = new float[2],
                    four = new float[4],
                    eight = new float[8],
                    lanes = new float[HalfDotsBatch.LANES];
            float[] xs = new float[4 * k];
            for (boolean scaled : new boolean[] {false, true}) {
                for (int a = 0; a < 4; a++)
                    HalfDots.splitEvenOdd(x, a * k, xs, a * k, k, scaled ? HalfDots.F16_SCALE : 1f);
                assertTrue(HalfDotsBatch.dot2x2(xs, k, 2 * k, w, r0, r1, k, scaled, four, lanes));
                assertTrue(HalfDotsBatch.dot2x4(xs, 0, k, w, r0, r1, k, scaled, eight, lanes));
                for (int a = 0; a < 4; a++) {
                    assertTrue(HalfDots.dot2(xs, a * k, w, r0, r1, k, scaled, pair));
                    for (int j = 0; j < 2; j++) {
                        String what = "activation " + a + " row " + j + (scaled ? " scaled" : "") + ": " + pair[j];
                        assertEquals(
                                Float.floatToRawIntBits(pair[j]),
                                Float.floatToRawIntBits(eight[2 * a + j]),
                                what + " dot2x4 " + eight[2 * a + j]);
                        if (a == 1 || a == 2)
                            assertEquals(
                                    Float.floatToRawIntBits(pair[j]),
                                    Float.floatToRawIntBits(four[2 * (a - 1) + j]),
                                    what + " dot2x2 " + four[2 * (a - 1) + j]);
                    }
                }
            }
            // the same weight bits read as BF16 (finite: no F16 pattern above reaches BF16's exponent 255)
            for (int a = 0; a < 4; a++) HalfDots.splitEvenOdd(x, a * k, xs, a * k, k, 1f);
            HalfDotsBatch.dot2x4Bf16(xs, 0, k, w, r0, r1, k, eight, lanes);
            for (int a = 0; a < 4; a++) {
                HalfDots.dot2Bf16(xs, a * k, w, r0, r1, k, pair);
                for (int j = 0; j < 2; j++)
                    assertEquals(
                            Float.floatToRawIntBits(pair[j]),
                            Float.floatToRawIntBits(eight[2 * a + j]),
                            "BF16 activation " + a + " row " + j + ": " + pair[j] + " dot2x4Bf16 " + eight[2 * a + j]);
            }
            if (k >= HalfDots.BLOCK) { // an inf in a full block of one row: refused
                long at = (r.nextBoolean() ? r0 : r1) + r.nextInt(k / HalfDots.BLOCK * HalfDots.BLOCK);
                w.setAtIndex(ValueLayout.JAVA_SHORT, at, (short) 0x7C00);
                assertFalse(HalfDotsBatch.dot2x2(xs, 0, k, w, r0, r1, k, false, four, lanes));
                assertFalse(HalfDotsBatch.dot2x4(xs, 0, k, w, r0, r1, k, false, eight, lanes));
            }
        }
    }

    /** Any finite F16 pattern: one in four a subnormal or a zero, the rest any normal exponent. */
    private static short finiteHalf(Random r) {
        int sign = r.nextBoolean() ? 0x8000 : 0, mant = r.nextInt(1 << 10);
        int exp = r.nextInt(4) == 0 ? 0 : 1 + r.nextInt(30);
        return (short) (sign | exp << 10 | mant);
    }

    @Test
    void activationsTheScalingCannotTake() {
        assertFalse(HalfDots.scalable(new float[] {1, 0x1p15f}, 0, 2));
        assertFalse(HalfDots.scalable(new float[] {-0x1p15f}, 0, 1));
        assertFalse(HalfDots.scalable(new float[] {Float.NaN}, 0, 1));
        assertFalse(HalfDots.scalable(new float[] {Float.NEGATIVE_INFINITY}, 0, 1));
        assertTrue(HalfDots.scalable(new float[] {Math.nextDown(0x1p15f), -Float.MIN_VALUE}, 0, 2));
        // through the decode product: float64 loop over the JDK's F16 decoding, γ(k + 1)·Σ|x·w|
        Random r = new Random(11);
        int k = 1000, n = 6;
        for (float big : new float[] {0x1p15f, 3e9f, 1e30f}) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment x = arena.allocate(4L * k), w = arena.allocate(2L * n * k), y = arena.allocate(4L * n);
                for (int i = 0; i < k; i++)
                    x.setAtIndex(ValueLayout.JAVA_FLOAT, i, i == 517 ? big : (float) r.nextGaussian());
                for (long i = 0; i < (long) n * k; i++)
                    w.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16((float) (r.nextGaussian() * 1e-3)));
                MixedGemm.gemv(DType.F16, true, n, k, x, 0, w, 0, k, y, 0);
                for (int j = 0; j < n; j++) {
                    double[] sm = MixedGemmTest.f16RowSum(x, w, j, k);
                    double u = 0x1p-24, gamma = (k + 1) * u / (1 - (k + 1) * u);
                    float got = y.getAtIndex(ValueLayout.JAVA_FLOAT, j);
                    assertEquals(sm[0], got, gamma * sm[1], "x[517] = " + big + ", row " + j);
                }
            }
        }
    }
}
