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
 * The decode GEMV (M = 1) with 16-bit Linear weights [rows, k] of a fixed 128 MiB (four times a 32 MiB last-level
 * cache), for row lengths k of 2048 (a 1.1B Llama's q/k/v/o and gate/up rows) and 5632 (its down projection's),
 * beside a streaming read of 256 MiB in the same fork ({@code streamSum}, the bandwidth anchor). The bytes are the
 * same for both lengths; what differs is how much of one row pair's pass (the F32 activation, 4·k bytes, and two
 * weight rows, 4·k bytes) fits the 32 KiB L1. GB/s = 128 MiB / time. Run with
 * {@code java -jar jmh/target/benchmarks.jar RowLengthGemvBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class RowLengthGemvBench {
    /** Weight bytes per call. */
    static final long BYTES = 128L << 20;

    @Param({"F16", "BF16"})
    public String dtype;

    @Param({"2048", "5632"})
    public int k;

    @Param({"1"})
    public int threads;

    private Arena arena;
    private MemorySegment big, w, x, y;
    private ForkJoinPool pool;
    private int rows;
    private DType type;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        big = StreamingRead.allocate(arena);
        type = DType.valueOf(dtype);
        rows = (int) (BYTES / (2L * k));
        SplittableRandom r = new SplittableRandom(5);
        w = arena.allocate((long) rows * k * 2, 64);
        for (long i = 0; i < (long) rows * k; i++) {
            float v = (float) (r.nextDouble() - 0.5);
            short bits = type == DType.F16
                    ? Float.floatToFloat16(v)
                    : (short) (Float.floatToRawIntBits(v) >>> 16); // BF16: the float's top half
            w.setAtIndex(ValueLayout.JAVA_SHORT, i, bits);
        }
        x = arena.allocate(k * 4L, 64);
        for (int i = 0; i < k; i++) x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() - 0.5));
        y = arena.allocate(rows * 4L, 64);
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
    public MemorySegment gemv() {
        MixedGemm.gemv(type, true, rows, k, x, 0, w, 0, k, y, 0);
        return y;
    }
}
