package dev.panthera.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's FMA peak as Java reaches it, the ceiling beside which {@link GemmBench}'s GFLOP/s are read: twelve
 * independent chains of fused multiply-adds on registers only (no memory traffic; twelve chains cover the FMA
 * latency on two FMA ports), {@link #STEPS} steps per call with the preferred vector width, on 1 and on 2 JMH threads
 * ({@code peak1}, {@code peak2}). Each call is short so that C2 compiles it as a method (a long loop compiled on
 * stack ran at half the rate). GFLOP/s = threads · STEPS · 12 · lanes · 2 / time per call ({@link BenchReport}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class FmaPeakBench {
    static final int STEPS = dev.panthera.bench.kit.FmaPeak.STEPS;

    private float seed = 1;

    /** Flops of one call on each of {@code threads} threads. */
    static double flops(int threads) {
        return dev.panthera.bench.kit.FmaPeak.flops(threads);
    }

    @Benchmark
    @Threads(1)
    public float peak1() {
        return chains(seed++);
    }

    @Benchmark
    @Threads(2)
    public float peak2() {
        return chains(seed++);
    }

    private static float chains(float seed) {
        return dev.panthera.bench.kit.FmaPeak.chains(seed);
    }
}
