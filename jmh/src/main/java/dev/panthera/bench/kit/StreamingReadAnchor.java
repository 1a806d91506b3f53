package dev.panthera.bench.kit;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The streaming-read anchor as a JMH benchmark a user runs beside a memory-bound kernel: {@link StreamingRead} over
 * {@link StreamingRead#BYTES} on {@code threads} threads. Its GB/s is {@code BYTES / time}; {@link RatioTable#bandwidth}
 * sets a kernel's GB/s beside it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class StreamingReadAnchor {
    @Param({"1"})
    public int threads;

    private Arena arena;
    private MemorySegment big;
    private ForkJoinPool pool;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        big = StreamingRead.allocate(arena);
        pool = new ForkJoinPool(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.shutdown();
        arena.close();
    }

    @Benchmark
    public double streamSum() throws Exception {
        return StreamingRead.sum(pool, big, threads);
    }
}
