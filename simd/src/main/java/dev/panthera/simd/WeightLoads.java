package dev.panthera.simd;

import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Loads of GEMM's B operand as F32 lanes from F32 or BF16 storage, widened in registers (BF16: the 16 bits become the
 * top half of an int), and element loads of every weight dtype. F16 weights are widened by the skinny paths two
 * halves per int lane ({@link HalfDots}, {@link SkinnyGemm}) and by B packing through {@link #toFloats}, the
 * {@code Float.float16ToFloat} intrinsic (F16C's vcvtph2ps) in a plain loop.
 */
final class WeightLoads {
    private WeightLoads() {}

    static final VectorSpecies<Float> F = Lanes.F256;
    private static final VectorSpecies<Integer> I = Lanes.I256;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_128;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort SH = ValueLayout.JAVA_SHORT_UNALIGNED;

    /**
     * Eight consecutive F32 or BF16 elements from element index {@code idx}, as floats. A small dispatcher over small
     * methods, so that C2 inlines the whole chain into the hot loops (a vector returned from a call that is not inlined
     * is boxed on the heap).
     */
    static FloatVector load(DType kind, MemorySegment s, long idx) {
        if (kind == DType.F32) return FloatVector.fromMemorySegment(F, s, idx * 4, NO);
        if (kind == DType.BF16) return bf16(s, idx);
        throw new IllegalArgumentException(
                "WeightLoads.load: " + kind + " weights are widened by toFloats or HalfDots");
    }

    private static FloatVector bf16(MemorySegment s, long idx) {
        IntVector bits =
                (IntVector) ShortVector.fromMemorySegment(S, s, idx * 2, NO).convertShape(VectorOperators.S2I, I, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** out[o .. o + n) = n elements from element index {@code idx}, as floats. */
    static void toFloats(DType kind, MemorySegment s, long idx, int n, float[] out, int o) {
        if (kind == DType.F16) { // Float.float16ToFloat is a C2 intrinsic (vcvtph2ps with F16C)
            for (int i = 0; i < n; i++) out[o + i] = Float.float16ToFloat(s.getAtIndex(SH, idx + i));
            return;
        }
        if (kind == DType.F32) {
            MemorySegment.copy(s, FL, idx * 4, out, o, n);
            return;
        }
        // a loop per dtype: a call of load(kind, ...) that C2 left out of line here returned each vector boxed
        int i = 0;
        if (kind == DType.BF16) for (; i + 8 <= n; i += 8) bf16(s, idx + i).intoArray(out, o + i);
        for (; i < n; i++) out[o + i] = load1(kind, s, idx + i);
    }

    /** One element as a float. */
    static float load1(DType kind, MemorySegment s, long idx) {
        return switch (kind) {
            case F32 -> s.getAtIndex(FL, idx);
            case BF16 -> Float.intBitsToFloat(s.getAtIndex(SH, idx) << 16);
            case F16 -> Float.float16ToFloat(s.getAtIndex(SH, idx));
            default -> throw new IllegalArgumentException("WeightLoads.load1: " + kind + " is not a GEMM weight dtype");
        };
    }
}
