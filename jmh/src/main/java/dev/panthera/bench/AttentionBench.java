package dev.panthera.bench;

import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
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
 * Causal attention, Llama-7B head geometry scaled to this machine (8 query heads, 2 kv heads, head dim 64): prefill
 * at 128/512/2048 and one decode step against a 2048-long cache. The fused kernel ({@code fused}) runs beside the
 * same attention composed from matmul + mask + softmax + matmul ({@code composed}, which materialises the score
 * matrix); flops = 4·Hq·Lq·Lk·D (halved for the causal triangle in prefill).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx6g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class AttentionBench {
    @Param({"prefill-128", "prefill-512", "prefill-2048", "decode-2048"})
    public String mode;

    static final int HQ = 8, HKV = 2, D = 64;
    private MemoryScope scope;
    private Tensor q, k, v;

    @Setup(Level.Trial)
    public void setup() {
        scope = MemoryScope.open();
        int lk = Integer.parseInt(mode.substring(mode.indexOf('-') + 1));
        int lq = mode.startsWith("decode") ? 1 : lk;
        q = Tensor.randn(Shape.of(1, HQ, lq, D), 1);
        k = Tensor.randn(Shape.of(1, HKV, lk, D), 2);
        v = Tensor.randn(Shape.of(1, HKV, lk, D), 3);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        scope.close();
    }

    @Benchmark
    public void fused(Blackhole bh) {
        try (var s = MemoryScope.open()) {
            bh.consume(Tensor.scaledDotProductAttention(q, k, v, true, 0.125).get(0, 0, 0, 0));
        }
    }

    @Benchmark
    public void composed(Blackhole bh) {
        try (var s = MemoryScope.open()) {
            long lq = q.size(2), lk = k.size(2);
            Tensor kk = k.unsqueeze(2).expand(1, HKV, HQ / HKV, lk, D).reshape(1, HQ, lk, D);
            Tensor vv = v.unsqueeze(2).expand(1, HKV, HQ / HKV, lk, D).reshape(1, HQ, lk, D);
            Tensor scores = q.matmul(kk.transpose(-1, -2)).mul(0.125);
            Tensor mask = Tensor.arange(lk)
                    .reshape(1, lk)
                    .gt(Tensor.arange(lq).reshape(lq, 1).add(lk - lq));
            bh.consume(scores.maskedFill(mask, Double.NEGATIVE_INFINITY)
                    .softmax(-1)
                    .matmul(vv)
                    .get(0, 0, 0, 0));
        }
    }
}
