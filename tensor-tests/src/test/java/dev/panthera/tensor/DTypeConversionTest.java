package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * F16 and BF16 conversions, through tensors (to(DType)) as users call them. Oracles: the JDK's binary16 conversions
 * for F16, and for BF16 a round-to-nearest-even written here with BigDecimal distances to the two neighbours.
 */
class DTypeConversionTest {

    private static Tensor bits16(short[] bits, DType t) {
        int[] ints = new int[bits.length];
        for (int i = 0; i < bits.length; i++) ints[i] = bits[i];
        // I32 → I16 bit patterns via the storage: write raw shorts
        Tensor x = Tensor.zeros(t, Shape.of(bits.length));
        for (int i = 0; i < bits.length; i++) {
            x.storage().segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i, bits[i]);
        }
        return x;
    }

    private static short[] allPatterns() {
        short[] s = new short[65536];
        for (int i = 0; i < s.length; i++) s[i] = (short) i;
        return s;
    }

    private static short[] rawShorts(Tensor t) {
        short[] out = new short[(int) t.numel()];
        for (int i = 0; i < out.length; i++)
            out[i] = t.storage().segment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i);
        return out;
    }

    @Test
    void everyBf16PatternGoesToF32AndBackExactly() {
        short[] all = allPatterns();
        Tensor b = bits16(all, DType.BF16);
        float[] f = b.toFloatArray();
        for (int i = 0; i < all.length; i++) {
            float want = Float.intBitsToFloat((all[i] & 0xFFFF) << 16);
            if (Float.isNaN(want)) assertTrue(Float.isNaN(f[i]), "NaN pattern stays NaN");
            else assertEquals((all[i] & 0xFFFF) << 16, Float.floatToRawIntBits(f[i]), "bf16 → f32 is the top half");
        }
        short[] back = rawShorts(b.to(DType.F32).to(DType.BF16));
        for (int i = 0; i < all.length; i++) {
            if (Float.isNaN(f[i])) assertTrue(Float.isNaN(FloatConversions.bf16ToFloat(back[i])), "NaN stays NaN");
            else assertEquals(all[i], back[i], "pattern " + Integer.toHexString(i & 0xFFFF));
        }
    }

    @Test
    void everyF16PatternMatchesTheJdk() {
        short[] all = allPatterns();
        Tensor h = bits16(all, DType.F16);
        float[] f = h.toFloatArray();
        for (int i = 0; i < all.length; i++) {
            float want = Float.float16ToFloat(all[i]);
            if (Float.isNaN(want)) assertTrue(Float.isNaN(f[i]));
            else
                assertEquals(
                        Float.floatToRawIntBits(want),
                        Float.floatToRawIntBits(f[i]),
                        "pattern " + Integer.toHexString(i & 0xFFFF));
        }
        short[] back = rawShorts(h.to(DType.F32).to(DType.F16));
        for (int i = 0; i < all.length; i++) {
            if (Float.isNaN(f[i])) assertTrue(Float.isNaN(Float.float16ToFloat(back[i])));
            else assertEquals(all[i], back[i]);
        }
    }

    /** Round to nearest, ties to even, by exact decimal distances to the two BF16 neighbours of f. */
    static short bf16Oracle(float f) {
        if (Float.isNaN(f)) return (short) 0x7FC0;
        if (Float.isInfinite(f)) return (short) (Float.floatToRawIntBits(f) >>> 16);
        int bits = Float.floatToRawIntBits(f);
        int down = bits & 0xFFFF0000; // truncation toward zero in magnitude
        int up = down + 0x10000; // next magnitude (may become Inf: fine, that is the next value)
        BigDecimal x = new BigDecimal(f);
        BigDecimal dDown =
                x.subtract(new BigDecimal(Float.intBitsToFloat(down))).abs();
        float upF = Float.intBitsToFloat(up);
        BigDecimal dUp;
        if (Float.isInfinite(upF)) {
            // beyond the largest finite BF16, IEEE rounds to Inf at the midpoint max + ulp/2; the "value" of Inf is max
            // + ulp
            BigDecimal max = new BigDecimal(Float.intBitsToFloat(down));
            BigDecimal ulp = new BigDecimal(Math.ulp(Float.intBitsToFloat(down)) * 65536.0);
            dUp = max.abs().add(ulp).subtract(x.abs()).abs();
        } else {
            dUp = new BigDecimal(upF).subtract(x).abs();
        }
        int c = dDown.compareTo(dUp);
        int pick = c < 0 ? down : c > 0 ? up : (((down >>> 16) & 1) == 0 ? down : up);
        return (short) (pick >>> 16);
    }

    @Property(tries = 2000)
    void f32ToBf16RoundsToNearestEven(@ForAll float f) {
        Tensor t = Tensor.of(new float[] {f}, 1).to(DType.BF16);
        short got = rawShorts(t)[0];
        if (Float.isNaN(f)) {
            assertTrue(Float.isNaN(FloatConversions.bf16ToFloat(got)));
            return;
        }
        assertEquals(
                bf16Oracle(f), got, "bf16 of " + f + " (0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + ")");
    }

    @Test
    void bf16EdgeCases() {
        float[] cases = {
            0f,
            -0f,
            Float.MIN_VALUE,
            -Float.MIN_VALUE,
            Float.MIN_NORMAL,
            Float.MAX_VALUE,
            -Float.MAX_VALUE,
            Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY,
            Float.intBitsToFloat(0x3F808000), // exactly halfway, even below: stays 0x3F80
            Float.intBitsToFloat(0x3F818000), // exactly halfway, odd below: rounds up to 0x3F82
            Float.intBitsToFloat(0x3F808001), // just above halfway: up
            Float.intBitsToFloat(0x7F7F8000), // halfway between max finite BF16 and Inf: ties to even → Inf
            Float.intBitsToFloat(0x007FFFFF), // largest subnormal
        };
        for (float f : cases) {
            assertEquals(bf16Oracle(f), rawShorts(Tensor.of(new float[] {f}, 1).to(DType.BF16))[0], "bf16 of " + f);
        }
        assertEquals((short) 0x3F80, bf16Oracle(Float.intBitsToFloat(0x3F808000)));
        assertEquals((short) 0x3F82, bf16Oracle(Float.intBitsToFloat(0x3F818000)));
        assertEquals((short) 0x7F80, bf16Oracle(Float.MAX_VALUE), "max float rounds to +Inf in BF16");
    }

    @Property(tries = 2000)
    void f32ToF16MatchesTheJdk(@ForAll float f) {
        short got = rawShorts(Tensor.of(new float[] {f}, 1).to(DType.F16))[0];
        short want = Float.floatToFloat16(f);
        if (Float.isNaN(f)) assertTrue(Float.isNaN(Float.float16ToFloat(got)));
        else assertEquals(want, got, "f16 of " + f);
    }

    @Test
    void integerAndFloatConvertAsJavaCasts() {
        Random r = new Random(5);
        double[] vals = new double[200];
        for (int i = 0; i < vals.length; i++) vals[i] = (r.nextDouble() - 0.5) * 600;
        vals[0] = 2.5;
        vals[1] = -2.5;
        vals[2] = 1e10;
        vals[3] = -1e10;
        Tensor x = Tensor.of(vals, vals.length);
        long[] i64 = x.to(DType.I64).toLongArray();
        long[] i32 = x.to(DType.I32).toLongArray();
        long[] i8 = x.to(DType.I8).toLongArray();
        long[] u8 = x.to(DType.U8).toLongArray();
        for (int i = 0; i < vals.length; i++) {
            assertEquals((long) vals[i], i64[i]);
            assertEquals((int) vals[i], i32[i], "I32 of " + vals[i]);
            assertEquals((byte) vals[i], i8[i], "I8 of " + vals[i]);
            assertEquals(((int) vals[i]) & 0xFF, u8[i], "U8 of " + vals[i]);
        }
        long[] big = {Long.MAX_VALUE, Long.MIN_VALUE, (1L << 53) + 1};
        assertEquals(
                (1L << 53) + 1,
                Tensor.of(big, 3).add(Tensor.of(new long[] {0, 0, 0}, 3)).toLongArray()[2],
                "I64 arithmetic is exact");
        float[] fromInt = Tensor.of(new int[] {-3, 0, 7}, 3).to(DType.F32).toFloatArray();
        assertEquals(-3f, fromInt[0]);
        assertEquals(7f, fromInt[2]);
        assertEquals(1L, Tensor.of(new float[] {0.5f}, 1).to(DType.BOOL).toLongArray()[0], "nonzero is true");
    }
}
