package dev.panthera.bench.kit;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The memory-bandwidth anchor of the memory-bound benchmarks: sum a large segment once with four independent vector
 * accumulators, split in contiguous chunks over {@code threads} threads of a given pool. A memory-bound kernel's
 * GB/s over this anchor's, measured in the same run, is the figure to compare across machines.
 */
public final class StreamingRead {
    private StreamingRead() {}

    /** Bytes the anchor reads: 256 MiB, far past the 32 MiB L3. */
    public static final long BYTES = 256L << 20;

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;

    /** The anchor's buffer in {@code arena}, every page touched so the first measured pass does not fault it in. */
    public static MemorySegment allocate(java.lang.foreign.Arena arena) {
        MemorySegment big = arena.allocate(BYTES, 64);
        for (long i = 0; i < BYTES; i += 4096) big.set(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, 1f);
        return big;
    }

    /** The sum of {@code big}, read once in {@code threads} contiguous chunks on {@code pool}. */
    public static double sum(ForkJoinPool pool, MemorySegment big, int threads) throws Exception {
        long chunk = big.byteSize() / threads;
        return pool.submit(() -> IntStream.range(0, threads)
                        .parallel()
                        .mapToDouble(t -> sumRange(big, t * chunk, (t + 1) * chunk))
                        .sum())
                .get();
    }

    private static float sumRange(MemorySegment s, long from, long to) {
        FloatVector a0 = FloatVector.zero(F),
                a1 = FloatVector.zero(F),
                a2 = FloatVector.zero(F),
                a3 = FloatVector.zero(F);
        ByteOrder no = ByteOrder.nativeOrder();
        for (long o = from; o < to; o += 128) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, s, o, no));
            a1 = a1.add(FloatVector.fromMemorySegment(F, s, o + 32, no));
            a2 = a2.add(FloatVector.fromMemorySegment(F, s, o + 64, no));
            a3 = a3.add(FloatVector.fromMemorySegment(F, s, o + 96, no));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }
}
