package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.testing.Shapes;
import dev.panthera.testing.SizesFirst;
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

    /** The kernels' inputs: the weight's floats, activations and output gradients, all N(0, 1). */
    record Case(
            int m,
            int out,
            int in,
            VectorSpecies<Float> fs,
            int block,
            boolean nf4,
            boolean doubleQuant,
            float[] w,
            float[] x,
            float[] g) {
        @Override
        public String toString() {
            return "m=" + m + " [" + out + ", " + in + "] " + fs + " block " + block + (nf4 ? " NF4" : " FP4")
                    + (doubleQuant ? " double-quant" : "") + " w=" + QuantDraws.show(w) + " x=" + QuantDraws.show(x)
                    + " g=" + QuantDraws.show(g);
        }
    }

    /**
     * m in [0, 5], out in [1, 37], in in [1, 83] (the kit's sizes: 1, primes, vector-width tails), a float width up
     * to this machine's, blocks of 2, 6, 64 or 128, either code, with or without double quantization, all drawn before
     * the values, so a failure shrinks to a small product first.
     */
    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Tuple.Tuple3<Integer, Integer, Integer>> dims = Combinators.combine(
                        Arbitraries.integers().between(0, 5),
                        Shapes.sizes(1, 37).map(Long::intValue),
                        Shapes.sizes(1, 83).map(Long::intValue))
                .as(Tuple::of);
        Arbitrary<Tuple.Tuple4<Integer, Integer, Boolean, Boolean>> setup = Combinators.combine(
                        Arbitraries.integers().between(0, 2),
                        Arbitraries.of(2, 6, 64, 128),
                        Arbitraries.of(false, true),
                        Arbitraries.of(false, true))
                .as(Tuple::of);
        return SizesFirst.flatMap(Combinators.combine(dims, setup).as(Tuple::of), t -> {
            int m = t.get1().get1(), out = t.get1().get2(), in = t.get1().get3();
            var s = t.get2();
            return Combinators.combine(
                            QuantDraws.normals(out * in), QuantDraws.normals(m * in), QuantDraws.normals(m * out))
                    .as((w, x, g) -> new Case(m, out, in, species(s.get1()), s.get2(), s.get3(), s.get4(), w, x, g));
        });
    }

    @Property(tries = 60)
    void forwardAndInputGradientMatchFloat64OverTheDequantizedWeight(@ForAll("cases") Case c) {
        int m = c.m(), out = c.out(), in = c.in();
        Bnb4Bit w = Bnb4Bit.quantize(c.w(), c.nf4() ? FourBitCode.NF4 : FourBitCode.FP4, c.block(), c.doubleQuant());
        float[] wd = w.dequantize();
        float[] x = c.x(), g = c.g();
        VectorSpecies<Float> fs = c.fs();
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
