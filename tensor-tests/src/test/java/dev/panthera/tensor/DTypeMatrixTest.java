package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Every source dtype to every destination dtype (81 pairs) on values that probe rounding, overflow, sign and NaN,
 * against Java's own conversions written out here: float → integer is the JLS cast chain ((int) then narrowing for
 * I8, low 8 bits for U8), integer → integer wraps, integer → F32/F64 is {@code (float)}/{@code (double)} of the long,
 * to F16 is {@link Float#floatToFloat16} of the F32 value, to BF16 the round-to-nearest-even oracle of
 * {@link DTypeConversionTest#bf16Oracle} on the F32 value, and anything → BOOL is "non-zero".
 */
class DTypeMatrixTest {

    /** Source values: each is first stored in the source dtype (the test then reads back what was stored). */
    private static double[] samples(Random r) {
        double[] fixed = {
            0,
            -0.0,
            1,
            -1,
            2.5,
            -2.5,
            3.7,
            -3.7,
            127,
            128,
            255,
            256,
            -129,
            300.9,
            65504,
            65520,
            70000,
            1e10,
            -1e10,
            3e9,
            (1L << 53) + 1,
            0x1.0040p0,
            1e-8,
            Double.NaN,
            Double.POSITIVE_INFINITY,
            Double.NEGATIVE_INFINITY,
            Long.MAX_VALUE,
            Integer.MIN_VALUE
        };
        double[] out = new double[fixed.length + 40];
        System.arraycopy(fixed, 0, out, 0, fixed.length);
        for (int i = fixed.length; i < out.length; i++) out[i] = r.nextGaussian() * Math.pow(10, r.nextInt(12));
        return out;
    }

    /** What the source tensor holds, read exactly: as a long for integer types, else as a double. */
    private record Held(boolean integral, long l, double d) {
        double asDouble() {
            return integral ? (double) l : d;
        }
    }

    private static Held held(Tensor src, int i) {
        if (src.dtype().isFloatingPoint()) return new Held(false, 0, src.get(i));
        return new Held(true, src.toLongArray()[i], 0);
    }

    /** The oracle: the destination's bits or value for a held source value. */
    private static void check(Held h, DType dst, Tensor out, int i, String what) {
        switch (dst) {
            case F64 -> assertEquals(h.asDouble(), out.get(i), 0.0, what);
            case F32 -> {
                float want = h.integral() ? (float) h.l() : (float) h.d();
                assertSameFloat(want, (float) out.get(i), what);
            }
            case F16 -> {
                float f = h.integral() ? (float) h.l() : (float) h.d();
                short got = out.storage()
                        .segment()
                        .getAtIndex(
                                java.lang.foreign.ValueLayout.JAVA_SHORT,
                                out.layout().indexOf(i));
                if (Float.isNaN(f)) assertTrue(Float.isNaN(Float.float16ToFloat(got)), what);
                else assertEquals(Float.floatToFloat16(f), got, what);
            }
            case BF16 -> {
                float f = h.integral() ? (float) h.l() : (float) h.d();
                short got = out.storage()
                        .segment()
                        .getAtIndex(
                                java.lang.foreign.ValueLayout.JAVA_SHORT,
                                out.layout().indexOf(i));
                if (Float.isNaN(f)) assertTrue(Float.isNaN(FloatConversions.bf16ToFloat(got)), what);
                else assertEquals(DTypeConversionTest.bf16Oracle(f), got, what);
            }
            case I64 -> assertEquals(h.integral() ? h.l() : (long) h.d(), out.toLongArray()[i], what);
            case I32 -> assertEquals(h.integral() ? (int) h.l() : (int) h.d(), out.toLongArray()[i], what);
            case I8 -> assertEquals(h.integral() ? (byte) h.l() : (byte) (int) h.d(), out.toLongArray()[i], what);
            case U8 -> assertEquals(h.integral() ? h.l() & 0xFF : ((int) h.d()) & 0xFF, out.toLongArray()[i], what);
            case BOOL ->
                assertEquals(
                        (h.integral() ? h.l() != 0 : h.d() != 0 || Double.isNaN(h.d())) ? 1L : 0L,
                        out.toLongArray()[i],
                        what);
        }
    }

    private static void assertSameFloat(float want, float got, String what) {
        if (Float.isNaN(want)) assertTrue(Float.isNaN(got), what);
        else
            assertEquals(
                    Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), what + ": " + want + " vs " + got);
    }

    @Test
    void everyPairConvertsLikeJava() {
        double[] v = samples(new Random(42));
        Tensor f64 = Tensor.of(v, v.length);
        for (DType src : DType.values()) {
            Tensor s = f64.to(src);
            if (src == DType.I64) { // also values only a long holds exactly
                long[] l = new long[v.length];
                for (int i = 0; i < l.length; i++)
                    l[i] = i % 3 == 0
                            ? Long.MAX_VALUE - i
                            : i % 3 == 1 ? Long.MIN_VALUE + i : (1L << 62) + (1L << 38) + i;
                s = Tensor.of(l, l.length);
            }
            for (DType dst : DType.values()) {
                Tensor out = s.to(dst);
                assertEquals(dst, out.dtype());
                Tensor strided = Tensor.stack(java.util.List.of(s, s), 1)
                        .select(1, 1)
                        .to(dst); // a stride-2 view converts the same
                for (int i = 0; i < v.length; i++) {
                    Held h = held(s, i);
                    String what = src + " " + (h.integral() ? h.l() : h.d()) + " → " + dst;
                    check(h, dst, out, i, what);
                    check(h, dst, strided, i, what + " (strided source)");
                }
            }
        }
    }
}
