package dev.panthera.bench;

import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What a {@link MemoryScope} costs: an empty scope, a small op (a 16-element add) in a scope of its own, and the same
 * op outside any scope (GC-managed memory, the case a scope must not be slower than). Anchor: a shared
 * {@link Arena} opened, allocated from and closed, which is what a scope cost when each scope owned one.
 *
 * <pre>./panthera bench MemoryScopeBench -f 1 -wi 3 -i 5</pre>
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MemoryScopeBench {
    private Tensor x, y;

    @Setup
    public void setup() {
        x = Tensor.randn(Shape.of(16), 1);
        y = Tensor.randn(Shape.of(16), 2);
    }

    @Benchmark
    public void emptyScope() {
        try (var s = MemoryScope.open()) {
            // open and close only
        }
    }

    @Benchmark
    public void smallOpInScope(Blackhole bh) {
        try (var s = MemoryScope.open()) {
            bh.consume(x.add(y));
        }
    }

    @Benchmark
    public void smallOpGcManaged(Blackhole bh) {
        bh.consume(x.add(y));
    }

    @Benchmark
    public void anchorSharedArenaPerScope(Blackhole bh) {
        try (Arena a = Arena.ofShared()) {
            bh.consume(a.allocate(64, 64));
        }
    }
}
