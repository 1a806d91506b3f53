package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.FloatConversions;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * BF16/F16-weight GEMM against a float64 loop over weights decoded by the JDK ({@link Float#float16ToFloat}) and the
 * tensor module ({@link FloatConversions#bf16ToFloat}); the in-register conversions against those same decoders
 * for all 65536 bit patterns; batched SGEMM against float64. Tolerance as in {@link SgemmTest}:
 * |Δ| ≤ 2·sqrt(K)·ε·|alpha|·Σ|a||w| + ε·|beta·c| + ε·|expected| (the weights are exact in F32, so no extra term).
 */
class MixedGemmTest {
    private static final int[] SIZES = {1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 97, 130, 257};
    private static final double EPS = Math.ulp(1f);

    @Test
    void vectorDecodeMatchesScalarDecodersForEveryBitPattern() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = arena.allocate(65536 * 2L);
            for (int i = 0; i < 65536; i++) h.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) i);
            float[] out = new float[8];
            for (int i = 0; i < 65536; i += 8) {
                WeightLoads.toFloats(DType.F16, h, i, 8, out, 0);
                for (int l = 0; l < 8; l++) {
                    float want = Float.float16ToFloat((short) (i + l));
                    if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(out[l])) {
                        throw new AssertionError(
                                "F16 0x" + Integer.toHexString(i + l) + ": expected " + want + " but was " + out[l]);
                    }
                }
                WeightLoads.load(DType.BF16, h, i).intoArray(out, 0);
                for (int l = 0; l < 8; l++) {
                    float want = FloatConversions.bf16ToFloat((short) (i + l));
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(out[l]), "BF16 bits");
                }
            }
        }
    }

    @Property(tries = 80)
    void matchesFloat64(@ForAll long seed) {
        Random r = new Random(seed);
        check(r, SIZES[r.nextInt(SIZES.length)], SIZES[r.nextInt(SIZES.length)], SIZES[r.nextInt(SIZES.length)]);
    }

    /** Skinny shapes long enough that the M &lt; 8 path converts and consumes B in several K or N chunks. */
    @Property(tries = 8)
    void skinnyChunkedPaths(@ForAll long seed) {
        Random r = new Random(seed);
        check(r, 1 + r.nextInt(7), 700 + r.nextInt(200), 1400 + r.nextInt(300));
    }

    private static void check(Random r, int m, int n, int k) {
        DType type = r.nextBoolean() ? DType.BF16 : DType.F16;
        boolean ta = r.nextBoolean(), tw = r.nextBoolean();
        float alpha = r.nextBoolean() ? 1f : (float) r.nextGaussian(), beta = new float[] {0f, 1f, -0.5f}[r.nextInt(3)];
        int lda = (ta ? m : k) + r.nextInt(3), ldw = (tw ? k : n) + r.nextInt(3), ldc = n + r.nextInt(3);
        long aOff = r.nextInt(5), wOff = r.nextInt(5), cOff = r.nextInt(5);
        int threads = 1 + r.nextInt(2);
        Sgemm.setThreads(threads);
        try (Arena arena = threads == 2 ? Arena.ofShared() : Arena.ofConfined()) {
            int aRows = ta ? k : m, wRows = tw ? n : k;
            MemorySegment a = arena.allocate((aOff + (long) aRows * lda) * 4, 64);
            for (long i = 0; i < a.byteSize() / 4; i++)
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            long wLen = wOff + (long) wRows * ldw;
            MemorySegment w = arena.allocate(wLen * 2, 64);
            double[] wd = new double[(int) wLen];
            for (int i = 0; i < wLen; i++) {
                float g = (float) (r.nextGaussian() * 0.1);
                short bits = type == DType.BF16 ? FloatConversions.floatToBf16(g) : Float.floatToFloat16(g);
                w.setAtIndex(ValueLayout.JAVA_SHORT, i, bits);
                wd[i] = type == DType.BF16 ? FloatConversions.bf16ToFloat(bits) : Float.float16ToFloat(bits);
            }
            MemorySegment c = arena.allocate((cOff + (long) m * ldc) * 4, 64);
            for (long i = 0; i < c.byteSize() / 4; i++)
                c.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            float[] c0 = c.toArray(ValueLayout.JAVA_FLOAT);
            MixedGemm.gemm(type, ta, tw, m, n, k, alpha, a, aOff, lda, w, wOff, ldw, beta, c, cOff, ldc);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0, mag = 0;
                    for (int p = 0; p < k; p++) {
                        double av = a.getAtIndex(
                                ValueLayout.JAVA_FLOAT, aOff + (ta ? (long) p * lda + i : (long) i * lda + p));
                        double wv = wd[(int) (wOff + (tw ? (long) j * ldw + p : (long) p * ldw + j))];
                        s += av * wv;
                        mag += Math.abs(av * wv);
                    }
                    double old = c0[(int) (cOff + (long) i * ldc + j)];
                    double want = alpha * s + (beta == 0 ? 0 : beta * old);
                    double got = c.getAtIndex(ValueLayout.JAVA_FLOAT, cOff + (long) i * ldc + j);
                    double tol = 2 * Math.sqrt(k) * EPS * Math.abs(alpha) * mag
                            + EPS * Math.abs(beta * old)
                            + EPS * Math.abs(want)
                            + 1e-30;
                    if (!(Math.abs(got - want) <= tol)) {
                        throw new AssertionError(type + " C[" + i + "][" + j + "] of " + m + "x" + n + "x" + k
                                + (ta ? " Aᵀ" : "") + (tw ? " Wᵀ" : "") + ": expected " + want + " but was " + got
                                + " (tolerance " + tol + ")");
                    }
                }
            }
        } finally {
            Sgemm.setThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
        }
    }

    /**
     * 16-bit weights with zeros of both signs, subnormals, the largest finite values, infinities and NaNs, in random
     * rows, through every path (skinny M &lt; 8 both layouts, packed): each output must equal the float64 sum of the
     * decoded products — inf where the float64 sum is inf, NaN where it is NaN — within the usual tolerance. Rows with
     * an inf or NaN take the F16 path's exact recomputation; the rest its two-halves-per-lane conversion, which must
     * still turn subnormals and −0 into the right values.
     */
    @Property(tries = 40)
    void specialWeightValues(@ForAll long seed) {
        Random r = new Random(seed);
        DType type = r.nextBoolean() ? DType.BF16 : DType.F16;
        int m = r.nextInt(4) == 0 ? 8 + r.nextInt(9) : 1 + r.nextInt(7), n = 1 + r.nextInt(40), k = 1 + r.nextInt(300);
        boolean tw = r.nextBoolean();
        short[] specials = type == DType.F16
                ? new short[] {
                    0,
                    (short) 0x8000,
                    1,
                    (short) 0x8001,
                    0x03FF,
                    0x0400,
                    0x7BFF,
                    (short) 0xFBFF,
                    0x7C00,
                    (short) 0xFC00,
                    0x7E00,
                    0x7C01,
                    (short) 0xFE00
                }
                : new short[] {
                    0,
                    (short) 0x8000,
                    1,
                    (short) 0x8001,
                    0x007F,
                    0x0080,
                    0x7F7F,
                    (short) 0xFF7F,
                    0x7F80,
                    (short) 0xFF80,
                    0x7FC0,
                    0x7F81
                };
        double specialRate = new double[] {0, 0.001, 0.05}[r.nextInt(3)];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate((long) m * k * 4),
                    w = arena.allocate((long) n * k * 2),
                    c = arena.allocate((long) m * n * 4);
            for (long i = 0; i < (long) m * k; i++) a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            double[] wd = new double[n * k];
            for (int i = 0; i < n * k; i++) {
                short bits = r.nextDouble() < specialRate
                        ? specials[r.nextInt(specials.length)]
                        : r.nextInt(10) == 0
                                ? specials[r.nextInt(6)] // zeros and subnormals are common in real weights
                                : type == DType.BF16
                                        ? FloatConversions.floatToBf16((float) r.nextGaussian())
                                        : Float.floatToFloat16((float) r.nextGaussian());
                w.setAtIndex(ValueLayout.JAVA_SHORT, i, bits);
                wd[i] = type == DType.BF16 ? FloatConversions.bf16ToFloat(bits) : Float.float16ToFloat(bits);
            }
            MixedGemm.gemm(type, false, tw, m, n, k, 1f, a, 0, k, w, 0, tw ? k : n, 0f, c, 0, n);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0, mag = 0;
                    for (int p = 0; p < k; p++) {
                        double t =
                                a.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * k + p) * wd[tw ? j * k + p : p * n + j];
                        s += t;
                        mag += Math.abs(t);
                    }
                    double got = c.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * n + j);
                    String where = type + " C[" + i + "][" + j + "] of " + m + "x" + n + "x" + k + (tw ? " Wᵀ" : "");
                    // finite products whose magnitudes add past Float.MAX_VALUE may overflow a float accumulator
                    // (to ±inf, or to NaN against an opposite inf): only a NaN sum is then still certain
                    if (Double.isNaN(s) || finiteMag(a, i, k, wd, tw, j, n) < Float.MAX_VALUE / 2) {
                        if (Double.isNaN(s) || Double.isInfinite(s)) assertEquals(s, got, where);
                        else assertEquals(s, got, 2 * Math.sqrt(k) * EPS * mag + 1e-30, where);
                    }
                }
            }
        }
    }

    /** Σ|a·w| over the finite products of one output (the part that can overflow a float accumulator). */
    private static double finiteMag(MemorySegment a, int i, int k, double[] wd, boolean tw, int j, int n) {
        double mag = 0;
        for (int p = 0; p < k; p++) {
            double t =
                    Math.abs(a.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * k + p) * wd[tw ? j * k + p : p * n + j]);
            if (Double.isFinite(t)) mag += t;
        }
        return mag;
    }

    @Test
    void gemvOfALinearLayerWeight() {
        // y = x·Wᵀ with W [n, k] F16: 4096-wide rows exercise the streaming path's vector body and a 3-element tail
        int n = 19, k = 4099;
        Random r = new Random(7);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(k * 4L), w = arena.allocate((long) n * k * 2), y = arena.allocate(n * 4L);
            for (int p = 0; p < k; p++) x.setAtIndex(ValueLayout.JAVA_FLOAT, p, (float) r.nextGaussian());
            for (long i = 0; i < (long) n * k; i++)
                w.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16((float) r.nextGaussian()));
            MixedGemm.gemv(DType.F16, true, n, k, x, 0, w, 0, k, y, 0);
            for (int j = 0; j < n; j++) {
                double s = 0, mag = 0;
                for (int p = 0; p < k; p++) {
                    double t = x.getAtIndex(ValueLayout.JAVA_FLOAT, p)
                            * (double) Float.float16ToFloat(w.getAtIndex(ValueLayout.JAVA_SHORT, (long) j * k + p));
                    s += t;
                    mag += Math.abs(t);
                }
                assertEquals(s, y.getAtIndex(ValueLayout.JAVA_FLOAT, j), 2 * Math.sqrt(k) * EPS * mag, "y[" + j + "]");
            }
        }
    }

    @Test
    void batchedSgemmWithASharedWeight() {
        int batch = 3, m = 5, n = 11, k = 9;
        Random r = new Random(11);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate((long) batch * m * k * 4),
                    b = arena.allocate((long) k * n * 4),
                    c = arena.allocate((long) batch * m * n * 4);
            for (long i = 0; i < a.byteSize() / 4; i++)
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            for (long i = 0; i < b.byteSize() / 4; i++)
                b.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            Sgemm.sgemmBatched(
                    batch, false, false, m, n, k, 1f, a, 0, k, (long) m * k, b, 0, n, 0, 0f, c, 0, n, (long) m * n);
            for (int q = 0; q < batch; q++) {
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double s = 0, mag = 0;
                        for (int p = 0; p < k; p++) {
                            double t = a.getAtIndex(ValueLayout.JAVA_FLOAT, (long) q * m * k + (long) i * k + p)
                                    * (double) b.getAtIndex(ValueLayout.JAVA_FLOAT, (long) p * n + j);
                            s += t;
                            mag += Math.abs(t);
                        }
                        assertEquals(
                                s,
                                c.getAtIndex(ValueLayout.JAVA_FLOAT, (long) q * m * n + (long) i * n + j),
                                2 * Math.sqrt(k) * EPS * mag + 1e-30);
                    }
                }
            }
            assertThrows(
                    IllegalArgumentException.class,
                    () -> Sgemm.sgemmBatched(2, false, false, m, n, k, 1f, a, 0, k, 0, b, 0, n, 0, 0f, c, 0, n, 1));
        }
    }

    @Test
    void weightsPastTheirSegmentAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(8 * 4), w = arena.allocate(8 * 8 * 2 - 2), y = arena.allocate(8 * 4);
            IndexOutOfBoundsException e = assertThrows(
                    IndexOutOfBoundsException.class, () -> MixedGemm.gemv(DType.BF16, true, 8, 8, x, 0, w, 0, 8, y, 0));
            assert e.getMessage().contains("BF16") : e.getMessage();
        }
    }
}
