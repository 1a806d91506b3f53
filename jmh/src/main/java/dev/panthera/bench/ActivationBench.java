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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Element-wise activations over a BERT feed-forward activation (8×128 tokens × 1536 by default), one op per
 * {@link MemoryScope} as a model step runs them. Anchor: ReLU over the same tensor through the same API (the same
 * read, write and pooled result, next to no arithmetic), so gelu/relu is what the arithmetic costs beyond moving the
 * data.
 *
 * <pre>./panthera bench ActivationBench -f 1 -wi 4 -i 5</pre>
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
public class ActivationBench {
    @Param({"1024x1536"})
    public String shape;

    private Tensor x;

    @Setup
    public void setup() {
        String[] p = shape.split("x");
        x = Tensor.randn(Shape.of(Integer.parseInt(p[0]), Integer.parseInt(p[1])), 7);
    }

    @Benchmark
    public void gelu(Blackhole bh) {
        try (var scope = MemoryScope.open()) {
            bh.consume(x.gelu());
        }
    }

    @Benchmark
    public void geluTanh(Blackhole bh) {
        try (var scope = MemoryScope.open()) {
            bh.consume(x.geluTanh());
        }
    }

    @Benchmark
    public void silu(Blackhole bh) {
        try (var scope = MemoryScope.open()) {
            bh.consume(x.silu());
        }
    }

    @Benchmark
    public void anchorRelu(Blackhole bh) {
        try (var scope = MemoryScope.open()) {
            bh.consume(x.relu());
        }
    }
}
