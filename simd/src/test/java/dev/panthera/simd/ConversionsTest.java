package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.FloatConversions;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The SIMD backend's BF16 and F16 conversions bit for bit against the scalar definitions (the tensor module's
 * {@link FloatConversions#bf16ToFloat}/{@link FloatConversions#floatToBf16} and the JDK's
 * {@link Float#float16ToFloat}/{@link Float#floatToFloat16}), on every 16-bit pattern and on random float bits.
 */
class ConversionsTest {

    /** Every 16-bit pattern (and a few more, so the length is not a multiple of the vector width) widened to F32. */
    private static void everyPatternWidensExactly(DType type, java.util.function.IntUnaryOperator wantBits) {
        int n = 65536 + 5;
        Tensor h = Tensor.zeros(type, Shape.of(n));
        for (int i = 0; i < n; i++) h.storage().segment().setAtIndex(ValueLayout.JAVA_SHORT, i, (short) i);
        try (var use = Backends.use(new SimdBackend())) {
            float[] f = h.to(DType.F32).toFloatArray();
            for (int i = 0; i < n; i++)
                assertEquals(wantBits.applyAsInt((short) i), Float.floatToRawIntBits(f[i]), type + " pattern " + i);
        }
    }

    @Test
    void everyBf16PatternWidensExactly() {
        everyPatternWidensExactly(DType.BF16, b -> Float.floatToRawIntBits(FloatConversions.bf16ToFloat((short) b)));
    }

    @Test
    void everyF16PatternWidensExactly() {
        everyPatternWidensExactly(DType.F16, b -> Float.floatToRawIntBits(Float.float16ToFloat((short) b)));
    }

    @Test
    void f32ToBf16MatchesTheScalarRounding() throws Exception {
        Random r = new Random(9);
        int n = 200_003;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = Float.intBitsToFloat(r.nextInt()); // every class: NaN, Inf, subnormal, ties
        v[0] = Float.MAX_VALUE;
        v[1] = Float.intBitsToFloat(0x3F808000);
        v[2] = Float.intBitsToFloat(0x3F818000);
        Tensor t = Tensor.of(v, n);
        try (var use = Backends.use(new SimdBackend())) {
            Tensor b = t.to(DType.BF16);
            for (int i = 0; i < n; i++) {
                assertEquals(
                        FloatConversions.floatToBf16(v[i]),
                        b.storage().segment().getAtIndex(ValueLayout.JAVA_SHORT, i),
                        "bf16 of bits " + Integer.toHexString(Float.floatToRawIntBits(v[i])));
            }
        }
    }

    @Test
    void f32ToF16MatchesTheJdkRounding() throws Exception {
        Random r = new Random(10);
        int n = 200_003;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            // random bits cover NaN, Inf and overflow; the second half stays near F16's range (exponents 2^-26..2^17)
            v[i] = i % 2 == 0
                    ? Float.intBitsToFloat(r.nextInt())
                    : Float.intBitsToFloat(
                            (r.nextInt(44) + 101) << 23 | r.nextInt(1 << 23) | (r.nextBoolean() ? 0x80000000 : 0));
        }
        v[0] = 65504f;
        v[1] = 65520f; // rounds to inf
        v[2] = Math.scalb(1f, -25); // half the smallest subnormal: ties to even (0)
        v[3] = Math.scalb(3f, -25); // 1.5 × the smallest subnormal: ties to even (2 × it)
        Tensor t = Tensor.of(v, n);
        try (var use = Backends.use(new SimdBackend())) {
            Tensor h = t.to(DType.F16);
            for (int i = 0; i < n; i++) {
                assertEquals(
                        Float.floatToFloat16(v[i]),
                        h.storage().segment().getAtIndex(ValueLayout.JAVA_SHORT, i),
                        "f16 of bits " + Integer.toHexString(Float.floatToRawIntBits(v[i])));
            }
        }
    }

    /** F32 → F64 → F32 of random bits (NaN payloads aside, which the JDK's casts keep as NaN) against Java's casts. */
    @Test
    void f32AndF64ConvertAsJavasCasts() throws Exception {
        Random r = new Random(11);
        int n = 100_003;
        float[] v = new float[n];
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = Float.intBitsToFloat(r.nextInt());
            d[i] = i % 3 == 0
                    ? Double.longBitsToDouble(r.nextLong())
                    : r.nextGaussian() * Math.pow(2, r.nextInt(300) - 150);
        }
        try (var use = Backends.use(new SimdBackend())) {
            double[] wide = Tensor.of(v, n).to(DType.F64).toDoubleArray();
            float[] narrow = Tensor.of(d, n).to(DType.F32).toFloatArray();
            for (int i = 0; i < n; i++) {
                if (Float.isNaN(v[i]))
                    assertEquals(
                            true,
                            Double.isNaN(wide[i]),
                            "F64 of NaN bits " + Integer.toHexString(Float.floatToRawIntBits(v[i])));
                else
                    assertEquals(
                            Double.doubleToRawLongBits(v[i]), Double.doubleToRawLongBits(wide[i]), "F64 of " + v[i]);
                if (Double.isNaN(d[i])) assertEquals(true, Float.isNaN(narrow[i]), "F32 of a NaN");
                else
                    assertEquals(
                            Float.floatToRawIntBits((float) d[i]),
                            Float.floatToRawIntBits(narrow[i]),
                            "F32 of " + d[i]);
            }
        }
    }
}
