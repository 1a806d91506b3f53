package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.bnb.FourBitCode;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The QLoRA kernels against float64 loops over {@link Bnb4Bit#dequantize()} (the decoder checked against
 * bitsandbytes' tables in Bnb4BitTest): random m, out, in (0 and 1, primes, rows that are not whole blocks, so blocks
 * straddle rows and rows start on an odd nibble), every float width up to this machine's, both codes, with and
 * without double quantization.
 */
class Bnb4KernelsTest {
    private static final double U = 0x1p-24;

    /** Higham's γ_n = n·u / (1 − n·u): the bound on a float32 sum of n products with rounding unit u. */
    private static double gamma(int n) {
        return n * U / (1 - n * U);
    }

    private static VectorSpecies<Float> species(int pick) {
        int max = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        int bits = new int[] {128, 256, 512}[pick % 3];
        return VectorSpecies.of(float.class, VectorShape.forBitSize(Math.min(bits, max)));
    }

    private static float[] randn(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    @Property(tries = 60)
    void forwardAndInputGradientMatchFloat64OverTheDequantizedWeight(
            @ForAll @IntRange(min = 0, max = 5) int m,
            @ForAll @IntRange(min = 1, max = 37) int out,
            @ForAll @IntRange(min = 1, max = 83) int in,
            @ForAll @IntRange(min = 0, max = 2) int widthPick,
            @ForAll @IntRange(min = 0, max = 3) int blockPick,
            @ForAll boolean nf4,
            @ForAll boolean doubleQuant,
            @ForAll long seed) {
        Random r = new Random(seed);
        int block = new int[] {2, 6, 64, 128}[blockPick];
        Bnb4Bit w = Bnb4Bit.quantize(randn(r, out * in), nf4 ? FourBitCode.NF4 : FourBitCode.FP4, block, doubleQuant);
        float[] wd = w.dequantize();
        float[] x = randn(r, m * in), g = randn(r, m * out);
        VectorSpecies<Float> fs = species(widthPick);
        float[] y = new float[m * out], gx = new float[m * in];
        java.util.Arrays.fill(gx, 7f); // backward overwrites, it does not accumulate
        Bnb4Kernels.forward(fs, x, m, w, out, in, y);
        Bnb4Kernels.backwardInput(fs, g, m, w, out, in, gx);
        for (int i = 0; i < m; i++) {
            for (int o = 0; o < out; o++) {
                double s = 0, abs = 0;
                for (int k = 0; k < in; k++) {
                    s += (double) x[i * in + k] * wd[o * in + k];
                    abs += Math.abs((double) x[i * in + k] * wd[o * in + k]);
                }
                // the decoded weights are the same floats; only the float32 sum of in products differs
                double tol = gamma(in + 1) * abs;
                assertTrue(
                        Math.abs(y[i * out + o] - s) <= tol, "y[" + i + "," + o + "] " + y[i * out + o] + " vs " + s);
            }
            for (int k = 0; k < in; k++) {
                double s = 0, abs = 0;
                for (int o = 0; o < out; o++) {
                    s += (double) g[i * out + o] * wd[o * in + k];
                    abs += Math.abs((double) g[i * out + o] * wd[o * in + k]);
                }
                double tol = gamma(out + 1) * abs;
                assertTrue(
                        Math.abs(gx[i * in + k] - s) <= tol, "gx[" + i + "," + k + "] " + gx[i * in + k] + " vs " + s);
            }
        }
    }

    /** Large enough to be split: every split gives the bits of the single-range run, which meets the float64 bound. */
    @Test
    void splitRunsGiveTheBitsOfTheSingleRangeRun() {
        Random r = new Random(5);
        int m = 7, out = 131, in = 1283; // a prime row count, rows that straddle blocks, columns not whole vectors
        Bnb4Bit w = Bnb4Bit.quantize(randn(r, out * in), FourBitCode.NF4, 64, true);
        float[] x = randn(r, m * in), g = randn(r, m * out), wd = w.dequantize();
        VectorSpecies<Float> fs = QuantLanes.F;
        float[] y1 = new float[m * out], gx1 = new float[m * in];
        Bnb4Kernels.forward(fs, x, m, w, out, in, y1, 1);
        Bnb4Kernels.backwardInput(fs, g, m, w, out, in, gx1, 1);
        for (int parts : new int[] {2, 3, 7, 20}) {
            float[] y = new float[m * out], gx = new float[m * in];
            Bnb4Kernels.forward(fs, x, m, w, out, in, y, parts);
            Bnb4Kernels.backwardInput(fs, g, m, w, out, in, gx, parts);
            org.junit.jupiter.api.Assertions.assertArrayEquals(y1, y, "forward in " + parts + " parts");
            org.junit.jupiter.api.Assertions.assertArrayEquals(gx1, gx, "gradient in " + parts + " parts");
        }
        float[] y = new float[m * out], gx = new float[m * in];
        Bnb4Kernels.forward(x, m, w, out, in, y); // the public entry: split by the pool's size
        Bnb4Kernels.backwardInput(g, m, w, out, in, gx);
        org.junit.jupiter.api.Assertions.assertArrayEquals(y1, y);
        org.junit.jupiter.api.Assertions.assertArrayEquals(gx1, gx);
        for (int i = 0; i < m; i++)
            for (int o = 0; o < out; o++) {
                double s = 0, abs = 0;
                for (int k = 0; k < in; k++) {
                    s += (double) x[i * in + k] * wd[o * in + k];
                    abs += Math.abs((double) x[i * in + k] * wd[o * in + k]);
                }
                assertTrue(Math.abs(y1[i * out + o] - s) <= gamma(in + 1) * abs, "y " + i + "," + o);
            }
        for (int i = 0; i < m; i++)
            for (int k = 0; k < in; k++) {
                double s = 0, abs = 0;
                for (int o = 0; o < out; o++) {
                    s += (double) g[i * out + o] * wd[o * in + k];
                    abs += Math.abs((double) g[i * out + o] * wd[o * in + k]);
                }
                assertTrue(Math.abs(gx1[i * in + k] - s) <= gamma(out + 1) * abs, "gx " + i + "," + k);
            }
    }

    @Test
    void shapesThatDoNotFitTheWeightAreNamed() {
        Bnb4Bit w = Bnb4Bit.quantize(new float[12], FourBitCode.NF4, 64, false);
        var e = assertThrows(
                IllegalArgumentException.class, () -> Bnb4Kernels.forward(new float[5], 1, w, 3, 5, new float[3]));
        assertTrue(
                e.getMessage().contains("Bnb4Kernels.forward") && e.getMessage().contains("[3, 5]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Bnb4Kernels.forward(new float[7], 2, w, 3, 4, new float[6]));
        assertThrows(
                IllegalArgumentException.class,
                () -> Bnb4Kernels.backwardInput(new float[3], 2, w, 3, 4, new float[8]));
    }
}
