package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link LaneSum#sum(FloatVector)} at every float width is the halving tree computed here with scalar float adds
 * (lane i += lane i + w for w = L/2, L/4, ..., 1), bit for bit: the order is the method's contract, so results do not
 * depend on the width's code path or on whether the JIT has compiled it.
 */
class LaneSumTest {

    private static float scalarTree(float[] a) {
        float[] t = a.clone();
        for (int w = t.length / 2; w >= 1; w /= 2) for (int i = 0; i < w; i++) t[i] += t[i + w];
        return t[0];
    }

    @Provide
    Arbitrary<float[]> lanes() {
        // values spread over many binades, so a different association of the adds changes the rounded sum
        Arbitrary<Float> v = Arbitraries.floats().between(-1e6f, 1e6f).ofScale(3);
        return Arbitraries.of(2, 4, 8, 16).flatMap(n -> v.array(float[].class).ofSize(n));
    }

    @Property(tries = 300)
    void eachWidthSumsInTheHalvingTreeOrder(@ForAll("lanes") float[] a) {
        VectorSpecies<Float> s =
                FloatVector.SPECIES_64.withShape(jdk.incubator.vector.VectorShape.forBitSize(32 * a.length));
        float want = scalarTree(a);
        float got = LaneSum.sum(FloatVector.fromArray(s, a, 0));
        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), "lanes " + a.length);
        if (a.length <= 8) { // the half-width entry takes vectors of up to eight lanes (half of a 512-bit vector)
            float half = LaneSum.sumHalf(FloatVector.fromArray(s, a, 0));
            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(half), "sumHalf, lanes " + a.length);
        }
    }
}
