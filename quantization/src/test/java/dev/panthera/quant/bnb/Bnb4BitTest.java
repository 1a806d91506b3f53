package dev.panthera.quant.bnb;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
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

/** bitsandbytes' NF4/FP4 with and without double quantization, against float64 loops and bitsandbytes' constants. */
class Bnb4BitTest {
    /** bitsandbytes {@code get_4bit_type("nf4")} (functional.py), index 0..15. */
    static final double[] NF4_PUBLISHED = {
        -1.0,
        -0.6961928009986877,
        -0.5250730514526367,
        -0.39491748809814453,
        -0.28444138169288635,
        -0.18477343022823334,
        -0.09105003625154495,
        0.0,
        0.07958029955625534,
        0.16093020141124725,
        0.24611230194568634,
        0.33791524171829224,
        0.44070982933044434,
        0.5626170039176941,
        0.7229568362236023,
        1.0
    };
    /** bitsandbytes {@code get_4bit_type("fp4")} before its division by the largest value, 12. */
    // bitsandbytes' get_4bit_type("fp4") lists index 8 as -0, a Python int: +0.0 in the float32 table it builds
    static final double[] FP4_PUBLISHED = {0, 0.0625, 8, 12, 4, 6, 2, 3, 0.0, -0.0625, -8, -12, -4, -6, -2, -3};
    /** The literals of bitsandbytes' CUDA {@code dDequantizeFP4Tree} for indices 0..7 (8 significant digits). */
    static final double[] FP4_CUDA = {0, 0.00520833, 0.66666667, 1.0, 0.33333333, 0.5, 0.16666667, 0.25};

    @Test
    void codeTablesAreBitsandbytesConstants() {
        for (int i = 0; i < 16; i++) {
            assertEquals((float) NF4_PUBLISHED[i], FourBitCode.NF4.value(i), "NF4 " + i);
            // get_4bit_type divides the float32 tensor by 12 in float32: the exact quotient rounded once
            assertEquals((float) (FP4_PUBLISHED[i] / 12), FourBitCode.FP4.value(i), "FP4 " + i);
            // the CUDA literals carry 8 decimals: within 5e-9 of the quotient, plus a float32 ulp of 1
            assertEquals((i < 8 ? 1 : -1) * FP4_CUDA[i % 8], FourBitCode.FP4.value(i), 5e-9 + 0x1p-24, "FP4 CUDA " + i);
        }
    }

    /** Index of the code value nearest to s in float64, or -1 when two candidates are within 1e-6 (a near tie). */
    static int nearest64(FourBitCode c, double s) {
        int best = -1;
        double bd = Double.MAX_VALUE, second = Double.MAX_VALUE;
        for (int i = 0; i < 16; i++) {
            double d = Math.abs(s - c.value(i));
            if (c.value(i) == c.value(best < 0 ? 0 : best) && best >= 0 && d == bd) continue; // FP4's +0 and -0
            if (d < bd) {
                second = bd;
                bd = d;
                best = i;
            } else if (d < second) second = d;
        }
        return second - bd < 1e-6 ? -1 : best;
    }

    static void checkRoundTrip(float[] x, FourBitCode code, int blockSize, boolean dq) {
        Bnb4Bit q = Bnb4Bit.quantize(x, code, blockSize, dq);
        float[] y = q.dequantize();
        assertEquals(x.length, y.length);
        // largest distance from a value in [-1, 1] to its nearest code: half the widest gap (NF4 -1 to -0.69619;
        // FP4 2/3 to 1). A weight then errs by at most absmax·gap/2 plus the float32 rounding of x·(1/absmax) (2^-23
        // relative, twice) and of code·absmax (2^-24).
        double halfGap = code == FourBitCode.NF4 ? (1 - 0.6961928009986877) / 2 : (1 - 2.0 / 3) / 2;
        for (int b = 0; (long) b * blockSize < x.length; b++) {
            int from = b * blockSize, to = Math.min(x.length, from + blockSize);
            double amax = 0;
            for (int i = from; i < to; i++) amax = Math.max(amax, Math.abs(x[i]));
            double used = q.blockAbsmax(b);
            if (!dq) assertEquals(amax, used, 0.0, "block " + b + " absmax");
            for (int i = from; i < to; i++) {
                double want = code.value(q.index(i)) * used; // the float64 dequantization formula
                assertEquals(want, y[i], Math.abs(want) * 0x1p-24, "dequantize " + i);
                if (!dq) {
                    assertTrue(
                            Math.abs(x[i] - y[i]) <= amax * (halfGap + 0x1p-22) + 1e-30, i + ": " + x[i] + " " + y[i]);
                    int idx = amax == 0 ? -1 : nearest64(code, Math.max(-1, Math.min(1, x[i] / amax)));
                    if (idx >= 0) assertEquals(code.value(idx), code.value(q.index(i)), 0f, "code of weight " + i);
                }
            }
        }
    }

    /** A length, a block size and the code, then the values. */
    record RoundTrip(int n, int blockSize, boolean fp4, float[] x) {
        @Override
        public String toString() {
            return "n=" + n + " block=" + blockSize + (fp4 ? " FP4" : " NF4")
                    + (n <= 64 ? " x=" + java.util.Arrays.toString(x) : "");
        }
    }

    /**
     * n in [0, 700], blocks of 64 to 512, FP4 or NF4, drawn before the values z·exp(z') (z, z' N(0, 1): magnitudes
     * over several orders), with element 3 set to 0 when n > 5; so a failure shrinks to a short input first.
     */
    @Provide
    Arbitrary<RoundTrip> roundTrips() {
        Arbitrary<Tuple.Tuple3<Integer, Integer, Boolean>> setup = Combinators.combine(
                        Arbitraries.integers().between(0, 700),
                        Arbitraries.integers().between(1, 4),
                        Arbitraries.of(false, true))
                .as(Tuple::of);
        return SizesFirst.flatMap(setup, t -> {
            int n = t.get1();
            Arbitrary<List<Double>> z = Values.normal().list().ofSize(n);
            return Combinators.combine(z, z).as((a, e) -> {
                float[] x = new float[n];
                for (int i = 0; i < n; i++) x[i] = (float) (a.get(i) * Math.exp(e.get(i)));
                if (n > 5) x[3] = 0;
                return new RoundTrip(n, 32 << t.get2(), t.get3(), x);
            });
        });
    }

    @Property(tries = 60)
    void roundTripWithinHalfTheWidestGap(@ForAll("roundTrips") RoundTrip rt) {
        float[] x = rt.x();
        boolean fp4 = rt.fp4();
        int blockSize = rt.blockSize();
        checkRoundTrip(x, fp4 ? FourBitCode.FP4 : FourBitCode.NF4, blockSize, false);
        checkRoundTrip(x, fp4 ? FourBitCode.FP4 : FourBitCode.NF4, blockSize, true);
    }

    @Test
    void sizesOneZeroAndPrimesAndZeroBlocks() {
        for (int n : new int[] {0, 1, 2, 3, 63, 64, 65, 127, 997}) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) Math.sin(i * 1.7 + 0.3) * (i % 5);
            for (FourBitCode c : FourBitCode.values()) checkRoundTrip(x, c, 64, false);
        }
        float[] zeros = new float[128];
        Bnb4Bit q = Bnb4Bit.quantize(zeros, FourBitCode.NF4, 64, false);
        assertArrayEquals(new float[128], q.dequantize());
        assertEquals((byte) 0x77, q.packed()[0], "NF4 zero is index 7 in both nibbles");
    }

    @Test
    void packingPutsTheEvenWeightInTheHighNibble() {
        float[] x = new float[64];
        x[0] = 2; // absmax 2: scaled 1 -> NF4 index 15
        x[1] = -2; // scaled -1 -> index 0
        x[2] = 0.5f; // scaled 0.25 -> nearest 0.2461 -> index 10
        Bnb4Bit q = Bnb4Bit.quantize(x, FourBitCode.NF4, 64, false);
        assertEquals(0xF0, q.packed()[0] & 0xFF);
        assertEquals(0xA7, q.packed()[1] & 0xFF);
        Bnb4Bit f = Bnb4Bit.quantize(new float[] {-0.001f, 1000f}, FourBitCode.FP4, 64, false);
        // -0.001/1000 rounds to zero with the sign bit set (index 8), as bitsandbytes' CUDA quantizer; 1 is index 3
        assertEquals(0x83, f.packed()[0] & 0xFF);
    }

    @Test
    void dynamicMapIsBitsandbytesCreateDynamicMap() {
        assertEquals(1.0f, DynamicMap.value(255));
        assertEquals(0.0f, DynamicMap.value(127));
        for (int k = 0; k < 255; k++) assertTrue(DynamicMap.value(k) < DynamicMap.value(k + 1), "sorted at " + k);
        for (int k = 0; k < 127; k++) assertEquals(-DynamicMap.value(254 - k), DynamicMap.value(k), "sign pair " + k);
        // exponent 0: one midpoint of linspace(0.1, 1, 2) = 0.55, times 1e-6; exponent 6: 64 midpoints, step 0.9/64
        assertEquals(0.55e-6, DynamicMap.value(128), 1e-13);
        assertEquals(1 - 0.9 / 128, DynamicMap.value(254), 1e-7);
        assertEquals(0.1 + 0.9 / 128, DynamicMap.value(191), 1e-7);
        Random r = new Random(3);
        for (int t = 0; t < 2000; t++) {
            float s = (float) (r.nextDouble() * 2 - 1) * (t % 3 == 0 ? 1e-3f : 1f);
            int q = DynamicMap.nearest(s);
            for (int k = 0; k < 256; k++)
                assertTrue(Math.abs(s - (double) DynamicMap.value(q)) <= Math.abs(s - (double) DynamicMap.value(k)));
        }
    }

    @Test
    void doubleQuantizedAbsmaxWithinHalfACodeStep() {
        Random r = new Random(11);
        float[] x = new float[64 * 700];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * (1 + (i / 64) % 7));
        Bnb4Bit plain = Bnb4Bit.quantize(x, FourBitCode.NF4, 64, false);
        Bnb4Bit dq = Bnb4Bit.quantize(x, FourBitCode.NF4, 64, true);
        assertArrayEquals(plain.packed(), dq.packed(), "the 4-bit codes do not depend on double quantization");
        assertEquals(3, dq.nested().absmax2().length, "700 absmax in nested blocks of 256");
        double mean = 0;
        for (float a : plain.absmax()) mean += a;
        assertEquals(mean / 700, dq.nested().offset(), 1e-6 * mean / 700);
        // the dynamic code's widest gap is 0.9/64 (exponent 6 midpoints): the nearest code is within half of it of
        // (absmax - offset)/absmax2, plus float32 rounding
        for (int b = 0; b < 700; b++) {
            double a2 = dq.nested().absmax2()[b / 256];
            assertEquals(plain.absmax()[b], dq.blockAbsmax(b), a2 * (0.9 / 128 + 0x1p-21), "absmax " + b);
        }
        assertTrue(dq.byteSize() < plain.byteSize());
    }

    @Test
    void reconstructionErrorOnRandnMatchesBitsandbytes() {
        // bitsandbytes' reported mean |error| on randn(1024, 1024), block 64: NF4 0.0728, FP4 0.0965. Over 2^20
        // samples the mean's standard error is below 1e-4; 0.001 allows for the generator.
        Random r = new Random(1234);
        float[] x = new float[1024 * 1024];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        double[][] want = {{0.0728, 0.0965}};
        for (boolean dq : new boolean[] {false, true}) {
            for (FourBitCode c : FourBitCode.values()) {
                float[] y = Bnb4Bit.quantize(x, c, 64, dq).dequantize();
                double err = 0;
                for (int i = 0; i < x.length; i++) err += Math.abs(x[i] - (double) y[i]);
                err /= x.length;
                System.out.printf("%s block 64%s: mean |error| %.5f%n", c, dq ? " + double quant" : "", err);
                assertEquals(want[0][c.ordinal()], err, 0.001, c + (dq ? " double quant" : ""));
            }
        }
    }

    @Test
    void matmulReadsThePackedWeightAcrossBlockBoundaries() {
        // in = 100 is not a multiple of 64: blocks run across rows, as bitsandbytes flattens the weight
        Random r = new Random(4);
        int out = 7, in = 100, m = 3;
        float[] w = new float[out * in], x = new float[m * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (boolean dq : new boolean[] {false, true}) {
            Bnb4Bit q = Bnb4Bit.quantize(w, FourBitCode.NF4, 64, dq);
            float[] wd = q.dequantize();
            float[] y = dev.panthera.quant.Bnb4Matmul.matmul(dev.panthera.tensor.Tensor.of(x, m, in), q, out, in)
                    .toFloatArray();
            for (int i = 0; i < m; i++) {
                for (int n = 0; n < out; n++) {
                    double s = 0, a = 0;
                    for (int k = 0; k < in; k++) {
                        s += (double) x[i * in + k] * wd[n * in + k];
                        a += Math.abs((double) x[i * in + k] * wd[n * in + k]);
                    }
                    // a float sum of in products in any order: (in + 2)·2^-24·Σ|x·w|
                    assertEquals(s, y[i * out + n], (in + 2) * 0x1p-24 * a, "y " + i + " " + n);
                }
            }
        }
        assertThrows(
                IllegalArgumentException.class,
                () -> dev.panthera.quant.Bnb4Matmul.matmul(
                        dev.panthera.tensor.Tensor.of(x, m, in),
                        Bnb4Bit.quantize(w, FourBitCode.FP4, 64, false),
                        6,
                        in));
    }

    @Test
    void badInputNamesTheProblem() {
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> Bnb4Bit.quantize(new float[] {1, Float.NaN}, FourBitCode.NF4, 64, false));
        assertTrue(e.getMessage().contains("weight 1") && e.getMessage().contains("NF4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Bnb4Bit.quantize(new float[4], FourBitCode.FP4, 63, false));
        assertThrows(IllegalArgumentException.class, () -> Bnb4Bit.quantize(new float[4], FourBitCode.FP4, 0, false));
    }
}
