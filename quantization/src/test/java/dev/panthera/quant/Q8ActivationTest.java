package dev.panthera.quant;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.oracle.LlamaCppGgml;
import dev.panthera.testing.SizesFirst;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The 8-bit activation rows against an independent scalar port of ggml's two activation quantizers written from their
 * description ({@link #portQ8_0}, {@link #portQ8K}: ggml block bytes), and against the functions themselves as
 * llama.cpp's library exports them ({@code quantize_row_q8_0}, {@code quantize_row_q8_K}; see {@link LlamaCppGgml}).
 */
class Q8ActivationTest {
    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LEF = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * block_q8_0 bytes (fp16 d, 32 int8) as x86's quantize_row_q8_0 makes them with AVX: amax over the block; d =
     * amax / 127 rounded to fp16; multiplier 127 / amax (0 for an all-zero block); each x·multiplier rounded to
     * nearest with ties to even (_mm256_round_ps with _MM_ROUND_NEAREST). With {@code ref}, quantize_row_q8_0_ref
     * instead: multiplier 1 / d (d the fp32 quotient), ties away from zero (roundf).
     */
    static byte[] portQ8_0(float[] x, boolean ref) {
        byte[] out = new byte[x.length / 32 * 34];
        for (int b = 0; b < x.length / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]));
            float d = amax / 127f;
            float id = ref ? (d != 0 ? 1f / d : 0f) : (amax != 0 ? 127f / amax : 0f);
            MemorySegment o = MemorySegment.ofArray(out).asSlice(34L * b, 34);
            o.set(LE16, 0, Float.floatToFloat16(d));
            for (int j = 0; j < 32; j++) {
                double v = x[32 * b + j] * id; // the float product, widened exactly
                long q = ref ? (long) (Math.signum(v) * Math.floor(Math.abs(v) + 0.5)) : (long) Math.rint(v);
                out[34 * b + 2 + j] = (byte) q;
            }
        }
        return out;
    }

    /**
     * block_q8_K bytes (fp32 d, 256 int8, 16 int16 bsums) as quantize_row_q8_K_ref makes them: max is the first value
     * of largest magnitude, with its sign; an all-zero block is d = 0 and zero quants; else iscale = -127/max, q =
     * min(127, nearest_int(iscale·x)) where nearest_int rounds ties to even (the 1.5·2^23 trick), bsums the sums of
     * each 16 quants, d = 1/iscale.
     */
    static byte[] portQ8K(float[] x) {
        byte[] out = new byte[x.length / 256 * 292];
        MemorySegment seg = MemorySegment.ofArray(out);
        for (int b = 0; b < x.length / 256; b++) {
            float max = 0, amax = 0;
            for (int j = 0; j < 256; j++) {
                if (Math.abs(x[256 * b + j]) > amax) {
                    amax = Math.abs(x[256 * b + j]);
                    max = x[256 * b + j];
                }
            }
            long o = 292L * b;
            if (amax == 0) continue;
            float iscale = -127f / max;
            for (int j = 0; j < 256; j++) {
                // nearest_int: add 1.5·2^23 in float, read the low mantissa bits
                float t = iscale * x[256 * b + j] + 12582912f;
                int q = Math.min(127, (Float.floatToRawIntBits(t) & 0x007fffff) - 0x00400000);
                out[(int) o + 4 + j] = (byte) q;
            }
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int i = 0; i < 16; i++) s += out[(int) o + 4 + 16 * g + i];
                seg.set(LE16, o + 260 + 2L * g, (short) s);
            }
            seg.set(LEF, o, 1 / iscale);
        }
        return out;
    }

    /** Our Q8_0 activation as block_q8_0 bytes. */
    static byte[] bytesQ8_0(Q8Activation a) {
        byte[] out = new byte[a.k / 32 * 34];
        MemorySegment seg = MemorySegment.ofArray(out);
        for (int b = 0; b < a.k / 32; b++) {
            seg.set(LE16, 34L * b, Float.floatToFloat16(a.d[b]));
            System.arraycopy(a.qs, 32 * b, out, 34 * b + 2, 32);
            for (int j = 0; j < 32; j++) assertEquals(a.qs[32 * b + j], a.wide[32 * b + j], "widened quant " + j);
        }
        return out;
    }

    /** Our Q8_K activation as block_q8_K bytes. */
    static byte[] bytesQ8K(Q8Activation a) {
        byte[] out = new byte[a.k / 256 * 292];
        MemorySegment seg = MemorySegment.ofArray(out);
        for (int b = 0; b < a.k / 256; b++) {
            seg.set(LEF, 292L * b, a.d[b]);
            System.arraycopy(a.qs, 256 * b, out, 292 * b + 4, 256);
            for (int g = 0; g < 16; g++) seg.set(LE16, 292L * b + 260 + 2L * g, (short) a.bsums[16 * b + g]);
            for (int j = 0; j < 256; j++) assertEquals(a.qs[256 * b + j], a.wide[256 * b + j], "widened quant " + j);
        }
        return out;
    }

    /**
     * Activation-like values for the fixed fixtures: Gaussians of varying scale, with exact ties planted (x·127/amax =
     * n + 0.5); the properties draw theirs with {@link QuantDraws#activations}.
     */
    static float[] values(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * Math.exp(r.nextGaussian()));
        for (int b = 0; b + 32 <= n; b += 32) {
            switch (r.nextInt(4)) {
                case 0 -> Arrays.fill(x, b, b + 32, 0f); // an all-zero block
                case 1 -> { // amax 127: x·127/amax = x, so half-integers are ties
                    for (int j = 0; j < 32; j++) x[b + j] = (r.nextInt(255) - 127) / 2f;
                    x[b + r.nextInt(32)] = r.nextBoolean() ? 127 : -127;
                }
                default -> {}
            }
        }
        return x;
    }

    /** 0 to 12 blocks of 32 (then 5 more values, the row starting at 5), drawn before the values. */
    @Provide
    Arbitrary<float[]> q8_0Rows() {
        return SizesFirst.flatMap(
                Arbitraries.integers().between(0, 12), blocks -> QuantDraws.activations(32 * blocks + 5));
    }

    /** 0 to 4 blocks of 256 (then 3 more values, the row starting at 3), drawn before the values. */
    @Provide
    Arbitrary<float[]> q8KRows() {
        return SizesFirst.flatMap(
                Arbitraries.integers().between(0, 4), blocks -> QuantDraws.activations(256 * blocks + 3));
    }

    @Property(tries = 60)
    void q8_0BytesMatchThePortOfGgml(@ForAll("q8_0Rows") float[] x) {
        int blocks = (x.length - 5) / 32;
        int off = 5; // the row starts inside a larger array
        float[] row = Arrays.copyOfRange(x, off, off + 32 * blocks);
        assertArrayEquals(portQ8_0(row, false), bytesQ8_0(Q8Activation.q8_0(x, off, 32 * blocks)));
    }

    @Property(tries = 60)
    void q8KBytesMatchThePortOfGgml(@ForAll("q8KRows") float[] x) {
        int blocks = (x.length - 3) / 256;
        float[] row = Arrays.copyOfRange(x, 3, 3 + 256 * blocks);
        assertArrayEquals(portQ8K(row), bytesQ8K(Q8Activation.q8K(x, 3, 256 * blocks)));
    }

    @Test
    void tiesRoundToEvenAsTheAvxPathDoes() {
        float[] x = new float[32];
        x[0] = 127;
        x[1] = 2.5f;
        x[2] = -3.5f;
        x[3] = 0.5f;
        Q8Activation a = Q8Activation.q8_0(x, 0, 32);
        assertArrayEquals(new byte[] {127, 2, -4, 0}, Arrays.copyOf(a.qs, 4));
        assertEquals(1f, a.d[0]);
        float[] y = new float[256];
        y[7] = -127; // max is negative: iscale = 1, d = 1
        y[8] = 126.5f;
        y[9] = -0.5f;
        Q8Activation k = Q8Activation.q8K(y, 0, 256);
        assertEquals(1f, k.d[0]);
        assertArrayEquals(new byte[] {-127, 126, 0}, Arrays.copyOfRange(k.qs, 7, 10));
        assertEquals(-1, k.bsums[0]);
    }

    /**
     * Q8_K's max is the first value of largest magnitude with its sign, so where that magnitude comes with both signs
     * the first one decides iscale's sign (ggml's strict comparison); the lane forms' block sums are the sums of the
     * quants they wrote (8·Σ per 32 for Q8_0, Σ per 32 for Q8_K), checked here by summing the quants.
     */
    @Test
    void theFirstLargestMagnitudeSetsTheSignAndTheLaneSumsAreTheQuants() {
        for (boolean negativeFirst : new boolean[] {true, false}) {
            float[] y = values(new Random(negativeFirst ? 3 : 4), 512);
            for (int i = 0; i < y.length; i++) y[i] = Math.max(-50, Math.min(50, y[i]));
            y[40] = negativeFirst ? -100 : 100;
            y[200] = negativeFirst ? 100 : -100;
            y[256 + 7] = 100;
            y[256 + 3] = -100;
            short[] q = new short[512];
            float[] d = new float[2];
            int[] sums32 = new int[16];
            Q8Activation.q8KLanes(y, 0, 512, q, d, sums32, 0);
            assertEquals(negativeFirst ? 100 / 127f : -100 / 127f, d[0], 1e-6f, "block 0's d follows y[40]");
            assertEquals(-127, q[40]);
            assertEquals(127, q[200]);
            assertEquals(100 / 127f, d[1], 1e-6f, "block 1's d follows y[259] = -100");
            assertEquals(-127, q[256 + 3]); // the first largest is always -127 (iscale = -127/max)
            assertEquals(127, q[256 + 7]);
            assertArrayEquals(portQ8K(y), bytesQ8K(Q8Activation.q8K(y, 0, 512)));
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int j = 0; j < 32; j++) s += q[32 * g + j];
                assertEquals(s, sums32[g], "Q8_K sum of quants " + 32 * g + "..");
            }
            float[] dq = new float[16];
            int[] sums8 = new int[16];
            Q8Activation.q8_0Lanes(y, 0, 512, q, dq, sums8, 0);
            for (int b = 0; b < 16; b++) {
                int s = 0;
                for (int j = 0; j < 32; j++) s += q[32 * b + j];
                assertEquals(8 * s, sums8[b], "Q8_0 block " + b);
            }
        }
    }

    @Test
    void nonFiniteValuesMakeTheBlockScaleNaNAndBadLengthsAreRejected() {
        float[] x = new float[512];
        x[300] = Float.NaN;
        x[3] = Float.POSITIVE_INFINITY;
        Q8Activation a = Q8Activation.q8_0(x, 0, 512);
        assertTrue(Float.isNaN(a.d[0]) && Float.isNaN(a.d[9]) && a.d[1] == 0, Arrays.toString(a.d));
        Q8Activation k = Q8Activation.q8K(x, 0, 512);
        assertTrue(Float.isNaN(k.d[0]) && Float.isNaN(k.d[1]), Arrays.toString(k.d));
        var e = assertThrows(IllegalArgumentException.class, () -> Q8Activation.q8K(x, 0, 288));
        assertTrue(e.getMessage().contains("288"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Q8Activation.q8_0(x, 0, 48));
    }

    /**
     * llama.cpp's own activation quantizers (the library in the de.kherud:llama test jar): quantize_row_q8_K (which
     * x86 builds route to the reference) byte for byte, and quantize_row_q8_0, whose x86 build takes the AVX path when
     * the library was compiled with AVX (ggml_cpu_has_avx), else the reference one; the port follows whichever.
     */
    @Test
    void bytesMatchLlamaCppsQuantizers() throws Throwable {
        Random r = new Random(11);
        float[] x = values(r, 256 * 6);
        x[1000] = 0.75f; // and a block of all zeros for Q8_K
        Arrays.fill(x, 1280, 1536, 0f);
        boolean avx = (int) LlamaCppGgml.fn("ggml_cpu_has_avx", JAVA_INT).invokeExact() != 0;
        byte[] q8_0 = LlamaCppGgml.ggmlQuantizeRow("quantize_row_q8_0", x, x.length / 32 * 34);
        assertArrayEquals(portQ8_0(x, !avx), q8_0, "port vs ggml (avx " + avx + ")");
        if (avx) assertArrayEquals(q8_0, bytesQ8_0(Q8Activation.q8_0(x, 0, x.length)), "ours vs ggml");
        byte[] q8K = LlamaCppGgml.ggmlQuantizeRow("quantize_row_q8_K", x, x.length / 256 * 292);
        // ggml leaves an all-zero block's bsums unwritten: the buffer came zeroed, so they read 0 here too
        assertArrayEquals(q8K, bytesQ8K(Q8Activation.q8K(x, 0, x.length)), "ours vs ggml");
        assertArrayEquals(q8K, portQ8K(x), "port vs ggml");
    }
}
