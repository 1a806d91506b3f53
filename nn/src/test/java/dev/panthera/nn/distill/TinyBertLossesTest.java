package dev.panthera.nn.distill;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * TinyBERT's losses (hidden-state MSE through the learned projection, embedding layer included; attention-score MSE
 * with masked scores zeroed; soft cross-entropy at temperature 2) and their gradients against torch, from
 * src/test/resources/distill/tinybert_losses.txt written by src/test/python/tinybert_fixtures.py (its docstring has the
 * command): a 2-layer student, a 4-layer teacher, so student layer m fits teacher layer 2m (hidden) and 2m + 1
 * (attention, 0-based).
 */
class TinyBertLossesTest {
    record Fixture(Map<String, Tensor> tensors, Map<String, Double> scalars) {
        Tensor get(String name) {
            Tensor t = tensors.get(name);
            if (t == null) throw new IllegalStateException("fixture has no tensor " + name);
            return t;
        }
    }

    static Fixture load() throws IOException {
        Map<String, Tensor> tensors = new HashMap<>();
        Map<String, Double> scalars = new HashMap<>();
        try (InputStream in = TinyBertLossesTest.class.getResourceAsStream("/distill/tinybert_losses.txt")) {
            assertNotNull(in, "fixture distill/tinybert_losses.txt");
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String[] f = line.trim().split(" ");
                if (f[0].equals("scalar")) scalars.put(f[1], Double.parseDouble(f[2]));
                else if (f[0].equals("tensor")) {
                    int colon = java.util.Arrays.asList(f).indexOf(":");
                    long[] shape = new long[colon - 2];
                    for (int i = 2; i < colon; i++) shape[i - 2] = Long.parseLong(f[i]);
                    double[] v = new double[f.length - colon - 1];
                    for (int i = 0; i < v.length; i++) v[i] = Double.parseDouble(f[colon + 1 + i]);
                    tensors.put(f[1], Tensor.of(v, shape));
                }
            }
        }
        return new Fixture(tensors, scalars);
    }

    /** F32 leaves (inputs are exact float32 values) that require grad when the student's. */
    private static List<Tensor> leaves(Fixture fx, String prefix, int n, boolean grad) {
        List<Tensor> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(fx.get(prefix + i).to(DType.F32).requiresGrad(grad));
        return out;
    }

    /** float32 against torch's float64 on float32 inputs: sums of ≤ 100 terms of size ≤ ~10, relative 1e-5. */
    private static void close(Tensor want, Tensor got, String what) {
        double[] w = want.toDoubleArray(), g = got.toDoubleArray();
        assertEquals(w.length, g.length, what);
        for (int i = 0; i < w.length; i++)
            assertEquals(w[i], g[i], 1e-5 * Math.max(1e-2, Math.abs(w[i])), what + "[" + i + "]");
    }

    @Test
    void lossesAndGradientsMatchTorch() throws IOException {
        Fixture fx = load();
        List<Tensor> sh = leaves(fx, "student.hidden.", 3, true), th = leaves(fx, "teacher.hidden.", 5, false);
        List<Tensor> sa = leaves(fx, "student.scores.", 2, true), ta = leaves(fx, "teacher.scores.", 4, false);
        Tensor sl = fx.get("student.logits").to(DType.F32).requiresGrad(true);
        Tensor tl = fx.get("teacher.logits").to(DType.F32);
        TinyBertDistillation d = new TinyBertDistillation(2, 4, 6, 8, new SplittableRandom(1));
        d.projection()
                .loadStateDict(
                        Map.of(
                                "weight", fx.get("fit.weight").to(DType.F32),
                                "bias", fx.get("fit.bias").to(DType.F32)),
                        true);
        EncoderOutputs s = new EncoderOutputs(sh, sa, sl), t = new EncoderOutputs(th, ta, tl);

        Tensor hidden = d.hiddenLoss(s, t), attention = d.attentionLoss(s, t), soft = d.predictionLoss(s, t, 2.0);
        assertEquals(
                fx.scalars().get("hidden"), hidden.item(), 1e-5 * fx.scalars().get("hidden"));
        assertEquals(
                fx.scalars().get("attention"),
                attention.item(),
                1e-5 * fx.scalars().get("attention"));
        assertEquals(
                fx.scalars().get("soft_ce"), soft.item(), 1e-5 * fx.scalars().get("soft_ce"));
        assertEquals(
                hidden.item() + attention.item(),
                d.intermediateLoss(s, t).item(),
                1e-5 * (hidden.item() + attention.item()));

        hidden.add(attention).add(soft).backward();
        for (int m = 0; m < 3; m++)
            close(fx.get("grad.student.hidden." + m), sh.get(m).grad(), "dL/dH_s" + m);
        for (int m = 0; m < 2; m++)
            close(fx.get("grad.student.scores." + m), sa.get(m).grad(), "dL/dA_s" + m);
        close(fx.get("grad.student.logits"), sl.grad(), "dL/dz_s");
        close(fx.get("grad.fit.weight"), d.projection().weight().grad(), "dL/dW_h");
        close(fx.get("grad.fit.bias"), d.projection().bias().grad(), "dL/db_h");
        for (Tensor x : th) assertNull(x.grad(), "the teacher is a constant");
    }

    @Test
    void layerMappingAndBadInput() {
        TinyBertDistillation d = new TinyBertDistillation(2, 6, 4, 8, new SplittableRandom(1));
        assertEquals(0, d.teacherHiddenIndex(0));
        assertEquals(3, d.teacherHiddenIndex(1));
        assertEquals(6, d.teacherHiddenIndex(2));
        assertEquals(2, d.teacherAttentionIndex(0));
        assertEquals(5, d.teacherAttentionIndex(1));
        var e = assertThrows(
                IllegalArgumentException.class, () -> new TinyBertDistillation(4, 6, 4, 8, new SplittableRandom(1)));
        assertTrue(e.getMessage().contains("multiple"), e.getMessage());
        Tensor h = Tensor.zeros(1, 2, 4);
        Tensor a = Tensor.zeros(1, 1, 2, 2);
        EncoderOutputs s = new EncoderOutputs(List.of(h, h, h), List.of(a, a), Tensor.zeros(1, 3));
        var bad = assertThrows(IllegalArgumentException.class, () -> d.intermediateLoss(s, s));
        assertTrue(bad.getMessage().contains("6-layer teacher"), bad.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> new EncoderOutputs(List.of(h), List.of(a), Tensor.zeros(1, 3)),
                "hidden states must be one more than layers");
    }
}
