package dev.panthera.bench;

import dev.panthera.tensor.Backends;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.tensor.spi.ReferenceBackend;
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
 * The scalar reference backend's matmul and elementwise add: the baseline the SIMD work is measured against.
 * Anchors in the same run: a plain Java triple loop over float[] (matmul) and a float[] add loop (elementwise), so the
 * cost of the reference backend's generic strided, any-dtype access shows as a ratio.
 *
 * <pre>./panthera bench ReferenceBaselineBench -f 1 -wi 2 -i 3</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class ReferenceBaselineBench {
    @Param({"128", "256"})
    public int n;

    private MemoryScope scope;
    private AutoCloseable backend;
    private Tensor a, b, big1, big2;
    private float[] fa, fb, fc, e1, e2, e3;

    @Setup(Level.Trial)
    public void setup() {
        scope = MemoryScope.open();
        backend = Backends.use(ReferenceBackend.INSTANCE);
        a = Tensor.randn(Shape.of(n, n), 1);
        b = Tensor.randn(Shape.of(n, n), 2);
        big1 = Tensor.randn(Shape.of(1 << 20), 3);
        big2 = Tensor.randn(Shape.of(1 << 20), 4);
        fa = a.toFloatArray();
        fb = b.toFloatArray();
        fc = new float[n * n];
        e1 = big1.toFloatArray();
        e2 = big2.toFloatArray();
        e3 = new float[1 << 20];
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        backend.close();
        scope.close();
    }

    @Benchmark
    public void referenceMatmul(Blackhole bh) {
        try (var s = MemoryScope.open()) { // the result is freed at once: no GC pressure in the measurement
            bh.consume(a.matmul(b).get(0, 0));
        }
    }

    @Benchmark
    public float[] anchorJavaLoopMatmul() {
        int n = this.n;
        java.util.Arrays.fill(fc, 0);
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < n; k++) {
                float aik = fa[i * n + k];
                for (int j = 0; j < n; j++) fc[i * n + j] += aik * fb[k * n + j];
            }
        }
        return fc;
    }

    @Benchmark
    public void referenceAdd1M(Blackhole bh) {
        try (var s = MemoryScope.open()) {
            bh.consume(big1.add(big2).get(0));
        }
    }

    @Benchmark
    public float[] anchorJavaLoopAdd1M() {
        for (int i = 0; i < e3.length; i++) e3[i] = e1[i] + e2[i];
        return e3;
    }
}
