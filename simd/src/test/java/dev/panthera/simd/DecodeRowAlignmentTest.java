package dev.panthera.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * Decode products (one activation row times a transposed F32 weight, x·Wᵀ) whose weight rows start anywhere in a
 * cache line, as the tensors of a weight file do (GGUF aligns them to 32 bytes only). The row dot then sums the
 * elements before the first line boundary and after the last full vector from one whole vector each, masked
 * ({@link RowHeads#alignedHead}); every element must count exactly once. Expected values: a float64 loop, within
 * γ(k + 1)·Σ|x_p·w_p| (γ(n) = n·u / (1 − n·u), u = 2⁻²⁴): any order of summing k float products, each rounded at most
 * once.
 */
class DecodeRowAlignmentTest {

    record Case(int k, int n, int offset, boolean alignedStride, int threads, long seed) {}

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Integer> k = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.integers().between(0, 40)),
                Tuple.of(2, Arbitraries.of(255, 256, 257, 263, 271, 509, 512, 767, 768, 769, 1021)),
                Tuple.of(3, Arbitraries.integers().between(256, 2100)));
        return Combinators.combine(
                        k,
                        Arbitraries.integers().between(1, 24),
                        Arbitraries.integers().between(0, 15),
                        Arbitraries.of(true, false),
                        Arbitraries.of(1, 2),
                        Arbitraries.longs())
                .as(Case::new);
    }

    @Property(tries = 150)
    void misalignedWeightRowsMatchFloat64(@ForAll("cases") Case c) {
        // ldb: k, or k rounded up to 16 floats, so that every row shares the first row's place in its line
        int ldb = c.alignedStride() ? Math.max(16, (c.k() + 15) & ~15) : Math.max(1, c.k());
        Random r = new Random(c.seed());
        Sgemm.setThreads(c.threads());
        try (Arena arena = Arena.ofConfined()) {
            long floats = (long) (c.n() - 1) * ldb + c.k();
            MemorySegment w = arena.allocate((floats + 16) * 4, 64).asSlice(c.offset() * 4L, floats * 4);
            MemorySegment x = arena.allocate(Math.max(1, c.k()) * 4L, 64), y = arena.allocate(c.n() * 4L, 64);
            for (long i = 0; i < floats; i++) w.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            for (int p = 0; p < c.k(); p++) x.setAtIndex(ValueLayout.JAVA_FLOAT, p, (float) r.nextGaussian());
            Sgemm.sgemm(false, true, 1, c.n(), c.k(), 1f, x, 0, Math.max(1, c.k()), w, 0, ldb, 0f, y, 0, c.n());
            for (int j = 0; j < c.n(); j++) {
                double want = 0, bound = 0;
                for (int p = 0; p < c.k(); p++) {
                    double t = (double) x.getAtIndex(ValueLayout.JAVA_FLOAT, p)
                            * w.getAtIndex(ValueLayout.JAVA_FLOAT, (long) j * ldb + p);
                    want += t;
                    bound += Math.abs(t);
                }
                double nu = (c.k() + 1) * 0x1p-24;
                assertEquals(want, y.getAtIndex(ValueLayout.JAVA_FLOAT, j), nu / (1 - nu) * bound, c + " row " + j);
            }
        } finally {
            Sgemm.setThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
        }
    }

    /** The cases above do take a head: rows 4 bytes into a line, long enough, all at the same place in their lines. */
    @Test
    void aRowFourBytesIntoALineTakesAHead() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(64 * 1024 + 64, 64).asSlice(4);
            int vb = Lanes.PACKED.vectorByteSize();
            assertEquals((vb - 4) / 4, RowHeads.alignedHead(w, 0, 4, 1024, 1024, vb));
            assertEquals(0, RowHeads.alignedHead(w, 0, 4, 1023, 1024, vb), "rows at different places in their lines");
            assertEquals(0, RowHeads.alignedHead(w, 0, 4, 1024, 15 * vb / 4, vb), "rows shorter than 16 vectors");
            assertEquals(0, RowHeads.alignedHead(MemorySegment.ofArray(new float[4096]), 1, 4, 1024, 1024, vb));
            assertTrue(vb <= 64, "a load within one cache line");
        }
    }
}
