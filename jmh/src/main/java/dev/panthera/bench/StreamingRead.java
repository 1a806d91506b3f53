package dev.panthera.bench;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ForkJoinPool;

/** The streaming-read anchor for this module's benchmarks: {@link dev.panthera.bench.kit.StreamingRead}. */
final class StreamingRead {
    private StreamingRead() {}

    static final long BYTES = dev.panthera.bench.kit.StreamingRead.BYTES;

    static MemorySegment allocate(java.lang.foreign.Arena arena) {
        return dev.panthera.bench.kit.StreamingRead.allocate(arena);
    }

    static double sum(ForkJoinPool pool, MemorySegment big, int threads) throws Exception {
        return dev.panthera.bench.kit.StreamingRead.sum(pool, big, threads);
    }
}
