package dev.panthera.bench;

import dev.panthera.quant.QuantizedMatmul;
import dev.panthera.quant.QuantizedWeight;
import dev.panthera.quant.ggml.GgmlType;
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
 * Prefill through a quantized weight: {@code m} activation rows times a [2048, 768] weight (the 110M shape's FFN
 * gate/up) kept in its GGML blocks ({@link QuantizedMatmul}), beside the anchor {@code f32Sgemm}: the same product
 * with the weight as F32 through SGEMM (y = x·Wᵀ), on {@code threads} threads ({@link Sgemm#setThreads}). The ratio
 * quantized / F32 says what the blocks cost over a float weight.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class QuantPrefillBench {
    static final int N = 2048, K = 768;

    @Param({"Q4_K", "Q6_K", "Q8_0"})
    public String type;

    @Param({"128"})
    public int m;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private QuantizedWeight w;
    private MemorySegment wf, xs, ys;
    private float[] x, y;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        SplittableRandom r = new SplittableRandom(9);
        float[] wv = new float[N * K];
        for (int i = 0; i < wv.length; i++) wv[i] = (float) ((r.nextDouble() - 0.5) * 0.04);
        w = QuantizedWeight.quantize("w", wv, N, K, GgmlType.valueOf(type), arena);
        wf = arena.allocate(4L * N * K, 64);
        MemorySegment.copy(wv, 0, wf, ValueLayout.JAVA_FLOAT, 0, wv.length);
        x = new float[m * K];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() - 0.5);
        y = new float[m * N];
        xs = arena.allocate(4L * m * K, 64);
        MemorySegment.copy(x, 0, xs, ValueLayout.JAVA_FLOAT, 0, x.length);
        ys = arena.allocate(4L * m * N, 64);
        Sgemm.setThreads(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment f32Sgemm() {
        Sgemm.sgemm(false, true, m, N, K, 1f, xs, 0, K, wf, 0, K, 0f, ys, 0, N);
        return ys;
    }

    @Benchmark
    public float[] quantized() {
        QuantizedMatmul.matmul(x, m, w, y);
        return y;
    }
}
