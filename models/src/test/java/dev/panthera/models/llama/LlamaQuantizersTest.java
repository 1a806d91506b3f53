package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.QuantizedLinear;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * SmoothQuant and the round-to-nearest makers on the transformers fixture llama-gqa (hidden 32, FFN 64, 2 layers):
 * the folded float model gives the original logits, and every block projection of a quantized model is a
 * QuantizedLinear while the head stays float.
 */
class LlamaQuantizersTest {
    static final Path GQA =
            Path.of("src", "test", "resources", "llama", "llama-gqa").toAbsolutePath();

    static int[][] randomIds(int n, int len, int vocab, long seed) {
        Random r = new Random(seed);
        int[][] out = new int[n][len];
        for (int[] s : out) for (int i = 0; i < len; i++) s[i] = r.nextInt(vocab);
        return out;
    }

    /**
     * Folding moves 1/s into the norm weight and s into the columns: each product term x·(g/s)·(w·s) has two more
     * float roundings than x·g·w, so each of the 10 smoothed projections on a position's path (q, k, v, gate, up in 2
     * layers) moves its output by at most 2·(k + 4)·u·Σ|x·w| (k ≤ 64, u = 2^-24), about 8e-6·Σ|x·w|; with random
     * signs Σ|x·w| ≈ √k·(2/π) ≈ 5 |y|, so 4e-5 relative per projection. The RMSNorms keep each residual stream at unit
     * scale, so through 15 projections the relative differences add at most to 15 × 4e-5 = 6e-4 of the largest logit.
     */
    @Test
    void foldedFloatModelGivesTheOriginalLogits() throws Exception {
        int[][] calib = randomIds(3, 24, 96, 1);
        var cal = LlamaQuantizers.calibrate(GQA, null, calib);
        assertEquals(4, cal.activationMax().size(), "2 layers × (attention input, MLP input)");
        int[] ids = randomIds(1, 30, 96, 2)[0];
        try (var ng = Autograd.noGrad();
                LlamaModel orig = LlamaModel.load(GQA);
                LlamaModel folded = LlamaModel.load(GQA, null, LlamaQuantizers.smoothQuant(cal, 0.5, false))) {
            float[] a = orig.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            float[] b = folded.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            double max = 0, diff = 0, maxDiff = 0;
            for (float v : a) max = Math.max(max, Math.abs(v));
            for (int i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
            double bound = 15 * 2 * 68 * 0x1p-24 * Math.sqrt(64) * 2 / Math.PI * max;
            assertTrue(maxDiff <= bound, "max |Δlogit| " + maxDiff + " > " + bound);
            // the folding really changed the weights: the norm weights and q columns differ from the original
            float[] s = cal.factors("0.attn", 0.5);
            boolean moved = false;
            for (float f : s) moved |= Math.abs(f - 1) > 1e-3;
            assertTrue(moved, "factors all 1: nothing was smoothed");
        }
    }

    @Test
    void quantizedMakersReplaceEveryBlockProjectionAndKeepTheHeadFloat() throws Exception {
        for (LinearMaker inner : new LinearMaker[] {
            LlamaQuantizers.int8(), LlamaQuantizers.w8a8(), LlamaQuantizers.int4(32), LlamaQuantizers.nf4()
        }) {
            AtomicInteger quantized = new AtomicInteger(), kept = new AtomicInteger();
            LinearMaker counting = (name, w, out, in, bias) -> {
                var m = inner.linear(name, w, out, in, bias);
                if (m instanceof QuantizedLinear) quantized.incrementAndGet();
                else {
                    assertNull(m);
                    assertEquals("lm_head.weight", name);
                    kept.incrementAndGet();
                }
                return m;
            };
            try (var ng = Autograd.noGrad();
                    LlamaModel q = LlamaModel.load(GQA, null, counting)) {
                assertEquals(14, quantized.get(), "7 projections × 2 layers");
                assertEquals(1, kept.get());
                float[] y = q.forward(Tensor.of(new int[] {1, 5, 9}, 1, 3)).toFloatArray();
                for (float v : y) assertTrue(Float.isFinite(v));
            }
        }
        var e = assertThrows(
                IllegalArgumentException.class, () -> LlamaQuantizers.calibrate(GQA, null, new int[][] {new int[200]}));
        assertTrue(e.getMessage().contains("200"), e.getMessage());
    }
}
