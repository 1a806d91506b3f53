package dev.panthera.bench.kit;

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
 * The FMA-peak anchor as a JMH benchmark a user runs beside a compute-bound kernel: {@link FmaPeak#chains} on one
 * thread. Its GFLOP/s is {@link FmaPeak#flops}(1) / time; {@link RatioTable#fmaPeak} sets a kernel's GFLOP/s beside
 * it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class FmaPeakAnchor {
    private float seed = 1;

    @Benchmark
    @Threads(1)
    public float peak() {
        return FmaPeak.chains(seed++);
    }
}
