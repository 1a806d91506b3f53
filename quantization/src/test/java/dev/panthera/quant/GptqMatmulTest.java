package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.gptq.GptqInt4;
import dev.panthera.quant.gptq.GptqWeight;
import dev.panthera.quant.gptq.GwqInt4;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
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

    @Property(tries = 60)
    void matchesTheFloat64Product(
            @ForAll @IntRange(min = 1, max = 9) int outBlocks,
            @ForAll @IntRange(min = 0, max = 3) int gsIdx,
            @ForAll @IntRange(min = 0, max = 5) int groupsIdx,
            @ForAll @IntRange(min = 0, max = 9) int m,
            @ForAll boolean actOrder,
            @ForAll long seed) {
        int gs = GROUP_SIZES[gsIdx], out = 8 * outBlocks;
        int in = gs == -1 ? 8 * GROUP_COUNTS[groupsIdx] * 3 : gs * GROUP_COUNTS[groupsIdx];
        Random r = new Random(seed);
        GptqWeight w = randomWeight(out, in, gs, actOrder, r);
        float[] x = new float[m * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
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
    @Property(tries = 20)
    void anyGIdxMatches(
            @ForAll @IntRange(min = 1, max = 6) int words,
            @ForAll @IntRange(min = 0, max = 9) int m,
            @ForAll boolean shuffled,
            @ForAll long seed) {
        Random r = new Random(seed);
        int out = 72, in = 8 * words, groups = (in + 31) / 32;
        GptqWeight base = randomWeight(out, in, 32, false, r);
        int[] gIdx = new int[in];
        for (int k = 0; k < in; k++) gIdx[k] = shuffled ? r.nextInt(groups) : k / 32;
        GptqWeight w = new GptqWeight("w", out, in, 4, 32, false, base.q(), base.scales(), base.zeros(), gIdx);
        float[] x = new float[m * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        double[][] o = oracle(x, m, w, new int[0], new float[0]);
        float[] y = new float[m * out];
        GptqMatmul.matmul(x, m, GptqInt4.of(w), y);
        assertClose(y, o, in, 0, "g_idx " + java.util.Arrays.toString(gIdx) + " m=" + m);
    }

    @Property(tries = 30)
    void gwqAddsItsOutliers(
            @ForAll @IntRange(min = 1, max = 5) int outBlocks,
            @ForAll @IntRange(min = 1, max = 3) int gsIdx,
            @ForAll @IntRange(min = 0, max = 3) int groupsIdx,
            @ForAll @IntRange(min = 0, max = 6) int m,
            @ForAll @IntRange(min = 0, max = 40) int outliers,
            @ForAll long seed) {
        int gs = GROUP_SIZES[gsIdx], out = 8 * outBlocks, in = gs * GROUP_COUNTS[groupsIdx];
        Random r = new Random(seed);
        GptqWeight w = randomWeight(out, in, gs, r.nextBoolean(), r);
        int[] idx = r.ints(0, out * in).distinct().limit(outliers).sorted().toArray();
        float[] val = new float[idx.length];
        for (int i = 0; i < val.length; i++)
            val[i] = Float.float16ToFloat(Float.floatToFloat16((float) (r.nextGaussian() * 3)));
        float[] x = new float[m * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
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
