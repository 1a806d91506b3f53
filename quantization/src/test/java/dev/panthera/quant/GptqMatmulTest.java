package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.gptq.GptqInt4;
import dev.panthera.quant.gptq.GptqWeight;
import dev.panthera.quant.gptq.GwqInt4;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/**
 * The GPTQ 4-bit matmul against a float64 oracle: the weight is made unpacked (random q, zero points, scales and g_idx
 * as a {@link GptqWeight}), packed into the checkpoint arrays by GptqPacking (itself checked against transformers'
 * files in the models module), multiplied by the kernel, and compared with Σ_k x·scale·(q − zero) summed in double
 * from the unpacked values. Every vector width from 64 bits to this machine's preferred one runs.
 */
class GptqMatmulTest {
    static final int[] GROUP_SIZES = {-1, 32, 64, 128};
    static final int[] GROUP_COUNTS = {1, 2, 3, 5, 7, 11};

    static List<VectorSpecies<Float>> species() {
        List<VectorSpecies<Float>> out = new ArrayList<>();
        for (int bits = 64; bits <= FloatVector.SPECIES_PREFERRED.vectorBitSize(); bits *= 2)
            out.add(VectorSpecies.of(float.class, VectorShape.forBitSize(bits)));
        return out;
    }

    /**
     * A random 4-bit weight: q uniform in 0..15, zero points 1..16 (what a v1 checkpoint can hold), float16 scales of
     * either sign, g_idx k/groupSize or, with act-order, the rank of k in a random permutation over groupSize.
     */
    static GptqWeight randomWeight(int out, int in, int groupSize, boolean actOrder, Random r) {
        int groups = GptqWeight.groups(in, groupSize), gs = groupSize == -1 ? in : groupSize;
        byte[] q = new byte[out * in];
        for (int i = 0; i < q.length; i++) q[i] = (byte) r.nextInt(16);
        float[] scales = new float[groups * out];
        int[] zeros = new int[groups * out];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = Float.float16ToFloat(Float.floatToFloat16((float) (r.nextGaussian() * 0.05)));
            zeros[i] = 1 + r.nextInt(16);
        }
        int[] gIdx = new int[in];
        int[] perm = new int[in];
        for (int k = 0; k < in; k++) perm[k] = k;
        if (actOrder) {
            for (int k = in - 1; k > 0; k--) {
                int j = r.nextInt(k + 1), t = perm[k];
                perm[k] = perm[j];
                perm[j] = t;
            }
        }
        for (int p = 0; p < in; p++) gIdx[perm[p]] = groupSize == -1 ? 0 : p / gs;
        return new GptqWeight("w", out, in, 4, groupSize, false, q, scales, zeros, gIdx);
    }

    /**
     * The 4-bit weight {@link #randomWeight} describes, drawn by jqwik: q in 0..15, zero points 1..16, fp16 scales
     * N(0, 1)·0.05, and with act-order the rank of k in a permutation made by sorting the columns by drawn keys (all
     * keys equal: the identity). Shrinks toward q 0, zero points 1, scales 0 and the identity order.
     */
    static Arbitrary<GptqWeight> weights(int out, int in, int groupSize, boolean actOrder) {
        int groups = GptqWeight.groups(in, groupSize), gs = groupSize == -1 ? in : groupSize;
        Arbitrary<byte[]> q = Arbitraries.integers()
                .between(0, 15)
                .list()
                .ofSize(out * in)
                .map(l -> {
                    byte[] b = new byte[l.size()];
                    for (int i = 0; i < b.length; i++) b[i] = (byte) (int) l.get(i);
                    return b;
                });
        Arbitrary<float[]> scales = Values.normal()
                .map(v -> QuantDraws.fp16(v * 0.05))
                .list()
                .ofSize(groups * out)
                .map(QuantDraws::floats);
        Arbitrary<int[]> zeros =
                Arbitraries.integers().between(1, 16).array(int[].class).ofSize(groups * out);
        Arbitrary<int[]> keys = actOrder
                ? Arbitraries.integers().between(0, in - 1).array(int[].class).ofSize(in)
                : Arbitraries.just(new int[in]);
        return Combinators.combine(q, scales, zeros, keys).as((qq, ss, zz, kk) -> {
            Integer[] perm = new Integer[in];
            for (int k = 0; k < in; k++) perm[k] = k;
            java.util.Arrays.sort(perm, java.util.Comparator.comparingInt((Integer k) -> kk[k]));
            int[] gIdx = new int[in];
            for (int p = 0; p < in; p++) gIdx[perm[p]] = groupSize == -1 ? 0 : p / gs;
            return new GptqWeight("w", out, in, 4, groupSize, false, qq, ss, zz, gIdx);
        });
    }

    /** A weight and m N(0, 1) activation rows. */
    record Product(GptqWeight w, int m, float[] x) {
        @Override
        public String toString() {
            return "[" + w.out() + ", " + w.in() + "] group " + w.groupSize() + " g_idx "
                    + (w.in() <= 64 ? java.util.Arrays.toString(w.gIdx()) : "(" + w.in() + ")") + " m=" + m + " x="
                    + QuantDraws.show(x) + " q=" + (w.q().length <= 64 ? java.util.Arrays.toString(w.q()) : "...")
                    + " scales=" + QuantDraws.show(w.scales());
        }
    }

    private static boolean isSorted(int[] a) {
        for (int i = 1; i < a.length; i++) if (a[i] < a[i - 1]) return false;
        return true;
    }

    /** y in float64 and Σ|terms| per output, from the unpacked weight with {@code dense} replaced at outliers. */
    static double[][] oracle(float[] x, int m, GptqWeight w, int[] outIdx, float[] outVal) {
        int out = w.out(), in = w.in();
        double[] wd = new double[out * in];
        for (int n = 0; n < out; n++) {
            for (int k = 0; k < in; k++) {
                int g = w.gIdx()[k] * out + n;
                wd[n * in + k] = (double) w.scales()[g] * (w.q(n, k) - w.zeros()[g]);
            }
        }
        double[] extra = new double[out * in]; // |dense| at an outlier: |delta| ≤ |value| + |dense|
        for (int i = 0; i < outIdx.length; i++) {
            extra[outIdx[i]] = Math.abs(wd[outIdx[i]]);
            wd[outIdx[i]] = outVal[i];
        }
        double[] y = new double[m * out], mag = new double[m * out];
        for (int r = 0; r < m; r++) {
            for (int n = 0; n < out; n++) {
                double s = 0, a = 0;
                for (int k = 0; k < in; k++) {
                    double xv = x[r * in + k];
                    s += xv * wd[n * in + k];
                    a += Math.abs(xv) * (Math.abs(wd[n * in + k]) + extra[n * in + k]);
                }
                y[r * out + n] = s;
                mag[r * out + n] = a;
            }
        }
        return new double[][] {y, mag};
    }

    /**
     * Each output is K fused multiply-adds of d = fl((q − zero)·scale) (q − zero is exact in float), so |ŷ − y| ≤ (K + 1)·u
     * ·Σ|x·w| to first order with u = 2⁻²⁴. A GWQ outlier adds fl(x·fl(value − dense)) to the sum: the delta, the
     * product and the addition are 3 more roundings of terms bounded by |x|·(|value| + |dense|), which Σ includes. The
     * bound used is (K + 3·outliers + 4)·u·Σ (the +4 covers second-order terms and a bias add).
     */
    static void assertClose(float[] y, double[][] o, int in, int outliers, String what) {
        double u = 0x1p-24;
        for (int i = 0; i < y.length; i++) {
            double tol = (in + 3.0 * outliers + 4) * u * o[1][i] + Double.MIN_NORMAL;
            assertTrue(
                    Math.abs(y[i] - o[0][i]) <= tol,
                    what + " y[" + i + "] = " + y[i] + ", float64 " + o[0][i] + " ± " + tol);
        }
    }

    /**
     * 8 to 72 rows, every group size (and one group of 24·count columns), 1 to 11 groups, m in [0, 9], with or without
     * act-order, drawn before the weight and the activations.
     */
    @Provide
    Arbitrary<Product> products() {
        Arbitrary<Tuple.Tuple5<Integer, Integer, Integer, Integer, Boolean>> sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 9),
                        Arbitraries.of(Arrays.stream(GROUP_SIZES).boxed().toList()),
                        Arbitraries.of(Arrays.stream(GROUP_COUNTS).boxed().toList()),
                        Arbitraries.integers().between(0, 9),
                        Arbitraries.of(false, true))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            int gs = t.get2(), out = 8 * t.get1(), m = t.get4();
            int in = gs == -1 ? 8 * t.get3() * 3 : gs * t.get3();
            return Combinators.combine(weights(out, in, gs, t.get5()), QuantDraws.normals(m * in))
                    .as((w, x) -> new Product(w, m, x));
        });
    }

    @Property(tries = 60)
    void matchesTheFloat64Product(@ForAll("products") Product c) {
        GptqWeight w = c.w();
        int m = c.m(), out = w.out(), in = w.in(), gs = w.groupSize();
        boolean actOrder = !isSorted(w.gIdx());
        float[] x = c.x();
        double[][] o = oracle(x, m, w, new int[0], new float[0]);
        GptqInt4 packed = GptqInt4.of(w);
        for (VectorSpecies<Float> fs : species()) {
            float[] y = new float[m * out];
            GptqMatmul.matmul(fs, x, m, packed, y);
            assertClose(y, o, in, 0, fs + " [" + out + ", " + in + "] g" + gs + (actOrder ? " act" : "") + " m=" + m);
        }
        // the production entry: the preferred width through the constant-species kernels
        float[] y = new float[m * out];
        GptqMatmul.matmul(x, m, packed, y);
        assertClose(y, o, in, 0, "preferred [" + out + ", " + in + "] g" + gs + (actOrder ? " act" : "") + " m=" + m);
    }

    /**
     * A g_idx whose groups are not whole words (each input feature in a random group, so a word of eight rows mixes
     * groups: no GPTQ quantizer writes it, but the layout allows it) takes the per-row path and still matches; the same
     * weight with g_idx sorted by group after a shuffle takes the grouped path. Prefill (m = 9: the four-row kernel,
     * then single rows) and decode; out = 72 leaves a tail past the last whole vector at every width.
     */
    /**
     * One to six words of eight input features, m in [0, 9], drawn before the weight (groups of 32, in order), the
     * activations and, when 'shuffled', any group per feature (shrinking toward group 0); otherwise k / 32.
     */
    @Provide
    Arbitrary<Product> anyGIdx() {
        Arbitrary<Tuple.Tuple3<Integer, Integer, Boolean>> sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 6),
                        Arbitraries.integers().between(0, 9),
                        Arbitraries.of(false, true))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            int out = 72, in = 8 * t.get1(), m = t.get2(), groups = (in + 31) / 32;
            Arbitrary<int[]> gIdx = t.get3()
                    ? Arbitraries.integers()
                            .between(0, groups - 1)
                            .array(int[].class)
                            .ofSize(in)
                    : Arbitraries.just(java.util.stream.IntStream.range(0, in)
                            .map(k -> k / 32)
                            .toArray());
            return Combinators.combine(weights(out, in, 32, false), gIdx, QuantDraws.normals(m * in))
                    .as((base, g, x) -> new Product(
                            new GptqWeight("w", out, in, 4, 32, false, base.q(), base.scales(), base.zeros(), g),
                            m,
                            x));
        });
    }

    @Property(tries = 20)
    void anyGIdxMatches(@ForAll("anyGIdx") Product c) {
        GptqWeight w = c.w();
        int m = c.m(), out = w.out(), in = w.in();
        int[] gIdx = w.gIdx();
        float[] x = c.x();
        double[][] o = oracle(x, m, w, new int[0], new float[0]);
        float[] y = new float[m * out];
        GptqMatmul.matmul(x, m, GptqInt4.of(w), y);
        assertClose(y, o, in, 0, "g_idx " + java.util.Arrays.toString(gIdx) + " m=" + m);
    }

    /** A weight, its outliers (sorted distinct positions, fp16 values N(0, 1)·3) and m N(0, 1) activation rows. */
    record Outliers(GptqWeight w, int[] idx, float[] val, int m, float[] x) {
        @Override
        public String toString() {
            return "[" + w.out() + ", " + w.in() + "] group " + w.groupSize() + " m=" + m + " outliers "
                    + java.util.Arrays.toString(idx) + " = " + java.util.Arrays.toString(val) + " x="
                    + QuantDraws.show(x);
        }
    }

    /**
     * 8 to 40 rows, groups of 32, 64 or 128, 1 to 5 groups, m in [0, 6], 0 to 40 outliers, with or without act-order,
     * drawn before the weight, the outliers' positions and values, and the activations.
     */
    @Provide
    Arbitrary<Outliers> outliers() {
        Arbitrary<Tuple.Tuple6<Integer, Integer, Integer, Integer, Integer, Boolean>> sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 5),
                        Arbitraries.of(32, 64, 128),
                        Arbitraries.of(1, 2, 3, 5),
                        Arbitraries.integers().between(0, 6),
                        Arbitraries.integers().between(0, 40),
                        Arbitraries.of(false, true))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, t -> {
            int out = 8 * t.get1(), in = t.get2() * t.get3(), m = t.get4(), count = t.get5();
            Arbitrary<int[]> idx = Arbitraries.integers()
                    .between(0, out * in - 1)
                    .set()
                    .ofSize(count)
                    .map(set ->
                            set.stream().mapToInt(Integer::intValue).sorted().toArray());
            Arbitrary<float[]> val = Values.normal()
                    .map(v -> QuantDraws.fp16(v * 3))
                    .list()
                    .ofSize(count)
                    .map(QuantDraws::floats);
            return Combinators.combine(weights(out, in, t.get2(), t.get6()), idx, val, QuantDraws.normals(m * in))
                    .as((w, i, v, x) -> new Outliers(w, i, v, m, x));
        });
    }

    @Property(tries = 30)
    void gwqAddsItsOutliers(@ForAll("outliers") Outliers c) {
        GptqWeight w = c.w();
        int m = c.m(), out = w.out(), in = w.in();
        int[] idx = c.idx();
        float[] val = c.val();
        float[] x = c.x();
        double[][] o = oracle(x, m, w, idx, val);
        GwqInt4 g = new GwqInt4(GptqInt4.of(w), idx, val);
        for (VectorSpecies<Float> fs : species()) {
            float[] y = new float[m * out];
            GptqMatmul.matmul(fs, x, m, g, g.deltas(), y);
            assertClose(y, o, in, idx.length, fs + " GWQ [" + out + ", " + in + "] m=" + m);
        }
    }

    /** The layer over a non-contiguous input (a transposed view) and a bias, against the same float64 oracle. */
    @Test
    void quantizedLinearOverAStridedView() {
        Random r = new Random(7);
        int out = 40, in = 192, m = 5;
        GptqWeight w = randomWeight(out, in, 64, true, r);
        float[] xt = new float[in * m];
        for (int i = 0; i < xt.length; i++) xt[i] = (float) r.nextGaussian();
        Tensor view = Tensor.of(xt, in, m).t(); // [m, in], strides (1, m)
        float[] x = view.contiguous().toFloatArray();
        float[] b = new float[out];
        for (int i = 0; i < out; i++) b[i] = i * 0.25f;
        QuantizedLinear lin = QuantizedLinear.of(GptqInt4.of(w), Tensor.of(b, out));
        float[] y;
        try (var ng = Autograd.noGrad()) {
            y = lin.forward(view).toFloatArray();
        }
        double[][] o = oracle(x, m, w, new int[0], new float[0]);
        for (int i = 0; i < y.length; i++) {
            o[0][i] += b[i % out];
            o[1][i] += Math.abs(b[i % out]) * 2; // the bias add: one more rounding
        }
        assertClose(y, o, in + 1, 0, "QuantizedLinear GPTQ");
        // the scalar row decoder gives the same weights as the unpacked record
        float[] row = lin.dequantizeRow(3), ref = new float[in];
        w.dequantizeRow(3, ref, 0);
        assertArrayEquals(ref, row);
    }

    @Test
    void badArraysNameTheField() {
        Random r = new Random(1);
        GptqInt4 ok = GptqInt4.of(randomWeight(16, 64, 32, false, r));
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> new GptqInt4("l", 12, 64, 32, ok.qweight(), ok.qzeros(), ok.scales(), ok.gIdx()));
        assertTrue(e.getMessage().contains("multiples of 8"), e.getMessage());
        int[] g = ok.gIdx().clone();
        g[5] = 2;
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new GptqInt4("l", 16, 64, 32, ok.qweight(), ok.qzeros(), ok.scales(), g));
        assertTrue(e.getMessage().contains("g_idx[5] = 2"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new GptqInt4("l", 16, 64, 32, new int[7], ok.qzeros(), ok.scales(), ok.gIdx()));
        assertTrue(e.getMessage().contains("qweight"), e.getMessage());
        float[] s = ok.scales().clone();
        s[3] = Float.NaN;
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new GptqInt4("l", 16, 64, 32, ok.qweight(), ok.qzeros(), s, ok.gIdx()));
        assertTrue(e.getMessage().contains("scales[0, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new GwqInt4(ok, new int[] {5, 5}, new float[] {1, 2}));
        assertTrue(e.getMessage().contains("outlier_idx[1]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GptqMatmul.matmul(new float[10], 1, ok, new float[16]));
        assertTrue(e.getMessage().contains("cannot hold 1 rows"), e.getMessage());
    }
}
