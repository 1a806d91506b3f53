package dev.panthera.bench;

import dev.panthera.simd.MixedGemm;
import dev.panthera.simd.Sgemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
 * Decode-time GEMV (M = 1) over a 4096×4096 weight in F32, BF16 and F16, plain [K, N] and Linear-style [N, K]
 * (transposed), beside a streaming read of 256 MiB in the same fork ({@code streamSum}, the bandwidth anchor).
 * GB/s = weight bytes (64 MiB F32, 32 MiB BF16/F16) / time; the activations (16 KiB) are negligible.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class MixedGemvBench {
    static final long STREAM_BYTES = 256L << 20;
    static final int N = 4096;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private MemorySegment big, w32, w16, x, y;
    private ForkJoinPool pool;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        big = arena.allocate(STREAM_BYTES, 64);
        for (long i = 0; i < STREAM_BYTES; i += 4096) big.set(ValueLayout.JAVA_FLOAT, i, 1f);
        SplittableRandom r = new SplittableRandom(5);
        w32 = arena.allocate((long) N * N * 4, 64);
        w16 = arena.allocate((long) N * N * 2, 64);
        for (long i = 0; i < (long) N * N; i++) {
            float v = (float) (r.nextDouble() - 0.5);
            w32.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            w16.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(v));   // also a valid (different) BF16 pattern
        }
        x = arena.allocate(N * 4L, 64);
        for (int i = 0; i < N; i++) x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() - 0.5));
        y = arena.allocate(N * 4L, 64);
        pool = new ForkJoinPool(threads);
        Sgemm.setThreads(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.shutdown();
        arena.close();
    }

    private static float sumRange(MemorySegment s, long from, long to) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        ByteOrder no = ByteOrder.nativeOrder();
        for (long o = from; o < to; o += 128) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, s, o, no));
            a1 = a1.add(FloatVector.fromMemorySegment(F, s, o + 32, no));
            a2 = a2.add(FloatVector.fromMemorySegment(F, s, o + 64, no));
            a3 = a3.add(FloatVector.fromMemorySegment(F, s, o + 96, no));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    /** The anchor: read STREAM_BYTES once, split over the threads. */
    @Benchmark
    public double streamSum() throws Exception {
        long chunk = STREAM_BYTES / threads;
        return pool.submit(() -> IntStream.range(0, threads).parallel()
                .mapToDouble(t -> sumRange(big, t * chunk, (t + 1) * chunk)).sum()).get();
    }

    @Benchmark
    public MemorySegment f32Plain() {
        Sgemm.sgemm(false, false, 1, N, N, 1f, x, 0, N, w32, 0, N, 0f, y, 0, N);
        return y;
    }

    @Benchmark
    public MemorySegment f32Linear() {
        Sgemm.sgemm(false, true, 1, N, N, 1f, x, 0, N, w32, 0, N, 0f, y, 0, N);
        return y;
    }

    @Benchmark
    public MemorySegment bf16Plain() {
        MixedGemm.gemv(MixedGemm.Weights.BF16, false, N, N, x, 0, w16, 0, N, y, 0);
        return y;
    }

    @Benchmark
    public MemorySegment bf16Linear() {
        MixedGemm.gemv(MixedGemm.Weights.BF16, true, N, N, x, 0, w16, 0, N, y, 0);
        return y;
    }

    @Benchmark
    public MemorySegment f16Linear() {
        MixedGemm.gemv(MixedGemm.Weights.F16, true, N, N, x, 0, w16, 0, N, y, 0);
        return y;
    }
}
