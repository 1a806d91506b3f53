package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

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
import org.junit.jupiter.api.Test;

/**
 * F32 decode dots over weights held in a Java long[] ({@link HeapRows}: array loads) against the same weights in
 * native memory (segment loads). With rows that start on a cache line in native memory both take no head vector, so
 * the sums are the same bits; they are also checked against a float64 loop within γ(k + 1)·Σ|x_p·w_p|
 * (γ(n) = n·u / (1 − n·u), u = 2⁻²⁴: any order of summing k float products). Rows that start off a long (an odd
 * element offset) or of odd length take the segment loads on the heap segment, with the same result.
 */
class HeapRowsTest {

    record Case(int k, int n, int offset, int threads, long seed) {}

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Integer> k = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.integers().between(0, 40)),
                Tuple.of(2, Arbitraries.of(31, 32, 33, 255, 256, 257, 511, 768, 769, 1021)),
                Tuple.of(3, Arbitraries.integers().between(40, 2100)));
        return Combinators.combine(
                        k,
                        Arbitraries.integers().between(1, 37),
                        Arbitraries.integers().between(0, 5),
                        Arbitraries.of(1, 2),
                        Arbitraries.longs())
                .as(Case::new);
    }

    /** A heap segment of {@code bytes} over a long[], starting {@code offset} bytes into the array. */
    static MemorySegment heap(long bytes, int offset) {
        return MemorySegment.ofArray(new long[(int) ((bytes + offset + 7) / 8)]).asSlice(offset, bytes);
    }

    @Property(tries = 120)
    void f32HeapRowsGiveTheBitsOfNativeRows(@ForAll("cases") Case c) {
        int k = c.k(), n = c.n(), ldb = Math.max(16, (k + 15) & ~15); // native rows each start a cache line
        Random r = new Random(c.seed());
        Sgemm.setThreads(c.threads());
        try (Arena arena = Arena.ofConfined()) {
            long floats = (long) (n - 1) * ldb + k;
            MemorySegment w = arena.allocate(floats * 4, 64), h = heap(floats * 4, 4 * c.offset());
            MemorySegment x = arena.allocate(Math.max(1, k) * 4L, 64);
            MemorySegment y = arena.allocate(n * 4L, 64), yh = arena.allocate(n * 4L, 64);
            for (long i = 0; i < floats; i++) w.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            h.copyFrom(w);
            for (int p = 0; p < k; p++) x.setAtIndex(ValueLayout.JAVA_FLOAT, p, (float) r.nextGaussian());
            Sgemm.sgemm(false, true, 1, n, k, 1f, x, 0, Math.max(1, k), w, 0, ldb, 0f, y, 0, n);
            Sgemm.sgemm(false, true, 1, n, k, 1f, x, 0, Math.max(1, k), h, 0, ldb, 0f, yh, 0, n);
            for (int j = 0; j < n; j++) {
                float got = yh.getAtIndex(ValueLayout.JAVA_FLOAT, j);
                assertEquals(
                        Float.floatToRawIntBits(y.getAtIndex(ValueLayout.JAVA_FLOAT, j)),
                        Float.floatToRawIntBits(got),
                        c + " row " + j);
                double want = 0, bound = 0;
                for (int p = 0; p < k; p++) {
                    double t = (double) x.getAtIndex(ValueLayout.JAVA_FLOAT, p)
                            * h.getAtIndex(ValueLayout.JAVA_FLOAT, (long) j * ldb + p);
                    want += t;
                    bound += Math.abs(t);
                }
                double nu = (k + 1) * 0x1p-24;
                assertEquals(want, got, nu / (1 - nu) * bound, c + " row " + j);
            }
        } finally {
            Sgemm.setThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
        }
    }

    /** Which segments take the array loads: a long[] view whose rows start on a long, and nothing else. */
    @Test
    void onlyLongArrayRowsOnALongTakeArrayLoads() {
        MemorySegment longs = MemorySegment.ofArray(new long[64]);
        assertNotNull(HeapRows.array(longs, 6, 4));
        assertNotNull(HeapRows.array(longs.asSlice(8), 2, 4));
        assertNotNull(HeapRows.array(longs.asSlice(4), 3, 4), "4 bytes in, an odd element: on a long");
        assertNull(HeapRows.array(longs, 3, 4), "12 bytes in");
        assertNull(HeapRows.array(longs.asSlice(4), 2, 4));
        assertNotNull(HeapRows.array(longs, 8, 2));
        assertNull(HeapRows.array(longs, 2, 2), "4 bytes in");
        assertNull(HeapRows.array(longs.asReadOnly(), 0, 4), "read-only: no array behind it");
        assertNull(HeapRows.array(MemorySegment.ofArray(new float[64]), 0, 4));
        assertNull(HeapRows.array(MemorySegment.ofArray(new byte[256]), 0, 4));
        try (Arena arena = Arena.ofConfined()) {
            assertNull(HeapRows.array(arena.allocate(256, 64), 0, 4));
        }
    }
}
