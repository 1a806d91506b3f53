package dev.panthera.bench;

import dev.panthera.simd.MixedGemm;
import dev.panthera.simd.Sgemm;
import dev.panthera.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
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
 * Decode-time GEMV (M = 1) over a 4096×4096 weight in F32, BF16 and F16, plain [K, N] and Linear-style [N, K]
 * (transposed), beside a streaming read of 256 MiB in the same fork ({@code streamSum}, the bandwidth anchor).
 * GB/s = weight bytes (64 MiB F32, 32 MiB BF16/F16) / time; the activations (16 KiB) are negligible.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class MixedGemvBench {
    static final int N = 4096;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private MemorySegment big, w32, w16, x, y;
    private ForkJoinPool pool;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        big = StreamingRead.allocate(arena);
        SplittableRandom r = new SplittableRandom(5);
        w32 = arena.allocate((long) N * N * 4, 64);
        w16 = arena.allocate((long) N * N * 2, 64);
        for (long i = 0; i < (long) N * N; i++) {
            float v = (float) (r.nextDouble() - 0.5);
            w32.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            w16.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(v)); // also a valid (different) BF16 pattern
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

    @Benchmark
    public double streamSum() throws Exception {
        return StreamingRead.sum(pool, big, threads);
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
        MixedGemm.gemv(DType.BF16, false, N, N, x, 0, w16, 0, N, y, 0);
        return y;
    }

    @Benchmark
    public MemorySegment bf16Linear() {
        MixedGemm.gemv(DType.BF16, true, N, N, x, 0, w16, 0, N, y, 0);
        return y;
    }

    @Benchmark
    public MemorySegment f16Plain() {
        MixedGemm.gemv(DType.F16, false, N, N, x, 0, w16, 0, N, y, 0);
        return y;
    }

    @Benchmark
    public MemorySegment f16Linear() {
        MixedGemm.gemv(DType.F16, true, N, N, x, 0, w16, 0, N, y, 0);
        return y;
    }
}
