package dev.panthera.tensor;

/**
 * Conversions between F32 and the 16-bit float formats. F16 follows IEEE 754 binary16 (the JDK's
 * {@link Float#floatToFloat16}); BF16 is the top half of an F32, rounded to nearest even, with NaN kept a quiet NaN
 * and infinities kept infinite.
 */
public final class FloatConversions {
    private FloatConversions() {}

    /** The F32 value of BF16 bits (exact). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** F32 to BF16 bits, round to nearest even; NaN becomes a quiet NaN with the same sign. */
    public static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7FFFFFFF) > 0x7F800000) { // NaN: keep sign and top payload, force quiet bit
            return (short) ((x >>> 16) | 0x0040);
        }
        int lsb = (x >>> 16) & 1;
        int rounded = x + 0x7FFF + lsb; // ties to even; overflow carries into the exponent (→ Inf)
        return (short) (rounded >>> 16);
    }

    /** The F32 value of F16 bits (exact). */
    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** F32 to F16 bits, IEEE round to nearest even. */
    public static short floatToF16(float f) {
        return Float.floatToFloat16(f);
    }
}
