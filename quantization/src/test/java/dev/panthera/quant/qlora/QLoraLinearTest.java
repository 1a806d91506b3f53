package dev.panthera.quant.qlora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.lora.LoraLinear;
import dev.panthera.quant.bnb.Bnb4Bit;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The frozen 4-bit layer and LoRA over it, against float64 loops over the dequantized weight (whose decoder
 * Bnb4BitTest checks against bitsandbytes' tables) and against nn's float LoRA over that same weight.
 */
class QLoraLinearTest {
    private static final double U = 0x1p-24;

    private static double gamma(int n) {
        return n * U / (1 - n * U);
    }

    private static Linear linear(int in, int out, boolean bias, long seed) {
        return new Linear(in, out, bias, new SplittableRandom(seed));
    }

    @Test
    void forwardAndInputGradientMatchFloat64OverTheDequantizedWeight() {
        int in = 70, out = 19; // rows of 70 in blocks of 64: blocks straddle rows
        for (FourBitCode code : FourBitCode.values()) {
            Linear4bit layer = Linear4bit.quantize(linear(in, out, true, 1), code, 64, true);
            float[] w = layer.weight().dequantize(), b = layer.bias().toFloatArray();
            // x [2, 3, 70] read through a non-contiguous view: a permuted [3, 2, 70] tensor
            Tensor base = Tensor.randn(Shape.of(3, 2, in), 2);
            Tensor x = base.permute(1, 0, 2).requiresGrad(true);
            Tensor y = layer.forward(x);
            assertEquals(Shape.of(2, 3, out), y.shape());
            Tensor c = Tensor.randn(Shape.of(2, 3, out), 3);
            y.mul(c).sum().backward();
            float[] xv = x.contiguous().toFloatArray(), yv = y.toFloatArray(), cv = c.toFloatArray();
            float[] gx = x.grad().toFloatArray();
            int m = 6;
            for (int i = 0; i < m; i++) {
                for (int o = 0; o < out; o++) {
                    double s = b[o], abs = Math.abs(b[o]);
                    for (int k = 0; k < in; k++) {
                        s += (double) xv[i * in + k] * w[o * in + k];
                        abs += Math.abs((double) xv[i * in + k] * w[o * in + k]);
                    }
                    // a float32 sum of in products, then the bias added: γ_{in+2}·Σ|terms|
                    assertTrue(Math.abs(yv[i * out + o] - s) <= gamma(in + 2) * abs, code + " y " + i + "," + o);
                }
                for (int k = 0; k < in; k++) {
                    double s = 0, abs = 0;
                    for (int o = 0; o < out; o++) {
                        s += (double) cv[i * out + o] * w[o * in + k];
                        abs += Math.abs((double) cv[i * out + o] * w[o * in + k]);
                    }
                    assertTrue(Math.abs(gx[i * in + k] - s) <= gamma(out + 1) * abs, code + " gx " + i + "," + k);
                }
            }
            assertNull(layer.bias().grad(), "the bias is frozen");
        }
    }

    @Test
    void noGradientIsRecordedWithoutAnInputThatNeedsOne() {
        Linear4bit layer = Linear4bit.quantize(linear(8, 4, false, 1), FourBitCode.NF4, 64, false);
        assertNull(layer.forward(Tensor.randn(Shape.of(2, 8), 1)).gradFn());
        try (var ng = Autograd.noGrad()) {
            assertNull(layer.forward(Tensor.randn(Shape.of(2, 8), 1).requiresGrad(true))
                    .gradFn());
        }
    }

    @Test
    void badInputIsNamed() {
        Linear4bit layer = Linear4bit.quantize(linear(8, 4, false, 1), FourBitCode.NF4, 64, false);
        var e = assertThrows(IllegalArgumentException.class, () -> layer.forward(Tensor.zeros(2, 7)));
        assertTrue(e.getMessage().contains("Linear4bit") && e.getMessage().contains("[2, 7]"), e.getMessage());
        Bnb4Bit w = layer.weight();
        assertThrows(IllegalArgumentException.class, () -> new Linear4bit(w, 5, 8, null));
        assertThrows(IllegalArgumentException.class, () -> new Linear4bit(w, 4, 8, Tensor.zeros(5)));
        Linear nan = linear(8, 4, false, 1);
        try (var ng = Autograd.noGrad()) {
            nan.weight().fill_(Double.NaN);
        }
        var q = assertThrows(IllegalArgumentException.class, () -> Linear4bit.quantize(nan, FourBitCode.NF4, 64, true));
        assertTrue(q.getMessage().contains("Linear4bit.quantize [4, 8]"), q.getMessage());
    }

    /**
     * The same adapter over the 4-bit layer and, in nn's LoraLinear, over a float Linear holding W_dq: A and B get the
     * same gradients to the bit (they do not depend on the base: dB = s·gᵀ·(A·x), dA = s·(Bᵀ·g)ᵀ·x computed by the
     * same ops), and both equal float64 loops; the outputs agree within the float32 bounds of the two base products.
     */
    @Test
    void loraGradientsEqualThoseOfFloatLoraOverTheDequantizedWeight() {
        int in = 40, out = 24, r = 4, m = 5;
        double alpha = 8, s = alpha / r;
        Linear4bit q4 = Linear4bit.quantize(linear(in, out, false, 5), FourBitCode.NF4, 64, true);
        QLoraLinear ql = new QLoraLinear(q4);
        ql.addAdapter("default", r, s, 0, LoraConfig.InitWeights.RANDOM, 9);
        Linear dense = linear(in, out, false, 6);
        try (var ng = Autograd.noGrad()) {
            dense.weight().copy_(q4.dequantizedWeight());
        }
        LoraLinear fl = new LoraLinear(dense);
        fl.addAdapter("default", r, s, 0, LoraConfig.InitWeights.RANDOM, 10);
        try (var ng = Autograd.noGrad()) {
            fl.loraA("default").weight().copy_(ql.loraA("default").weight());
            fl.loraB("default").weight().copy_(ql.loraB("default").weight());
        }
        dense.weight().requiresGrad(false);
        Tensor x = Tensor.randn(Shape.of(m, in), 11), c = Tensor.randn(Shape.of(m, out), 12);
        Tensor yq = ql.forward(x), yf = fl.forward(x);
        yq.mul(c).sum().backward();
        yf.mul(c).sum().backward();
        Tensor aq = ql.loraA("default").weight(), bq = ql.loraB("default").weight();
        assertArrayEquals(
                fl.loraA("default").weight().grad().toFloatArray(), aq.grad().toFloatArray());
        assertArrayEquals(
                fl.loraB("default").weight().grad().toFloatArray(), bq.grad().toFloatArray());

        float[] xv = x.toFloatArray(), cv = c.toFloatArray(), a = aq.toFloatArray(), b = bq.toFloatArray();
        float[] w = q4.weight().dequantize(), yqv = yq.toFloatArray();
        double[] h = new double[m * r], gh = new double[m * r];
        for (int i = 0; i < m; i++)
            for (int k = 0; k < r; k++) {
                for (int j = 0; j < in; j++) h[i * r + k] += (double) xv[i * in + j] * a[k * in + j];
                for (int o = 0; o < out; o++) gh[i * r + k] += s * cv[i * out + o] * b[o * r + k];
            }
        float[] ga = aq.grad().toFloatArray(), gb = bq.grad().toFloatArray();
        // dA[k, j] = Σ_i gh[i, k]·x[i, j]; dB[o, k] = s·Σ_i c[i, o]·h[i, k]. Each float32 path is a few short sums
        // (lengths in, out, m) whose errors compound; 4·γ over their total length, relative to Σ|terms|, bounds them.
        double g = 4 * gamma(in + out + m + r);
        for (int k = 0; k < r; k++)
            for (int j = 0; j < in; j++) {
                double e = 0, abs = 0;
                for (int i = 0; i < m; i++) {
                    e += gh[i * r + k] * xv[i * in + j];
                    abs += Math.abs(gh[i * r + k] * xv[i * in + j]);
                }
                assertEquals(e, ga[k * in + j], g * (abs + 1e-30), "dA " + k + "," + j);
            }
        for (int o = 0; o < out; o++)
            for (int k = 0; k < r; k++) {
                double e = 0, abs = 0;
                for (int i = 0; i < m; i++) {
                    e += s * cv[i * out + o] * h[i * r + k];
                    abs += Math.abs(s * cv[i * out + o] * h[i * r + k]);
                }
                assertEquals(e, gb[o * r + k], g * (abs + 1e-30), "dB " + o + "," + k);
            }
        for (int i = 0; i < m; i++)
            for (int o = 0; o < out; o++) {
                double e = 0, abs = 0;
                for (int j = 0; j < in; j++) {
                    e += (double) xv[i * in + j] * w[o * in + j];
                    abs += Math.abs((double) xv[i * in + j] * w[o * in + j]);
                }
                for (int k = 0; k < r; k++) {
                    e += s * h[i * r + k] * b[o * r + k];
                    abs += Math.abs(s * h[i * r + k] * b[o * r + k]);
                }
                assertEquals(e, yqv[i * out + o], g * abs, "y " + i + "," + o);
            }
    }

    /**
     * Merging: W_dq + s·B·A against a float64 sum rounded once (so within half an ulp of float32), and the merged
     * float layer's output against the unmerged adapter's; re-quantizing stays within a code step of the merged
     * weight.
     */
    @Test
    void mergeOntoADequantizedCopyMatchesFloat64() {
        int in = 64, out = 16, r = 3;
        double s = 2.5;
        Linear4bit q4 = Linear4bit.quantize(linear(in, out, true, 7), FourBitCode.NF4, 64, true);
        QLoraLinear ql = new QLoraLinear(q4);
        ql.addAdapter("a", r, s, 0, LoraConfig.InitWeights.RANDOM, 3);
        float[] w = q4.weight().dequantize(), a = ql.loraA("a").weight().toFloatArray();
        float[] b = ql.loraB("a").weight().toFloatArray(), merged = ql.mergedWeight("a");
        for (int o = 0; o < out; o++)
            for (int j = 0; j < in; j++) {
                double e = w[o * in + j];
                for (int k = 0; k < r; k++) e += s * b[o * r + k] * a[k * in + j];
                float got = merged[o * in + j];
                assertTrue(Math.abs(got - e) <= Math.ulp((float) e) / 2 + 1e-12, "merged " + o + "," + j);
            }
        assertArrayEquals(w, q4.weight().dequantize(), "merging leaves the packed base as it was");

        Tensor x = Tensor.randn(Shape.of(4, in), 8);
        float[] before = ql.forward(x).toFloatArray();
        Linear m = ql.mergeToLinear("a");
        float[] after = m.forward(x).toFloatArray();
        for (int i = 0; i < before.length; i++)
            assertEquals(before[i], after[i], 1e-5 * (1 + Math.abs(before[i])), "merged output " + i);

        Linear4bit re = ql.mergeToLinear4bit("a", FourBitCode.NF4, 64, false);
        float[] rq = re.weight().dequantize();
        // plain absmax: a weight lands on absmax·code, at most half the widest gap between neighbouring NF4 values
        // (the table is sorted; its widest gap is -1 → -0.6961928) from w, plus the float32 rounding of w/absmax
        double halfGap = 0;
        for (int i = 0; i + 1 < 16; i++)
            halfGap = Math.max(halfGap, (FourBitCode.NF4.value(i + 1) - FourBitCode.NF4.value(i)) / 2.0);
        for (int o = 0; o < out; o++) {
            float amax = 0;
            for (int j = 0; j < in; j++) amax = Math.max(amax, Math.abs(merged[o * in + j]));
            for (int j = 0; j < in; j++) {
                double bound = amax * (halfGap + 4 * U);
                assertTrue(Math.abs(rq[o * in + j] - merged[o * in + j]) <= bound, "requantized " + o + "," + j);
            }
        }
    }
}
