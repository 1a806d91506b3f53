package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row conversions between F32 and the 16-bit floats. BF16 ↔ F32 in vector registers: BF16 → F32 is exact (the bits
 * become the top half); F32 → BF16 rounds to nearest even and keeps NaN a quiet NaN, bit for bit as
 * {@link dev.panthera.tensor.FloatConversions#floatToBf16}. F16 ↔ F32 through {@link Float#float16ToFloat} and
 * {@link Float#floatToFloat16}, which C2 compiles to the F16C instructions (vcvtph2ps / vcvtps2ph) and vectorizes in
 * these plain loops; the Vector API has no half-float conversion.
 * F32 ↔ F64 by the Vector API's F2D/D2F lane conversions (exact, and Java's rounding cast).
 */
final class Conversions {
    private Conversions() {}

    private static final VectorSpecies<Float> F = Lanes.F;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final VectorSpecies<Short> S =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * 16));
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /** dst[i] = float(src_bf16[i]) for n elements; offsets in elements. */
    static void bf16ToF32(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            ShortVector h = ShortVector.fromMemorySegment(S, src, (so + i) * 2, NO);
            IntVector bits = ((IntVector) h.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16);
            bits.reinterpretAsFloats().intoMemorySegment(dst, (dO + i) * 4, NO);
        }
        for (; i < n; i++) {
            short b = src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, so + i);
            dst.setAtIndex(
                    java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED,
                    dO + i,
                    dev.panthera.tensor.FloatConversions.bf16ToFloat(b));
        }
    }

    /** dst_bf16[i] = round-to-nearest-even(src[i]) for n elements. */
    static void f32ToBf16(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            IntVector bits =
                    FloatVector.fromMemorySegment(F, src, (so + i) * 4, NO).reinterpretAsInts();
            IntVector lsb = bits.lanewise(VectorOperators.LSHR, 16).and(1);
            IntVector rounded = bits.add(0x7FFF).add(lsb).lanewise(VectorOperators.LSHR, 16);
            VectorMask<Integer> nan = bits.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
            IntVector quiet = bits.lanewise(VectorOperators.LSHR, 16).or(0x0040);
            IntVector out = rounded.blend(quiet, nan);
            ((ShortVector) out.convertShape(VectorOperators.I2S, S, 0)).intoMemorySegment(dst, (dO + i) * 2, NO);
        }
        for (; i < n; i++) {
            float f = src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, so + i);
            dst.setAtIndex(
                    java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED,
                    dO + i,
                    dev.panthera.tensor.FloatConversions.floatToBf16(f));
        }
    }

    /** dst[i] = float(src_f16[i]) for n elements, exact; offsets in elements. */
    static void f16ToF32(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        for (int i = 0; i < n; i++) {
            dst.setAtIndex(
                    java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED,
                    dO + i,
                    Float.float16ToFloat(src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, so + i)));
        }
    }

    /** dst_f16[i] = src[i] rounded to nearest even (overflow to ±inf), as {@link Float#floatToFloat16}. */
    static void f32ToF16(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        for (int i = 0; i < n; i++) {
            dst.setAtIndex(
                    java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED,
                    dO + i,
                    Float.floatToFloat16(src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, so + i)));
        }
    }

    private static final VectorSpecies<Double> D = Lanes.D;
    /** Floats with the double species' lane count (half its bits). */
    private static final VectorSpecies<Float> FD =
            VectorSpecies.of(float.class, VectorShape.forBitSize(D.length() * 32));

    /** dst_f64[i] = src_f32[i], exact (F2D lane by lane). */
    static void f32ToF64(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        int i = 0;
        for (int bound = n - n % D.length(); i < bound; i += D.length()) {
            FloatVector.fromMemorySegment(FD, src, (so + i) * 4, NO)
                    .convertShape(VectorOperators.F2D, D, 0)
                    .intoMemorySegment(dst, (dO + i) * 8, NO);
        }
        for (; i < n; i++) {
            dst.setAtIndex(
                    java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED,
                    dO + i,
                    src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, so + i));
        }
    }

    /** dst_f32[i] = (float) src_f64[i], rounded to nearest even as Java's cast (D2F lane by lane). */
    static void f64ToF32(MemorySegment src, long so, MemorySegment dst, long dO, int n) {
        int i = 0;
        for (int bound = n - n % D.length(); i < bound; i += D.length()) {
            jdk.incubator.vector.DoubleVector.fromMemorySegment(D, src, (so + i) * 8, NO)
                    .convertShape(VectorOperators.D2F, FD, 0)
                    .intoMemorySegment(dst, (dO + i) * 4, NO);
        }
        for (; i < n; i++) {
            dst.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, dO + i, (float)
                    src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED, so + i));
        }
    }
}
