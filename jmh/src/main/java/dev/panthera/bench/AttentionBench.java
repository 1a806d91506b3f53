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
 * at 128/512/2048 and one decode step against a 2048-long cache; two more decode steps against a 256-long cache, in
 * the 110M shape's geometry ({@code decode-mha-256}: 12 heads, each its own kv head, head dim 64) and stories260K's
 * ({@code decode-d8-256}: 8 query heads, 4 kv heads, head dim 8). The fused kernel ({@code fused}) runs beside the
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
    @Param({"prefill-128", "prefill-512", "prefill-2048", "decode-2048", "decode-mha-256", "decode-d8-256"})
    public String mode;

    private int hq, hkv, d;

    /** {hq, hkv, d, lq, lk} of a mode. */
    static int[] geometry(String mode) {
        int lk = Integer.parseInt(mode.substring(mode.lastIndexOf('-') + 1));
        int lq = mode.startsWith("decode") ? 1 : lk;
        if (mode.startsWith("decode-mha")) return new int[] {12, 12, 64, lq, lk};
        if (mode.startsWith("decode-d8")) return new int[] {8, 4, 8, lq, lk};
        return new int[] {8, 2, 64, lq, lk};
    }

    private MemoryScope scope;
    private Tensor q, k, v;

    @Setup(Level.Trial)
    public void setup() {
        scope = MemoryScope.open();
        int[] g = geometry(mode);
        hq = g[0];
        hkv = g[1];
        d = g[2];
        int lq = g[3], lk = g[4];
        q = Tensor.randn(Shape.of(1, hq, lq, d), 1);
        k = Tensor.randn(Shape.of(1, hkv, lk, d), 2);
        v = Tensor.randn(Shape.of(1, hkv, lk, d), 3);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        scope.close();
    }

    @Benchmark
    public void fused(Blackhole bh) {
        try (var s = MemoryScope.open()) {
            bh.consume(Tensor.scaledDotProductAttention(q, k, v, true, 1 / Math.sqrt(d))
                    .get(0, 0, 0, 0));
        }
    }

    @Benchmark
    public void composed(Blackhole bh) {
        try (var s = MemoryScope.open()) {
            long lq = q.size(2), lk = k.size(2);
            Tensor kk = k.unsqueeze(2).expand(1, hkv, hq / hkv, lk, d).reshape(1, hq, lk, d);
            Tensor vv = v.unsqueeze(2).expand(1, hkv, hq / hkv, lk, d).reshape(1, hq, lk, d);
            Tensor scores = q.matmul(kk.transpose(-1, -2)).mul(1 / Math.sqrt(d));
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
