package dev.panthera.bench;

import dev.panthera.quant.QuantizedMatmul;
import dev.panthera.quant.QuantizedWeight;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.simd.Sgemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
 * Decode-time GEMV (M = 1) over a quantized weight that stays in its GGML blocks ({@link QuantizedMatmul}), beside the
 * streaming read of 256 MiB in the same fork ({@code streamSum}, the bandwidth anchor), on {@code threads} threads
 * (GEMM's thread count, {@link Sgemm#setThreads}). The weight is [rows, 4096] with rows chosen so it holds about 96
 * MiB of blocks, more than the last-level cache, so every call streams it from memory. GB/s = weight bytes / time
 * (the 16 KiB activation is negligible). The blocks are random bytes with finite fp16 scales. {@code activations}
 * picks the decode path: {@code int8} ({@link QuantizedMatmul#matmulInt8Activations}: the activation quantized to 8
 * bits and integer dots for Q8_0, Q4_0, Q4_K and Q6_K, float dots for the rest) or {@code f32}
 * ({@link QuantizedMatmul#matmulF32Activations}: the float dots for every type).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class QuantGemvBench {
    static final int K = 4096;
    static final long TARGET_BYTES = 96L << 20;

    @Param({"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K", "Q8_K"})
    public String type;

    @Param({"1", "2"})
    public int threads;

    @Param({"int8", "f32"})
    public String activations;

    private Arena arena;
    private MemorySegment big;
    private QuantizedWeight w;
    private float[] x, y;
    private ForkJoinPool pool;

    /** Bytes of the weight, for GB/s. */
    public long weightBytes() {
        return w.out() * w.rowBytes();
    }

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        big = StreamingRead.allocate(arena);
        GgmlType t = GgmlType.valueOf(type);
        int rows = (int) (TARGET_BYTES / t.bytesFor(K));
        w = randomWeight(t, rows, K, new SplittableRandom(17), arena);
        System.out.println("weight " + type + " [" + rows + ", " + K + "]: " + weightBytes() + " bytes");
        x = new float[K];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < K; i++) x[i] = (float) (r.nextDouble() - 0.5);
        y = new float[rows];
        pool = new ForkJoinPool(threads);
        Sgemm.setThreads(threads);
    }

    static QuantizedWeight randomWeight(GgmlType t, int rows, int k, SplittableRandom r, Arena arena) {
        long bytes = t.bytesFor((long) rows * k);
        MemorySegment seg = arena.allocate(bytes, 64);
        for (long i = 0; i + 8 <= bytes; i += 8) seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
        ValueLayout.OfShort le16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (long b = 0; b < bytes / t.typeSize(); b++) {
            long at = b * t.typeSize();
            short d = Float.floatToFloat16((float) (r.nextDouble() * 0.01));
            switch (t) {
                case Q6_K -> seg.set(le16, at + 208, d);
                case Q8_K -> seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at, 0.01f);
                case Q4_1, Q5_1, Q4_K, Q5_K -> {
                    seg.set(le16, at, d);
                    seg.set(le16, at + 2, d);
                }
                default -> seg.set(le16, at, d);
            }
        }
        return new QuantizedWeight("w", t, rows, k, seg);
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
    public float[] gemv() {
        if (activations.equals("f32")) QuantizedMatmul.matmulF32Activations(x, 1, w, y);
        else QuantizedMatmul.matmulInt8Activations(x, 1, w, y);
        return y;
    }
}
