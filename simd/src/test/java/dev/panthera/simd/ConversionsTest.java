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

/** Vector BF16 conversions bit for bit against the scalar definition, on every BF16 pattern and on random floats. */
class ConversionsTest {

    @Test
    void everyBf16PatternWidensExactly() throws Exception {
        int n = 65536 + 5;   // not a multiple of the vector width
        Tensor h = Tensor.zeros(DType.BF16, Shape.of(n));
        for (int i = 0; i < n; i++) h.storage().segment().setAtIndex(ValueLayout.JAVA_SHORT, i, (short) i);
        try (var use = Backends.use(new SimdBackend())) {
            float[] f = h.to(DType.F32).toFloatArray();
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(FloatConversions.bf16ToFloat((short) i)), Float.floatToRawIntBits(f[i]), "pattern " + i);
            }
        }
    }

    @Test
    void f32ToBf16MatchesTheScalarRounding() throws Exception {
        Random r = new Random(9);
        int n = 200_003;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = Float.intBitsToFloat(r.nextInt());   // every class: NaN, Inf, subnormal, ties
        v[0] = Float.MAX_VALUE;
        v[1] = Float.intBitsToFloat(0x3F808000);
        v[2] = Float.intBitsToFloat(0x3F818000);
        Tensor t = Tensor.of(v, n);
        try (var use = Backends.use(new SimdBackend())) {
            Tensor b = t.to(DType.BF16);
            for (int i = 0; i < n; i++) {
                assertEquals(FloatConversions.floatToBf16(v[i]), b.storage().segment().getAtIndex(ValueLayout.JAVA_SHORT, i), "bf16 of bits " + Integer.toHexString(Float.floatToRawIntBits(v[i])));
            }
        }
    }
}
