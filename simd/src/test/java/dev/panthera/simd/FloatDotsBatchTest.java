package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * {@link FloatDotsBatch#dot2x4} against a scalar statement of the arithmetic it documents, bit for bit: per sum, two
 * chains of fused multiply-adds lane by lane (even and odd vectors), their lanes added pairwise, LaneSum's halving
 * tree, then the remaining elements one product and one addition at a time. The end-to-end accuracy of the products
 * that use it (against float64) is SgemmTest's.
 */
class FloatDotsBatchTest {

    record Case(int pc, int len, int pad, long seed) {}

    @Provide
    Arbitrary<Case> cases() {
        int l = FloatDotsBatch.F.length();
        Arbitrary<Integer> len = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.integers().between(0, 70)),
                Tuple.of(1, Arbitraries.of(1, 2 * l - 1, 2 * l, 2 * l + 1, 257, 768, 1021)),
                Tuple.of(2, Arbitraries.integers().between(70, 2100)));
        return Combinators.combine(
                        Arbitraries.integers().between(0, 5),
                        len,
                        Arbitraries.integers().between(0, 3),
                        Arbitraries.longs())
                .as(Case::new);
    }

    @Property(tries = 80)
    void eachSumIsTheDocumentedArithmetic(@ForAll("cases") Case c) {
        Random r = new Random(c.seed());
        int k = c.pc() + c.len() + c.pad(); // a row's stride; the sums run over [pc, pc + len)
        int pc = c.pc(), pe = pc + c.len();
        float[] x = new float[4 * k + 3];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(4L * (3L * k + 2), 4);
            for (long i = 0; i < w.byteSize() / 4; i++)
                w.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            long r0 = r.nextInt(2), r1 = r0 + k + r.nextInt(k + 1); // two rows, unaligned starts
            int x0 = r.nextInt(3);
            float[] out = new float[8], lanes = new float[HalfDotsBatch.LANES];
            FloatDotsBatch.dot2x4(x, x0, k, w, r0, r1, pc, pe, out, lanes);
            for (int t = 0; t < 4; t++) {
                long[] rows = {r0, r1};
                for (int j = 0; j < 2; j++) {
                    float want = model(x, x0 + t * k, w, rows[j], pc, pe);
                    assertEquals(
                            Float.floatToRawIntBits(want),
                            Float.floatToRawIntBits(out[2 * t + j]),
                            "piece " + t + " row " + j + ": " + want + " " + out[2 * t + j]);
                }
            }
        }
    }

    private static float model(float[] x, int xo, MemorySegment w, long r, int pc, int pe) {
        int l = FloatDotsBatch.F.length();
        float[] even = new float[l], odd = new float[l];
        int p = pc;
        for (; p + 2 * l <= pe; p += 2 * l) {
            for (int i = 0; i < l; i++) {
                even[i] = Math.fma(x[xo + p + i], w.getAtIndex(ValueLayout.JAVA_FLOAT, r + p + i), even[i]);
                odd[i] = Math.fma(x[xo + p + l + i], w.getAtIndex(ValueLayout.JAVA_FLOAT, r + p + l + i), odd[i]);
            }
        }
        float[] s = new float[l];
        for (int i = 0; i < l; i++) s[i] = even[i] + odd[i];
        for (int h = l / 2; h >= 1; h /= 2) for (int i = 0; i < h; i++) s[i] = s[i] + s[i + h];
        float d = s[0];
        for (; p < pe; p++) d += x[xo + p] * w.getAtIndex(ValueLayout.JAVA_FLOAT, r + p);
        return d;
    }
}
