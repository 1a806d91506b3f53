package dev.panthera.quant.gptq;

import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained Transformers", arXiv
 * 2210.17323) for one linear weight W [out, in] and its Hessian H = 2XᵀX/n [in, in], and round-to-nearest (RTN) on
 * the same grid as the baseline. All arithmetic is float64.
 *
 * <p>GPTQ: columns with diag H = 0 (inputs that were always zero) get H_jj = 1 and W_:j = 0; with act-order columns
 * are visited in decreasing diag H; λ = percdamp · mean(diag H) is added to the diagonal; U is the upper Cholesky
 * factor of H⁻¹ (H⁻¹ = UᵀU). Column j is quantized against its grid, its error e = (w − q(w)) / U_jj is spread over the
 * later columns k by w_k −= e · U_jk; inside a block of {@code blockSize} columns this happens at once, and the later
 * blocks receive the block's errors in one product at its end (the paper's lazy batch updates, exactly equal to the
 * column-by-column update). A group's grid is computed when its first column is reached, from the weights as updated
 * so far (the column-by-column algorithm's values; the reference implementations use the weights before the current
 * block's updates, which differs inside a block). Per-row grids (group −1) come from the original weights.
 */
public final class Gptq {
    private Gptq() {}

    /** GPTQ of the row-major [out, in] floats {@code w} under {@code h}. */
    public static GptqWeight quantize(String name, float[] w, int out, int in, Hessian h, GptqConfig c) {
        return run(name, w, out, in, h, c, null).weight();
    }

    /**
     * Round-to-nearest on GPTQ's grid: each group's grid from the original weights, every weight rounded alone. Groups
     * are consecutive columns (act-order needs a Hessian and is ignored here).
     */
    public static GptqWeight rtn(String name, float[] w, int out, int in, GptqConfig c) {
        return run(name, w, out, in, null, c, null).weight();
    }

    /** A quantized weight plus the values kept exactly (float16) at the positions a mask named, in row-major order. */
    record Result(GptqWeight weight, float[] kept) {}

    /**
     * GPTQ ({@code h} non-null) or RTN with the positions {@code keep[r·in + c]} held out of the grid: they take no part
     * in a group's range and are stored as float16 instead, so their error (the float16 rounding) is what GPTQ
     * compensates for them.
     */
    static Result run(String name, float[] w, int out, int in, Hessian h, GptqConfig c, boolean[] keep) {
        if (out < 0 || in <= 0 || w.length != (long) out * in)
            throw new IllegalArgumentException(
                    "GPTQ " + name + ": " + w.length + " weights for shape [" + out + ", " + in + "]");
        if (h != null && h.in() != in)
            throw new IllegalArgumentException("GPTQ " + name + ": Hessian is [" + h.in() + ", " + h.in()
                    + "] for a weight [" + out + ", " + in + "]");
        double[] wd = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(w[i]))
                throw new IllegalArgumentException("GPTQ " + name + " [" + out + ", " + in + "]: weight [" + i / in
                        + ", " + i % in + "] is " + w[i]);
            wd[i] = w[i];
        }
        int groups = c.groups(in), gs = c.groupSize() == -1 ? in : c.groupSize();
        Grid[] rowGrids = null;
        if (c.groupSize() == -1) {
            rowGrids = new Grid[out];
            for (int r = 0; r < out; r++) rowGrids[r] = Grid.of(name, wd, r * in, 1, in, keep, c);
        }
        double[] hm = h == null ? null : h.matrix();
        int[] perm = IntStream.range(0, in).toArray();
        if (hm != null) {
            for (int j = 0; j < in; j++) {
                if (hm[j * in + j] == 0) {
                    hm[j * in + j] = 1;
                    for (int r = 0; r < out; r++) wd[r * in + j] = 0;
                }
            }
            if (c.actOrder()) {
                double[] diag = new double[in];
                for (int j = 0; j < in; j++) diag[j] = hm[j * in + j];
                perm = IntStream.range(0, in)
                        .boxed()
                        .sorted(Comparator.comparingDouble((Integer j) -> -diag[j]))
                        .mapToInt(Integer::intValue)
                        .toArray();
            }
        }
        // the weights, the mask and H in visiting order
        double[] wp = new double[wd.length];
        boolean[] kp = keep == null ? null : new boolean[keep.length];
        for (int r = 0; r < out; r++) {
            for (int p = 0; p < in; p++) {
                wp[r * in + p] = wd[r * in + perm[p]];
                if (kp != null) kp[r * in + p] = keep[r * in + perm[p]];
            }
        }
        double[] u = null;
        if (hm != null) {
            double[] hp = new double[in * in];
            double mean = 0;
            for (int p = 0; p < in; p++) {
                for (int q = 0; q < in; q++) hp[p * in + q] = hm[perm[p] * in + perm[q]];
                mean += hp[p * in + p];
            }
            double damp = c.percDamp() * mean / in;
            for (int p = 0; p < in; p++) hp[p * in + p] += damp;
            u = Cholesky.upperOfInverse(name, hp, in);
        }
        byte[] qp = new byte[wp.length];
        float[] keptP = new float[wp.length];
        Grid[][] grids = new Grid[groups][out];
        int block = c.blockSize();
        for (int i1 = 0; i1 < in; i1 += block) {
            int i2 = Math.min(i1 + block, in), bw = i2 - i1;
            double[] err = new double[out * bw];
            for (int i = i1; i < i2; i++) {
                if (rowGrids == null && i % gs == 0) {
                    int len = Math.min(gs, in - i);
                    for (int r = 0; r < out; r++) grids[i / gs][r] = Grid.of(name, wp, r * in + i, 1, len, kp, c);
                }
                double d = u == null ? 1 : u[i * in + i];
                for (int r = 0; r < out; r++) {
                    Grid g = rowGrids != null ? rowGrids[r] : grids[i / gs][r];
                    int at = r * in + i;
                    double x = wp[at];
                    int q = g.quantize(x);
                    double deq = g.dequantize(q);
                    if (kp != null && kp[at]) {
                        keptP[at] = Float.float16ToFloat(Float.floatToFloat16((float) x));
                        deq = keptP[at];
                    }
                    qp[at] = (byte) q;
                    if (u == null) continue;
                    double e = (x - deq) / d;
                    err[r * bw + (i - i1)] = e;
                    for (int k = i + 1; k < i2; k++) wp[r * in + k] -= e * u[i * in + k];
                }
            }
            if (u == null || i2 == in) continue;
            for (int r = 0; r < out; r++) {
                for (int k = 0; k < bw; k++) {
                    double e = err[r * bw + k];
                    if (e == 0) continue;
                    int urow = (i1 + k) * in;
                    for (int j = i2; j < in; j++) wp[r * in + j] -= e * u[urow + j];
                }
            }
        }
        byte[] q = new byte[wp.length];
        float[] kept = new float[keep == null ? 0 : countTrue(keep)];
        float[] keptFull = keep == null ? null : new float[wp.length];
        int[] gIdx = new int[in];
        for (int p = 0; p < in; p++) gIdx[perm[p]] = c.groupSize() == -1 ? 0 : p / gs;
        for (int r = 0; r < out; r++) {
            for (int p = 0; p < in; p++) {
                q[r * in + perm[p]] = qp[r * in + p];
                if (keptFull != null) keptFull[r * in + perm[p]] = keptP[r * in + p];
            }
        }
        if (keep != null) {
            int n = 0;
            for (int i = 0; i < keep.length; i++) if (keep[i]) kept[n++] = keptFull[i];
        }
        float[] scales = new float[groups * out];
        int[] zeros = new int[groups * out];
        for (int g = 0; g < groups; g++) {
            for (int r = 0; r < out; r++) {
                Grid gr = rowGrids != null ? rowGrids[r] : grids[g][r];
                scales[g * out + r] = (float) gr.scale();
                zeros[g * out + r] = gr.zero();
            }
        }
        return new Result(
                new GptqWeight(name, out, in, c.bits(), c.groupSize(), c.sym(), q, scales, zeros, gIdx), kept);
    }

    private static int countTrue(boolean[] b) {
        int n = 0;
        for (boolean v : b) if (v) n++;
        return n;
    }

    /**
     * The layer-wise objective in H's terms: Σ_r (w_r − ŵ_r) H (w_r − ŵ_r)ᵀ, which is 2/n · ‖WX − ŴX‖² for H = 2XᵀX/n
     * (X [n, in] the calibration inputs), in float64.
     */
    public static double objective(float[] w, float[] wHat, int out, int in, Hessian h) {
        double[] hm = h.matrix();
        double total = 0;
        double[] d = new double[in];
        for (int r = 0; r < out; r++) {
            for (int j = 0; j < in; j++) d[j] = (double) w[r * in + j] - wHat[r * in + j];
            for (int i = 0; i < in; i++) {
                if (d[i] == 0) continue;
                double s = 0;
                for (int j = 0; j < in; j++) s += hm[i * in + j] * d[j];
                total += d[i] * s;
            }
        }
        return total;
    }
}
