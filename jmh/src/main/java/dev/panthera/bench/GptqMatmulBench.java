package dev.panthera.bench;

import dev.panthera.quant.GptqMatmul;
import dev.panthera.quant.Int4Weight;
import dev.panthera.quant.QuantizedLinear;
import dev.panthera.quant.gptq.GptqInt4;
import dev.panthera.quant.gptq.GptqWeight;
import dev.panthera.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * x [M, 2048] · Wᵀ for a 2048 × 2048 weight: the GPTQ 4-bit kernel straight from the checkpoint arrays (group 128,
 * act-order g_idx; rows sorted by group once, activations permuted per call) beside the same kernel in the stored row
 * order (the earlier kernel), a plain vector read of the packed weight (the memory anchor), the same-size group-wise int4 of {@link Int4Weight} through QuantizedLinear's tile decoder
 * and the F32 weight through the tensor matmul, all in one fork so the ratios are of one run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class GptqMatmulBench {
    static final int N = 2048;

    @Param({"1", "16"})
    public int m;

    private GptqInt4 gptq;
    private QuantizedLinear int4;
    private Tensor dense, xt;
    private float[] x, y;

    @Setup(Level.Trial)
    public void setup() {
        SplittableRandom r = new SplittableRandom(3);
        float[] w = new float[N * N];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextDouble() - 0.5);
        int groups = N / 128;
        byte[] q = new byte[N * N];
        for (int i = 0; i < q.length; i++) q[i] = (byte) r.nextInt(16);
        float[] s = new float[groups * N];
        int[] z = new int[groups * N];
        for (int i = 0; i < s.length; i++) {
            s[i] = Float.float16ToFloat(Float.floatToFloat16((float) r.nextDouble() * 0.01f));
            z[i] = 1 + r.nextInt(16);
        }
        int[] perm = new int[N];
        for (int i = 0; i < N; i++) perm[i] = i;
        for (int i = N - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] gIdx = new int[N];
        for (int p = 0; p < N; p++) gIdx[perm[p]] = p / 128;
        gptq = GptqInt4.of(new GptqWeight("w", N, N, 4, 128, false, q, s, z, gIdx));
        int4 = QuantizedLinear.of(Int4Weight.quantize("w", w, N, N, 128), null);
        dense = Tensor.of(w, N, N).t();
        x = new float[m * N];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() - 0.5);
        xt = Tensor.of(x, m, N);
        y = new float[m * N];
    }

    @Benchmark
    public float[] gptqKernel() {
        GptqMatmul.matmul(x, m, gptq, y);
        return y;
    }

    /** The kernel before rows were sorted by group: stored order, scales and zeros reloaded at each g_idx change. */
    @Benchmark
    public float[] gptqStoredOrder() {
        GptqMatmul.matmulStoredOrder(x, m, gptq, y);
        return y;
    }

    /**
     * The memory anchor: one vectorised pass summing the packed qweight words (the 2 MiB the kernel streams), what
     * reading the weight costs with no decode at all.
     */
    @Benchmark
    public int streamRead() {
        int[] q = gptq.qweight();
        IntVector acc = IntVector.zero(IntVector.SPECIES_PREFERRED);
        int i = 0, l = IntVector.SPECIES_PREFERRED.length();
        for (; i + l <= q.length; i += l) acc = acc.add(IntVector.fromArray(IntVector.SPECIES_PREFERRED, q, i));
        int s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < q.length; i++) s += q[i];
        return s;
    }

    @Benchmark
    public Tensor int4TileDecode() {
        return int4.forward(xt);
    }

    @Benchmark
    public Tensor f32Matmul() {
        return xt.matmul(dense);
    }
}
