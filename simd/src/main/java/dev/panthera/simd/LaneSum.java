package dev.panthera.simd;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sum of a vector's lanes in one fixed order: a halving tree (lane i gets lane i + L/2, then i + L/4, ...), built
 * from lanewise adds and constant rearranges.
 *
 * <p>{@code reduceLanes(ADD)} does not fix its order: the Vector API's Java fallback (the interpreter, before a
 * kernel is compiled) adds the lanes one after another, while C2's intrinsic may associate them differently, so the
 * same kernel on the same input gave results an ulp apart before and after warm-up (a layerNorm, softmax or row sum
 * of a [70, 384] tensor changed bits between its first call and its 2000th). Every step here is a lanewise IEEE
 * addition of named lanes, which both paths compute alike; on a Zen 5 it is also about 3× faster than the compiled
 * {@code reduceLanes(ADD)} after a 384-element accumulation loop.
 */
public final class LaneSum {
    private LaneSum() {}

    private static final VectorSpecies<Float> F512 = FloatVector.SPECIES_512,
            F256 = FloatVector.SPECIES_256,
            F128 = FloatVector.SPECIES_128,
            F64 = FloatVector.SPECIES_64;
    private static final VectorSpecies<Double> D512 = DoubleVector.SPECIES_512,
            D256 = DoubleVector.SPECIES_256,
            D128 = DoubleVector.SPECIES_128;
    private static final VectorShuffle<Float> F512_8 = rotate(F512, 8),
            F512_4 = rotate(F512, 4),
            F512_2 = rotate(F512, 2),
            F512_1 = rotate(F512, 1),
            F256_4 = rotate(F256, 4),
            F256_2 = rotate(F256, 2),
            F256_1 = rotate(F256, 1),
            F128_2 = rotate(F128, 2),
            F128_1 = rotate(F128, 1),
            F64_1 = rotate(F64, 1);
    private static final VectorShuffle<Double> D512_4 = rotate(D512, 4),
            D512_2 = rotate(D512, 2),
            D512_1 = rotate(D512, 1),
            D256_2 = rotate(D256, 2),
            D256_1 = rotate(D256, 1),
            D128_1 = rotate(D128, 1);

    private static <E> VectorShuffle<E> rotate(VectorSpecies<E> s, int by) {
        int n = s.length();
        return VectorShuffle.fromOp(s, i -> (i + by) % n);
    }

    /**
     * The lanes of {@code v} summed in the fixed halving-tree order.
     *
     * <p>A kernel calls this once per row, a call site C2 does not count as hot, so it inlines the callee only up to
     * 35 bytes of bytecode (MaxInlineSize); a call left out of line receives its vector boxed on the heap. So the 16-
     * and 8-lane trees are chains of one step per method, each small enough to inline there.
     */
    public static float sum(FloatVector v) {
        return v.length() == 16 ? f16(v) : narrower(v);
    }

    /**
     * {@link #sum(FloatVector)} for vectors of {@link Lanes#H} (half the kernels' width), in the same order. An entry
     * of its own: C2 inlines {@link #sum(FloatVector)} by the vector classes it has seen there, and one that saw two
     * widths keeps the vector of every caller as an object (a heap box per loop iteration in a norm's row loop).
     */
    static float sumHalf(FloatVector v) {
        return v.length() == 8 ? f8(v) : other(v);
    }

    private static float narrower(FloatVector v) {
        return v.length() == 8 ? f8(v) : other(v);
    }

    private static float f16(FloatVector v) {
        return f16by4(v.add(v.rearrange(F512_8)));
    }

    private static float f16by4(FloatVector v) {
        return f16by2(v.add(v.rearrange(F512_4)));
    }

    private static float f16by2(FloatVector v) {
        return f16by1(v.add(v.rearrange(F512_2)));
    }

    private static float f16by1(FloatVector v) {
        return v.add(v.rearrange(F512_1)).lane(0);
    }

    private static float f8(FloatVector v) {
        return f8by2(v.add(v.rearrange(F256_4)));
    }

    private static float f8by2(FloatVector v) {
        return f8by1(v.add(v.rearrange(F256_2)));
    }

    private static float f8by1(FloatVector v) {
        return v.add(v.rearrange(F256_1)).lane(0);
    }

    private static float other(FloatVector v) {
        VectorSpecies<Float> s = v.species();
        if (s == F128) {
            v = v.add(v.rearrange(F128_2));
            return v.add(v.rearrange(F128_1)).lane(0);
        }
        if (s == F64) return v.add(v.rearrange(F64_1)).lane(0);
        return tree(v);
    }

    /** The lanes of {@code v} summed in the fixed halving-tree order. */
    public static double sum(DoubleVector v) {
        VectorSpecies<Double> s = v.species();
        if (s == D512) {
            v = v.add(v.rearrange(D512_4));
            v = v.add(v.rearrange(D512_2));
            return v.add(v.rearrange(D512_1)).lane(0);
        }
        if (s == D256) {
            v = v.add(v.rearrange(D256_2));
            return v.add(v.rearrange(D256_1)).lane(0);
        }
        if (s == D128) return v.add(v.rearrange(D128_1)).lane(0);
        double[] a = v.toArray();
        return treeSum(a);
    }

    /** Any other species (a width-agnostic shape, one lane): the same tree over the lanes as an array. */
    private static float tree(FloatVector v) {
        float[] a = v.toArray();
        for (int w = a.length / 2; w >= 1; w /= 2) {
            for (int i = 0; i < w; i++) a[i] += a[i + w];
        }
        return a[0];
    }

    private static double treeSum(double[] a) {
        for (int w = a.length / 2; w >= 1; w /= 2) {
            for (int i = 0; i < w; i++) a[i] += a[i + w];
        }
        return a[0];
    }
}
