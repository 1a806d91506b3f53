package dev.panthera.bench;

import dev.panthera.simd.Sgemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
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
 * SGEMM, row-major C = A·B: Panthera's {@link Sgemm} beside OpenBLAS {@code cblas_sgemm} on the same buffers, same
 * thread count, same run. Shapes are "MxNxK". GFLOP/s = 2·M·N·K / time; {@link BenchReport} turns the JMH JSON into
 * the BENCHMARKS.md table with ratios. Run with {@code jmh/bench-gemm.sh}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class GemmBench {
    @Param({
        "256x256x256",
        "512x512x512",
        "1024x1024x1024",
        "2048x2048x2048",
        "4096x4096x4096",
        "1x4096x4096",
        "16x4096x4096",
        "128x11008x4096",
        "512x3072x768"
    })
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private MemorySegment a, b, c;
    private int m, n, k;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        m = Integer.parseInt(p[0]);
        n = Integer.parseInt(p[1]);
        k = Integer.parseInt(p[2]);
        arena = Arena.ofShared();
        a = fill(arena.allocate((long) m * k * 4, 64), 1);
        b = fill(arena.allocate((long) k * n * 4, 64), 2);
        c = arena.allocate((long) m * n * 4, 64);
        Sgemm.setThreads(threads);
        if (OpenBlas.available()) OpenBlas.setThreads(threads);
    }

    private static MemorySegment fill(MemorySegment s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < s.byteSize() / 4; i++)
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() - 0.5));
        return s;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment panthera() {
        Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
        return c;
    }

    @Benchmark
    public MemorySegment openblas() {
        if (!OpenBlas.available()) throw new IllegalStateException(OpenBlas.where());
        OpenBlas.sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
        return c;
    }
}
