package dev.panthera.bench;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
 * The machine's FMA peak, measured rather than computed from a clock the VM does not report honestly: 10
 * independent vector FMA chains per thread, register-resident, {@link #ITERS} iterations; GFLOP/s =
 * threads·ITERS·10·lanes·2 / time. The GEMM table's "share of peak" divides by this.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class PeakBench {
    static final int ITERS = 10_000_000, CHAINS = 10;
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Param({"1", "2"})
    public int threads;
    private ForkJoinPool pool;

    @Setup(Level.Trial) public void setup() { pool = new ForkJoinPool(threads); }
    @TearDown(Level.Trial) public void tearDown() { pool.shutdown(); }

    static float chains(float seed) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f), c = FloatVector.broadcast(F, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(F, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3), a4 = a0.add(4);
        FloatVector a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7), a8 = a0.add(8), a9 = a0.add(9);
        for (int i = 0; i < ITERS; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c); a4 = a4.fma(m, c);
            a5 = a5.fma(m, c); a6 = a6.fma(m, c); a7 = a7.fma(m, c); a8 = a8.fma(m, c); a9 = a9.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).reduceLanes(VectorOperators.ADD);
    }

    @Benchmark
    public double fmaPeak() throws Exception {
        return pool.submit(() -> IntStream.range(0, threads).parallel().mapToDouble(t -> chains(t)).sum()).get();
    }

    /** Flops done by one call of {@link #fmaPeak()} with {@code threads} threads. */
    static double flops(int threads) { return (double) threads * ITERS * CHAINS * F.length() * 2; }
}
