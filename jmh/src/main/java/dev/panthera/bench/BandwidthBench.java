package dev.panthera.bench;

import dev.panthera.simd.Sgemm;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * Memory-bound kernels beside the machine's streaming read bandwidth, measured in the same run: the anchor
 * {@code streamSum} reads 256 MiB with FMA-free vector adds on {@code threads} threads. GEMV (M = 1, a 4096×4096 F32
 * weight: 64 MiB read once), softmax and rmsNorm over [4096, 4096] F32 (64 MiB read + 64 MiB written) report
 * GB/s through {@link BenchReport}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class BandwidthBench {
    static final int N = 4096;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private MemorySegment big, w, x, y;
    private ForkJoinPool pool;
    private Tensor act, out;
    private MemoryScope scope;
    private dev.panthera.tensor.spi.Backend backend;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        big = StreamingRead.allocate(arena);
        w = arena.allocate((long) N * N * 4, 64);
        x = arena.allocate(N * 4L, 64);
        y = arena.allocate(N * 4L, 64);
        pool = new ForkJoinPool(threads);
        Sgemm.setThreads(threads);
        scope = MemoryScope.open();
        act = Tensor.randn(Shape.of(N, N), 3);
        out = Tensor.zeros(N, N);
        backend = dev.panthera.tensor.Backends.forDevice(dev.panthera.tensor.Device.CPU);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        scope.close();
        pool.shutdown();
        arena.close();
    }

    @Benchmark
    public double streamSum() throws Exception {
        return StreamingRead.sum(pool, big, threads);
    }

    /** y = x·W for a 4096×4096 F32 weight (M = 1): reads 64 MiB. */
    @Benchmark
    public MemorySegment gemvF32() {
        Sgemm.sgemm(false, false, 1, N, N, 1f, x, 0, N, w, 0, N, 0f, y, 0, N);
        return y;
    }

    /** softmax kernel over the last dim of [4096, 4096] F32 into a preallocated output: 64 MiB read, 64 MiB written. */
    @Benchmark
    public Tensor softmax() {
        backend.fused().softmax(act.storage(), act.layout(), 1, false, out.storage(), out.layout());
        return out;
    }

    /** rmsNorm kernel over the last dim of [4096, 4096] F32 into a preallocated output: 64 MiB read, 64 MiB written. */
    @Benchmark
    public Tensor rmsNorm() {
        backend.fused().rmsNorm(act.storage(), act.layout(), null, null, 1e-6, out.storage(), out.layout());
        return out;
    }

    /** The same softmax through the Tensor API, which allocates a fresh 64 MiB output each call (page faults included). */
    @Benchmark
    public void softmaxTensorApi(Blackhole bh) {
        try (var s = MemoryScope.open()) {
            bh.consume(act.softmax(-1).get(0, 0));
        }
    }
}
