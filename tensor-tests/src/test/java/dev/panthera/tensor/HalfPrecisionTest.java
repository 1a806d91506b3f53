package dev.panthera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.testing.Shapes;
import dev.panthera.testing.TensorSpec;
import dev.panthera.testing.Tensors;
import dev.panthera.testing.Values;
import java.lang.foreign.ValueLayout;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * F16 and BF16 beyond the exhaustive round trips: conversion edge cases (ties, overflow thresholds, subnormals, signed
 * zeros, NaN payloads and signs), conversions between the two 16-bit types, and arithmetic on 16-bit tensors, whose
 * results must be the exact value correctly rounded once more than the inputs allow (|error| ≤ half an ulp of the
 * format, checked against a float64 loop). Oracles: {@link Float#floatToFloat16} for F16, and for BF16 the BigDecimal
 * round-to-nearest-even in {@link DTypeConversionTest#bf16Oracle}.
 */
class HalfPrecisionTest {

    private static short bits(Tensor t, int i) {
        return t.storage().segment().getAtIndex(ValueLayout.JAVA_SHORT, i);
    }

    @Test
    void f16EdgeCasesMatchTheJdk() {
        float[] cases = {
            0f,
            -0f,
            65504f,
            -65504f, // largest finite half
            65519.996f,
            65520f,
            -65520f, // just below / exactly at the overflow midpoint (ties to Inf)
            Float.MAX_VALUE,
            Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY,
            0x1p-24f,
            0x1p-25f,
            0x1.8p-25f,
            0x1p-26f, // smallest subnormal, its half (tie to 0), above the tie, below
            0x1.ffcp-15f,
            0x1p-14f, // around the subnormal/normal boundary
            0x1.004p0f,
            0x1.002p0f,
            0x1.006p0f, // 1 + ulp, 1 + ulp/2 (tie to even: 1), 1 + 3ulp/2 (tie to even: up)
            -0x1.002p0f,
            Float.MIN_VALUE,
            -Float.MIN_VALUE,
        };
        Tensor t = Tensor.of(cases).to(DType.F16);
        for (int i = 0; i < cases.length; i++) {
            assertEquals(
                    Float.floatToFloat16(cases[i]),
                    bits(t, i),
                    "f16 of " + cases[i] + " (" + Float.toHexString(cases[i]) + ")");
        }
        assertEquals(
                (short) 0x7C00, Float.floatToFloat16(65520f), "the oracle itself: 65520 is the tie that rounds to Inf");
        assertEquals((short) 0x8000, bits(t, 1), "-0 keeps its sign");
    }

    @Test
    void bf16NaNsStayNaNsWithTheirSignAndInfinitiesStayInfinite() {
        float[] nans = {
            Float.intBitsToFloat(0x7F800001), // signalling NaN whose payload sits only in the bits BF16 drops
            Float.intBitsToFloat(0xFF800001), // the same, negative
            Float.intBitsToFloat(0x7FC00000),
            Float.intBitsToFloat(0x7FFFFFFF),
        };
        Tensor t = Tensor.of(nans).to(DType.BF16);
        for (int i = 0; i < nans.length; i++) {
            short b = bits(t, i);
            assertTrue(
                    Float.isNaN(FloatConversions.bf16ToFloat(b)),
                    "NaN must not round to Inf: " + Integer.toHexString(b & 0xFFFF));
            assertEquals(Float.floatToRawIntBits(nans[i]) < 0, b < 0, "sign kept");
        }
        Tensor inf =
                Tensor.of(Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f).to(DType.BF16);
        assertEquals((short) 0x7F80, bits(inf, 0));
        assertEquals((short) 0xFF80, bits(inf, 1));
        assertEquals((short) 0x8000, bits(inf, 2));
        // negative ties mirror positive ones
        float negTieEven = Float.intBitsToFloat(0xBF808000), negTieOdd = Float.intBitsToFloat(0xBF818000);
        Tensor ties = Tensor.of(negTieEven, negTieOdd).to(DType.BF16);
        assertEquals(DTypeConversionTest.bf16Oracle(negTieEven), bits(ties, 0));
        assertEquals((short) 0xBF80, bits(ties, 0));
        assertEquals((short) 0xBF82, bits(ties, 1));
    }

    @Property(tries = 500)
    void conversionsBetweenTheTwoHalfFormatsRoundOnce(@ForAll short pattern) {
        // BF16 → F16: the BF16 value is exact in F32, so one F32 → F16 rounding; F16 → BF16 likewise
        Tensor b = Tensor.zeros(DType.BF16, Shape.of(1));
        b.storage().segment().setAtIndex(ValueLayout.JAVA_SHORT, 0, pattern);
        float bv = FloatConversions.bf16ToFloat(pattern);
        short toHalf = bits(b.to(DType.F16), 0);
        if (Float.isNaN(bv)) assertTrue(Float.isNaN(Float.float16ToFloat(toHalf)));
        else assertEquals(Float.floatToFloat16(bv), toHalf, "bf16 " + bv + " → f16");
        Tensor h = Tensor.zeros(DType.F16, Shape.of(1));
        h.storage().segment().setAtIndex(ValueLayout.JAVA_SHORT, 0, pattern);
        float hv = Float.float16ToFloat(pattern);
        short toBf = bits(h.to(DType.BF16), 0);
        if (Float.isNaN(hv)) assertTrue(Float.isNaN(FloatConversions.bf16ToFloat(toBf)));
        else assertEquals(DTypeConversionTest.bf16Oracle(hv), toBf, "f16 " + hv + " → bf16");
    }

    /** Half an ulp of the format at v, relative bound for normal numbers; absolute at the bottom of the range. */
    private static double halfUlp(DType t, double v) {
        int mant = t == DType.F16 ? 10 : 7;
        double minNormal = t == DType.F16 ? 0x1p-14 : Float.MIN_NORMAL;
        double a = Math.max(Math.abs(v), minNormal);
        return Math.scalb(1.0, Math.getExponent(a) - mant - 1);
    }

    /** Which op (add, mul, div, exp, tanh, sub) on two operands of one 16-bit dtype that broadcast together. */
    record HalfCase(int which, TensorSpec a, TensorSpec b) {}

    @Provide
    Arbitrary<HalfCase> halfCases() {
        return Combinators.combine(
                        Arbitraries.of(DType.F16, DType.BF16),
                        Shapes.broadcastablePairs(0, 4),
                        Arbitraries.integers().between(0, 5))
                .flatAs((t, shapes, which) -> {
                    Tensors f = Tensors.of(t).withValues(Values.normal());
                    return Combinators.combine(
                                    f.specs(shapes.inputs().get(0), t),
                                    f.specs(shapes.inputs().get(1), t))
                            .as((a, b) -> new HalfCase(which, a, b));
                });
    }

    @Property(tries = 150)
    void arithmeticOnHalfTensorsIsCorrectlyRoundedFromTheExactValue(@ForAll("halfCases") HalfCase c) {
        DType t = c.a().dtype();
        Tensor a = c.a().tensor(), b = c.b().tensor();
        int which = c.which();
        Tensor y = switch (which) {
            case 0 -> a.add(b);
            case 1 -> a.mul(b);
            case 2 -> a.div(b.abs().add(0.5));
            case 3 -> a.exp();
            case 4 -> a.tanh();
            default -> a.sub(b);
        };
        assertEquals(t, y.dtype(), "16-bit in, 16-bit out");
        Tensor denominators = b.abs().add(0.5); // |z| + 0.5 is itself rounded to the format first
        long[] out = y.dims();
        for (long[] i : Oracle.indices(out)) {
            double x = which >= 3 && which <= 4 ? a.get(i) : a.get(Oracle.broadcastIndex(a.dims(), i));
            double z = which >= 3 && which <= 4 ? 0 : b.get(Oracle.broadcastIndex(b.dims(), i));
            double exact = switch (which) {
                case 0 -> x + z;
                case 1 -> x * z;
                case 2 -> Double.NaN; // set below from the rounded denominator
                case 3 -> Math.exp(x);
                case 4 -> Math.tanh(x);
                default -> x - z;
            };
            if (which == 2) exact = x / denominators.get(Oracle.broadcastIndex(b.dims(), i));
            double got = y.get(i);
            if (Double.isInfinite(got)) {
                // F16 rounds to Inf from 65520 (the tie above 65504) up; the F32 value it rounds from may sit 2^-24
                // relative above the exact one. BF16 overflows only past 3.4e38, out of these inputs' reach.
                assertTrue(
                        t == DType.F16 && got * exact > 0 && Math.abs(exact) * (1 + 0x1p-24) >= 65520,
                        t + " op " + which + ": Inf for exact " + exact);
                continue;
            }
            // one rounding of the exact value, plus at most one F32 rounding before it (2^-24 relative)
            assertTrue(
                    Math.abs(got - exact) <= halfUlp(t, exact) + Math.abs(exact) * 0x1p-24,
                    t + " op " + which + ": " + got + " vs exact " + exact);
        }
    }
}
