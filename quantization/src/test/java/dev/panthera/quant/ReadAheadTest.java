package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.simd.GemmConfig;
import dev.panthera.simd.Sgemm;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * {@link ReadAhead}: the byte ranges it reads are exactly the regrouped blocks of the next product's row groups,
 * chunk by chunk in the order the helpers claim them and cut at the budget, each block found through {@link
 * InterleavedWeight#headerAt} and {@link InterleavedWeight#quantsAt} for every block column (the ranges themselves are
 * formed from the first column's offsets); its steps read those bytes, one per cache line, and end; the successor of
 * each product is the product that ran after it on the same thread.
 */
class ReadAheadTest {
    @Test
    void theRangesAreTheChunksBlocksInClaimOrderCutAtTheBudget() {
        Random r = new Random(5);
        try (Arena arena = Arena.ofShared();
                var two = GemmConfig.of(2).use()) {
            for (GgmlType t : InterleavedWeightTest.TYPES) {
                // 37 row groups (a prime: the last chunk is shorter), two super-blocks or sixteen blocks of 32 a row
                InterleavedWeight w = regrouped(t, 16 * 37, 512, r, arena);
                int[] chunks = Sgemm.chunksFromBack(w.out, 2L * w.out * w.in, InterleavedWeight.ROWS);
                assertTrue(chunks.length > 2, "the product is split at two threads");
                int[] all = expected(w, chunks, Integer.MAX_VALUE);
                long total = 0;
                for (int i = 0; i < all.length; i += 2) total += all[i + 1] - all[i];
                assertEquals(w.data.length - InterleavedWeight.PAD, total, t + ": every block once");
                for (int budget : new int[] {0, 1, 4096, 100_000, (int) total - 7, Integer.MAX_VALUE})
                    assertArrayEquals(
                            expected(w, chunks, budget), ReadAhead.ranges(w, budget), t + " budget " + budget);
            }
        }
    }

    @Test
    void onOneThreadThereIsNothingToReadAhead() {
        try (Arena arena = Arena.ofShared();
                var one = GemmConfig.of(1).use()) {
            InterleavedWeight w = regrouped(GgmlType.Q4_K, 16 * 37, 512, new Random(6), arena);
            assertEquals(0, ReadAhead.ranges(w, Integer.MAX_VALUE).length);
        }
    }

    @Test
    void theStepsReadOneByteOfEveryLineOfTheRangesAndEnd() {
        try (Arena arena = Arena.ofShared();
                var two = GemmConfig.of(2).use()) {
            InterleavedWeight w = regrouped(GgmlType.Q4_K, 16 * 37, 512, new Random(7), arena);
            int budget = 300_001;
            int[] ranges = ReadAhead.ranges(w, budget);
            long want = 0, lines = 0;
            for (int i = 0; i < ranges.length; i += 2) {
                for (int b = ranges[i]; b < ranges[i + 1]; b += 64) {
                    want += w.data[b];
                    lines++;
                }
            }
            ReadAhead a = new ReadAhead(w, ranges);
            int steps = 1;
            while (a.step()) steps++;
            assertFalse(a.step(), "done stays done");
            assertEquals(want, a.sum(), "the bytes read");
            assertTrue(steps <= lines / 64 + ranges.length, steps + " steps for " + lines + " lines");
        }
    }

    @Test
    void eachProductsSuccessorIsTheOneThatRanAfterIt() {
        try (Arena arena = Arena.ofShared()) {
            Random r = new Random(8);
            InterleavedWeight a = regrouped(GgmlType.Q4_K, 32, 256, r, arena),
                    b = regrouped(GgmlType.Q8_0, 32, 256, r, arena);
            ReadAhead.after(a);
            ReadAhead.after(b);
            ReadAhead.after(a);
            assertSame(b, a.next.get());
            assertSame(a, b.next.get());
            ReadAhead.after(a); // the same product twice in a row is not its own successor
            assertSame(b, a.next.get());
        }
    }

    private static InterleavedWeight regrouped(GgmlType t, int out, int in, Random r, Arena arena) {
        InterleavedWeight w = InterleavedWeight.regroup(QuantizedMatmulTest.randomWeight(t, out, in, r, arena));
        assertNotNull(w, t + " regrouped");
        return w;
    }

    /**
     * The ranges by brute force: for each chunk, the set of bytes of its groups' blocks (each block column's header and
     * quants, located one by one), merged into runs, headers before quants as they lie in the array; cut at budget.
     */
    private static int[] expected(InterleavedWeight w, int[] chunks, int budget) {
        boolean apart = w.type != GgmlType.Q4_0 && w.type != GgmlType.Q8_0;
        int header = switch (w.type) {
            case Q4_K, Q5_K -> InterleavedWeight.K_HEADER;
            case Q6_K -> InterleavedWeight.K6_HEADER;
            default -> InterleavedWeight.groupBlockBytes(w.type);
        };
        int quants = switch (w.type) {
            case Q4_K -> InterleavedWeight.K_QUANTS;
            case Q5_K -> InterleavedWeight.K5_QUANTS;
            case Q6_K -> InterleavedWeight.K6_QUANTS;
            default -> 0;
        };
        List<Integer> out = new ArrayList<>();
        long left = budget;
        for (int c = 0; c < chunks.length && left > 0; c += 2) {
            TreeSet<Integer> starts = new TreeSet<>();
            java.util.Map<Integer, Integer> len = new java.util.HashMap<>();
            for (int g = chunks[c] / 16; g < chunks[c + 1] / 16; g++) {
                for (int b = 0; b < w.blocksPerRow(); b++) {
                    starts.add(w.headerAt(g, b));
                    len.put(w.headerAt(g, b), header);
                    if (apart) {
                        starts.add(w.quantsAt(g, b));
                        len.put(w.quantsAt(g, b), quants);
                    }
                }
            }
            int from = -1, to = -1;
            List<int[]> runs = new ArrayList<>();
            for (int s : starts) {
                if (s != to) {
                    if (from >= 0) runs.add(new int[] {from, to});
                    from = s;
                }
                to = s + len.get(s);
            }
            runs.add(new int[] {from, to});
            for (int[] run : runs) {
                if (left <= 0) break;
                int end = (int) Math.min(run[1], run[0] + left);
                left -= end - run[0];
                out.add(run[0]);
                out.add(end);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
