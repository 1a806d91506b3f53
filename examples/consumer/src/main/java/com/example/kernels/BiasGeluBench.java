package com.example.kernels;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** The fused bias + GELU kernel on a [4096, 4096] F32 matrix: reads 64 MiB, writes 64 MiB. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class BiasGeluBench {
    public static final int ROWS = 4096, N = 4096;
    /** Bytes one call moves: the input read and the output written (the 16 KiB bias stays in cache). */
    public static final double BYTES = 2.0 * 4 * ROWS * N;

    private float[] x, bias, out;

    @Setup
    public void setup() {
        SplittableRandom r = new SplittableRandom(1);
        x = new float[ROWS * N];
        bias = new float[N];
        out = new float[ROWS * N];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < N; i++) bias[i] = (float) r.nextGaussian();
    }

    @Benchmark
    public float[] fused() {
        BiasGelu.apply(x, bias, out);
        return out;
    }
}
