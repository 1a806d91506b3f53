package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Loads of GEMM's B operand as F32 lanes from F32, BF16 or F16 storage, converting in registers. BF16: the 16 bits
 * become the top half of an int. F16: the exponent and mantissa bits shifted into a float's field and multiplied by
 * 2^112 rebias normals and subnormals exactly; the all-ones exponent (inf, NaN) is set to the float's all-ones
 * exponent with the mantissa kept and a NaN made quiet, as {@link Float#float16ToFloat} does.
 */
final class WeightLoads {
    private WeightLoads() {}

    static final int F32 = 0, BF16 = 1, F16 = 2;

    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_128;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort SH = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** Bytes per element of a storage kind. */
    static int bytes(int kind) { return kind == F32 ? 4 : 2; }

    /** Eight consecutive elements from element index {@code idx}, as floats. */
    static FloatVector load(int kind, MemorySegment s, long idx) {
        if (kind == F32) return FloatVector.fromMemorySegment(F, s, idx * 4, NO);
        ShortVector h = ShortVector.fromMemorySegment(S, s, idx * 2, NO);
        IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        return kind == BF16 ? bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats() : f16(bits);
    }

    /** F16 bit patterns (sign-extended into ints) to floats. */
    static FloatVector f16(IntVector h) {
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector em = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
        IntVector finite = em.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> special = h.and(0x7C00).compare(VectorOperators.EQ, 0x7C00);
        VectorMask<Integer> nan = special.and(h.and(0x03FF).compare(VectorOperators.NE, 0));
        IntVector inf = em.or(0x7F800000);
        return finite.blend(inf, special).blend(inf.or(0x00400000), nan).or(sign).reinterpretAsFloats();
    }

    /** One element as a float. */
    static float load1(int kind, MemorySegment s, long idx) {
        return switch (kind) {
            case F32 -> s.getAtIndex(FL, idx);
            case BF16 -> Float.intBitsToFloat(s.getAtIndex(SH, idx) << 16);
            default -> Float.float16ToFloat(s.getAtIndex(SH, idx));
        };
    }
}
