package dev.panthera.bench.kit;

import dev.panthera.bench.OpenBlas;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * The GEMM anchor as a JMH benchmark: OpenBLAS's {@code cblas_sgemm} through FFM ({@link OpenBlas}) on row-major
 * F32 matrices of {@code shape} = "MxNxK", on {@code threads} OpenBLAS threads. Its GFLOP/s is 2·M·N·K / time
 * ({@link RatioTable#sgemm}). Setup fails with {@link OpenBlas#where()}'s message where the library is missing.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class SgemmAnchor {
    @Param({"512x512x512"})
    public String shape;

    @Param({"1"})
    public int threads;

    private Arena arena;
    private MemorySegment a, b, c;
    private int m, n, k;

    @Setup(Level.Trial)
    public void setup() {
        if (!OpenBlas.available()) throw new IllegalStateException(OpenBlas.where());
        String[] d = shape.split("x");
        m = Integer.parseInt(d[0]);
        n = Integer.parseInt(d[1]);
        k = Integer.parseInt(d[2]);
        arena = Arena.ofShared();
        a = arena.allocate((long) m * k * 4, 64);
        b = arena.allocate((long) k * n * 4, 64);
        c = arena.allocate((long) m * n * 4, 64);
        for (long i = 0; i < (long) m * k; i++) a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (i % 7) * 0.25f - 0.75f);
        for (long i = 0; i < (long) k * n; i++) b.setAtIndex(ValueLayout.JAVA_FLOAT, i, (i % 5) * 0.5f - 1f);
        OpenBlas.setThreads(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment sgemm() {
        OpenBlas.sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
        return c;
    }
}
