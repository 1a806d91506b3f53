package dev.panthera.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Loads of GEMM's B operand as F32 lanes from F32, BF16 or F16 storage, converting in registers. BF16: the 16 bits
 * become the top half of an int. F16: the exponent and mantissa bits shifted into a float's field and multiplied by
 * 2^112 rebias normals and subnormals exactly; the all-ones exponent (inf, NaN) is set to the float's all-ones
 * exponent with the mantissa kept and a NaN made quiet, as {@link Float#float16ToFloat} does.
 *
 * <p>The F16 vector sequence is not used inside GEMM loops: inlined there, C2 left it un-intrinsified and boxed its
 * vectors (hundreds of MB of garbage per GEMV). The skinny paths convert F16 two halves per int lane instead
 * ({@link HalfDots}, {@link SkinnyGemm}); B packing converts F16 through {@link #toFloats}, the
 * {@code Float.float16ToFloat} intrinsic in a plain loop. The vector sequence stays, checked bit for bit over all
 * 65536 patterns, for the day it compiles well.
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
    static int bytes(int kind) {
        return kind == F32 ? 4 : 2;
    }

    /**
     * Eight consecutive elements from element index {@code idx}, as floats. Kept as a small dispatcher over small
     * methods so that C2 inlines the whole chain into the hot loops: a vector returned from a call that is not
     * inlined is boxed on the heap.
     */
    static FloatVector load(int kind, MemorySegment s, long idx) {
        if (kind == F32) return FloatVector.fromMemorySegment(F, s, idx * 4, NO);
        return kind == BF16 ? bf16(s, idx) : f16(s, idx);
    }

    private static FloatVector bf16(MemorySegment s, long idx) {
        IntVector bits =
                (IntVector) ShortVector.fromMemorySegment(S, s, idx * 2, NO).convertShape(VectorOperators.S2I, I, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector f16(MemorySegment s, long idx) {
        IntVector h =
                (IntVector) ShortVector.fromMemorySegment(S, s, idx * 2, NO).convertShape(VectorOperators.S2I, I, 0);
        IntVector em = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
        FloatVector fin = em.reinterpretAsFloats().mul(0x1p112f);
        // exponent 31 (inf, NaN): all-ones float exponent, mantissa kept, quiet bit set when the mantissa is not 0
        IntVector quiet = h.and(0x03FF).add(0x03FF).and(0x0400).lanewise(VectorOperators.LSHL, 12);
        FloatVector special = em.or(0x7F800000).or(quiet).reinterpretAsFloats();
        FloatVector mag = fin.blend(special, fin.compare(VectorOperators.GE, 65536f));
        return mag.reinterpretAsInts()
                .or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16))
                .reinterpretAsFloats();
    }

    /** out[o .. o + n) = n elements from element index {@code idx}, as floats. */
    static void toFloats(int kind, MemorySegment s, long idx, int n, float[] out, int o) {
        if (kind == F16) { // Float.float16ToFloat is a C2 intrinsic (vcvtph2ps with F16C)
            for (int i = 0; i < n; i++) out[o + i] = Float.float16ToFloat(s.getAtIndex(SH, idx + i));
            return;
        }
        int i = 0;
        for (; i + 8 <= n; i += 8) load(kind, s, idx + i).intoArray(out, o + i);
        for (; i < n; i++) out[o + i] = load1(kind, s, idx + i);
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
