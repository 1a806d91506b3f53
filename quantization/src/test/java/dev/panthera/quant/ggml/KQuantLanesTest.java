package dev.panthera.quant.ggml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * The eight-lane Q4_K/Q5_K scale search against the scalar one ({@link GgmlKQuantizers#scaleMin}, whose bytes
 * {@code GgmlAgainstLlamaCppTest} checks against ggml's {@code quantize_row_q4_K_ref}): each lane's scale, min and 32
 * levels bit for bit, over sub-blocks drawn from kinds that take each branch of the search (flat sub-blocks, all
 * positive ones whose min is raised to 0, ranges of a few denormals whose scale overflows to infinity, signed zeros,
 * magnitudes near 10³⁰), eight kinds mixed in one call; and the same for Q6_K's symmetric search ({@link
 * GgmlKQuantizers#symmetricScale}), with sub-blocks whose largest magnitude is just below and just above ggml's
 * GROUP_MAX_EPS.
 */
class KQuantLanesTest {
    private static float[] subBlock(Random r, int kind) {
        float[] x = new float[32];
        for (int i = 0; i < 32; i++) {
            x[i] = switch (kind) {
                case 0 -> (float) (r.nextGaussian() * Math.exp(2 * r.nextGaussian()));
                case 1 -> (float) Math.abs(r.nextGaussian()) + 0.5f; // all positive: min is raised to 0
                case 2 -> -1.25f; // flat and negative: max == min
                case 3 -> 0f; // flat at zero
                case 4 -> i % 3 == 0 ? -0f : (i % 3 == 1 ? 0f : (float) r.nextGaussian()); // signed zeros
                case 5 -> i == r.nextInt(32) ? (float) r.nextGaussian() : 0f; // at most one non-zero
                case 6 -> Float.MIN_VALUE * r.nextInt(3); // a range of two denormals: nmax / range is infinite
                case 7 -> (float) (r.nextGaussian() * 1e30);
                case 8 -> r.nextInt(9) - 4; // small integers: ties in the rounding
                default -> throw new IllegalArgumentException("kind " + kind);
            };
        }
        return x;
    }

    @Property(tries = 300)
    void eachLaneIsTheScalarSearch(@ForAll long seed) {
        Random r = new Random(seed);
        int bits = r.nextBoolean() ? 4 : 5, nmax = (1 << bits) - 1, nstep = bits == 4 ? 20 : 15;
        float rmin = bits == 4 ? -1f : -0.5f;
        float[] xt = new float[256], wt = new float[256];
        float[][] xs = new float[8][], ws = new float[8][];
        for (int j = 0; j < 8; j++) {
            xs[j] = subBlock(r, r.nextInt(9));
            float sumX2 = 0;
            for (float v : xs[j]) sumX2 += v * v;
            float av = (float) Math.sqrt(sumX2 / 32);
            ws[j] = new float[32];
            for (int i = 0; i < 32; i++) {
                ws[j][i] = av + Math.abs(xs[j][i]);
                xt[8 * i + j] = xs[j][i];
                wt[8 * i + j] = ws[j][i];
            }
        }
        int[] lt = new int[256], aux = new int[256];
        float[] scale = new float[8], negMin = new float[8];
        KQuantLanes.scaleMin8(xt, wt, nmax, rmin, 0.1f, nstep, lt, aux, scale, negMin);
        for (int j = 0; j < 8; j++) {
            int[] want = new int[32];
            float[] sm = GgmlKQuantizers.scaleMin(32, nmax, xs[j], 0, ws[j], want, 0, rmin, 0.1f, nstep);
            int[] got = new int[32];
            for (int i = 0; i < 32; i++) got[i] = lt[8 * i + j];
            String what = "lane " + j + " bits " + bits;
            assertEquals(Float.floatToRawIntBits(sm[0]), Float.floatToRawIntBits(scale[j]), what + " scale");
            assertEquals(Float.floatToRawIntBits(sm[1]), Float.floatToRawIntBits(negMin[j]), what + " min");
            assertArrayEquals(want, got, what + " levels");
        }
    }

    @Property(tries = 300)
    void eachSymmetricLaneIsTheScalarSearch(@ForAll long seed) {
        Random r = new Random(seed);
        float[] xt = new float[128];
        float[][] xs = new float[8][16];
        for (int j = 0; j < 8; j++) {
            int kind = r.nextInt(11);
            float[] x = kind < 9 ? subBlock(r, kind) : new float[32];
            if (kind == 9) x[r.nextInt(16)] = 1e-16f; // largest magnitude below GROUP_MAX_EPS: scale 0, levels 0
            if (kind == 10) for (int i = 0; i < 16; i++) x[i] = (float) (r.nextGaussian() * 1e-14); // just above it
            for (int i = 0; i < 16; i++) {
                xs[j][i] = x[i];
                xt[8 * i + j] = x[i];
            }
        }
        int[] lt = new int[128], aux = new int[128];
        float[] scale = new float[8];
        KQuantLanes.symmetric8(xt, 32, lt, aux, scale);
        for (int j = 0; j < 8; j++) {
            int[] want = new int[16];
            float s = GgmlKQuantizers.symmetricScale(16, 32, xs[j], 0, want, 0);
            int[] got = new int[16];
            for (int i = 0; i < 16; i++) got[i] = lt[8 * i + j];
            assertEquals(Float.floatToRawIntBits(s), Float.floatToRawIntBits(scale[j]), "lane " + j + " scale");
            assertArrayEquals(want, got, "lane " + j + " levels");
        }
    }
}
