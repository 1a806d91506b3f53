package dev.panthera.bench;

import dev.panthera.quant.QuantizedLinear;
import dev.panthera.quant.QuantizedWeight;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.simd.Sgemm;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * The decode GEMV (one activation row) as a model runs it: through {@link QuantizedLinear}, which regroups Q8_0, Q4_0
 * and Q4_K weights sixteen rows at a time (the grouped kernels; by default the 16-bit ones over the activation rounded
 * to 8 bits, the float ones with {@code -jvmArgsAppend -Dpanthera.quant.decodeActivations=f32}), beside the streaming
 * read of 256 MiB in the same fork ({@code streamSum}, the bandwidth anchor). The weight is {@link QuantGemvBench}'s:
 * [rows, 4096] random blocks with finite scales, about 96 MiB, more than the last-level cache (the regrouping budget,
 * half the heap, holds it). GB/s = {@link #weightBytes} / time. Run with {@code java -jar jmh/target/benchmarks.jar
 * GroupedGemvBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class GroupedGemvBench {
    @Param({"Q8_0", "Q4_0", "Q4_K"})
    public String type;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private MemorySegment big;
    private QuantizedLinear layer;
    private float[] x;
    private ForkJoinPool pool;

    /** Bytes the GEMV reads: the regrouped weight (for Q4_K 5.6% more than its GGML blocks). */
    public long weightBytes() {
        return layer.weightBytes();
    }

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        big = StreamingRead.allocate(arena);
        GgmlType t = GgmlType.valueOf(type);
        int rows = (int) (QuantGemvBench.TARGET_BYTES / t.bytesFor(QuantGemvBench.K)) / 16 * 16;
        QuantizedWeight w = QuantGemvBench.randomWeight(t, rows, QuantGemvBench.K, new SplittableRandom(17), arena);
        layer = QuantizedLinear.of(w, null);
        System.out.println("weight " + type + " [" + rows + ", " + QuantGemvBench.K + "]: " + w.out() * w.rowBytes()
                + " bytes of blocks, " + layer.weightBytes() + " read per call; panthera.quant.regroup="
                + System.getProperty("panthera.quant.regroup", "true (default)"));
        x = new float[QuantGemvBench.K];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() - 0.5);
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
    public void gemv(Blackhole bh) {
        try (var scope = MemoryScope.open();
                var ng = Autograd.noGrad()) {
            bh.consume(layer.forward(Tensor.of(x, 1, x.length)));
        }
    }
}
