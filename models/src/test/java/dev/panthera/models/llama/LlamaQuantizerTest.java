package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.gptq.Gptq;
import dev.panthera.quant.gptq.GptqConfig;
import dev.panthera.quant.gptq.Hessian;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The calibration forward pass, float copies with replaced weights and the layer-by-layer quantizer, on the small
 * transformers-made Llama and Qwen2 fixtures.
 */
class LlamaQuantizerTest {

    static int[][] seqs(int n, int t, int vocab, long seed) {
        int[][] s = new int[n][];
        for (int i = 0; i < n; i++) s[i] = PerplexityCompareTest.ids(t, vocab, seed + i);
        return s;
    }

    /** Same ops in the same order as LlamaModel.forward: the logits are bitwise equal. */
    @ParameterizedTest
    @ValueSource(strings = {"llama-gqa", "qwen2-bias"})
    void calibrationForwardEqualsTheModel(String fixture) throws Exception {
        try (LlamaModel m = LlamaModel.load(HuggingFaceReferenceTest.fixture(fixture));
                var ng = Autograd.noGrad()) {
            int[][] s = seqs(2, 17, m.config().vocab(), 11);
            int[] flat = new int[34];
            System.arraycopy(s[0], 0, flat, 0, 17);
            System.arraycopy(s[1], 0, flat, 17, 17);
            Tensor ids = Tensor.of(flat, 2, 17);
            int[] taps = new int[1];
            float[] ours = new LlamaCalibration(m.config(), LlamaQuantizer.lookup(m, Map.of()))
                    .forward(ids, (layer, linear, x) -> taps[0]++)
                    .toFloatArray();
            assertArrayEquals(m.forward(ids).toFloatArray(), ours);
            assertEquals(4 * m.config().layers(), taps[0], "q (shared by k, v), o, gate (shared by up), down");
        }
    }

    @Test
    void withWeightsReplacesOnlyTheNamedTensors() throws Exception {
        try (LlamaModel m = LlamaModel.load(HuggingFaceReferenceTest.fixture("llama-gqa"))) {
            Tensor ids = Tensor.of(PerplexityCompareTest.ids(12, m.config().vocab(), 3), 1, 12);
            String name = "model.layers.1.mlp.down_proj.weight";
            float[] same = m.weights().tensor(name).toFloatArray();
            try (LlamaModel copy = LlamaQuantizer.withWeights(m, Map.of(name, same))) {
                assertArrayEquals(
                        m.forward(ids).toFloatArray(), copy.forward(ids).toFloatArray());
            }
            float[] zero = new float[same.length];
            try (LlamaModel copy = LlamaQuantizer.withWeights(m, Map.of(name, zero))) {
                float[] a = m.forward(ids).toFloatArray(), b = copy.forward(ids).toFloatArray();
                assertFalse(java.util.Arrays.equals(a, b));
            }
            // the base stays usable after the copy is closed
            assertEquals(12 * m.config().vocab(), m.forward(ids).toFloatArray().length);
            var e = assertThrows(
                    IllegalArgumentException.class, () -> LlamaQuantizer.withWeights(m, Map.of(name, new float[3])));
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
    }

    /**
     * Layer-by-layer GPTQ: each layer's weights equal GPTQ run directly on the Hessian of that layer's inputs computed
     * here from the model with the earlier layers replaced by their quantized weights (a separate pass per layer).
     */
    @Test
    void gptqIsSequentialOverLayers() throws Exception {
        try (LlamaModel m = LlamaModel.load(HuggingFaceReferenceTest.fixture("llama-gqa"))) {
            GptqConfig cfg = GptqConfig.of(4, 32, false, true);
            int[][] cal = seqs(3, 20, m.config().vocab(), 5);
            var q = LlamaQuantizer.quantize(m, cal, LlamaQuantizer.Method.GPTQ, cfg, 0);
            assertEquals(7 * m.config().layers(), q.size());
            Map<String, Tensor> replaced = new HashMap<>();
            int[] flat = new int[60];
            for (int i = 0; i < 3; i++) System.arraycopy(cal[i], 0, flat, 20 * i, 20);
            for (int layer = 0; layer < m.config().layers(); layer++) {
                for (var e : q.entrySet()) {
                    if (e.getKey().startsWith("model.layers." + (layer - 1) + ".")) {
                        var d = e.getValue().dense();
                        replaced.put(e.getKey(), Tensor.of(d.dequantize(), d.out(), d.in()));
                    }
                }
                int target = layer;
                Hessian[] h = new Hessian[1];
                try (var ng = Autograd.noGrad()) {
                    new LlamaCalibration(m.config(), LlamaQuantizer.lookup(m, replaced))
                            .forward(Tensor.of(flat, 3, 20), (l, linear, x) -> {
                                if (l == target && linear.equals("mlp.down_proj")) {
                                    h[0] = new Hessian("down", (int) x.size(-1));
                                    h[0].add(x.contiguous().toFloatArray(), 60);
                                }
                            });
                }
                String name = "model.layers." + layer + ".mlp.down_proj.weight";
                Tensor w = m.weights().tensor(name);
                var direct = Gptq.quantize(name, w.toFloatArray(), (int) w.size(0), (int) w.size(1), h[0], cfg);
                assertEquals(direct, q.get(name).dense(), name);
            }
        }
    }

    /**
     * GWQ's gradient of the mean next-token NLL against central differences of that loss computed in float64 from the
     * model's float32 logits, at the five largest-|gradient| entries: with step δ = 1e-2·max|w| the truncation error is
     * O(δ²·L‴) and the float32 noise of the loss (a few ulps of ~ln V) divided by 2δ is ~1e-4 of these gradients; 2%
     * covers both.
     */
    @Test
    void gradientsMatchCentralDifferences() throws Exception {
        try (LlamaModel m = LlamaModel.load(HuggingFaceReferenceTest.fixture("llama-gqa"))) {
            int v = m.config().vocab();
            int[][] cal = seqs(2, 16, v, 9);
            int[] flat = new int[32];
            for (int i = 0; i < 2; i++) System.arraycopy(cal[i], 0, flat, 16 * i, 16);
            Tensor ids = Tensor.of(flat, 2, 16);
            Map<String, float[]> g = LlamaQuantizer.gradients(m, ids);
            String name = "model.layers.0.self_attn.v_proj.weight";
            float[] grad = g.get(name), w = m.weights().tensor(name).toFloatArray();
            double maxW = 0;
            for (float x : w) maxW = Math.max(maxW, Math.abs(x));
            Integer[] order = new Integer[grad.length];
            for (int i = 0; i < order.length; i++) order[i] = i;
            java.util.Arrays.sort(order, (a, b) -> Float.compare(Math.abs(grad[b]), Math.abs(grad[a])));
            float step = (float) (1e-2 * maxW);
            for (int k = 0; k < 5; k++) {
                int i = order[k];
                float[] plus = w.clone(), minus = w.clone();
                plus[i] += step;
                minus[i] -= step;
                double h2 = (double) plus[i] - minus[i];
                double fd = (loss(m, name, plus, ids, v) - loss(m, name, minus, ids, v)) / h2;
                assertEquals(fd, grad[i], 0.02 * Math.abs(fd), "entry " + i);
            }
        }
    }

    private static double loss(LlamaModel m, String name, float[] w, Tensor ids, int v) {
        try (LlamaModel c = LlamaQuantizer.withWeights(m, Map.of(name, w));
                var ng = Autograd.noGrad()) {
            float[] logits = c.forward(ids).toFloatArray();
            long[] id = ids.toLongArray();
            int b = 2, t = 16;
            double total = 0;
            for (int s = 0; s < b; s++) {
                for (int j = 0; j + 1 < t; j++) {
                    double[] lp = PerplexityCompareTest.logSoftmax(logits, (s * t + j) * v, v);
                    total -= lp[(int) id[s * t + j + 1]];
                }
            }
            return total / (b * (t - 1));
        }
    }
}
