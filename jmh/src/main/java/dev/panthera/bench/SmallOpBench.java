package dev.panthera.bench;

import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What one small op costs through the whole Tensor API (checks, broadcasting, dtype promotion, allocation of the
 * result, backend dispatch, the autograd check with no gradient wanted): a 64-element F32 add, same shapes, and the
 * same add against a row broadcast over [4, 16], each outside any scope (the result's memory GC-managed: a native
 * block and a cleaner per op); and the 64-element add as a model step runs it, inside the step's
 * {@link MemoryScope} (the result a pooled block), {@value #STEP} adds per scope with the scope's open and close
 * included, reported per add. Anchor: the same 64-element add on {@code float[]} into a fresh
 * array (the allocation ours also makes), so the gap is the API's per-op overhead. The target is under 1 µs per add.
 *
 * <pre>./panthera bench SmallOpBench -f 1 -wi 3 -i 5</pre>
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SmallOpBench {
    private Tensor x, y, m, row;
    private float[] a, b;

    @Setup
    public void setup() {
        x = Tensor.randn(Shape.of(64), 1);
        y = Tensor.randn(Shape.of(64), 2);
        m = Tensor.randn(Shape.of(4, 16), 3);
        row = Tensor.randn(Shape.of(16), 4);
        a = x.toFloatArray();
        b = y.toFloatArray();
    }

    @Benchmark
    public Tensor add64() {
        return x.add(y);
    }

    @Benchmark
    public Tensor add64RowBroadcast() {
        return m.add(row);
    }

    static final int STEP = 100;

    @Benchmark
    @OperationsPerInvocation(STEP)
    public void add64InStepScope(Blackhole bh) {
        try (var scope = MemoryScope.open()) {
            for (int i = 0; i < STEP; i++) bh.consume(x.add(y));
        }
    }

    @Benchmark
    public float[] anchorFloatArrayAdd64() {
        float[] c = new float[64];
        for (int i = 0; i < 64; i++) c[i] = a[i] + b[i];
        return c;
    }
}
