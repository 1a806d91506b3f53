package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.QuantizedLinear;
import dev.panthera.quant.gptq.GptqInt4;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The GPTQ 4-bit kernel on the Python-made act-order checkpoint (gptq_checkpoint_fixture.py: AutoGPTQ's pack loops,
 * transformers' v1 dequantization in {@code expected.safetensors}): x · Wᵀ read straight from qweight/qzeros/scales/
 * g_idx against a float64 product with the fixture's own dequantized float32 weights.
 */
class GptqKernelFixtureTest {
    @Test
    void kernelMatchesTransformersDequantizedWeights() throws Exception {
        var dir = GptqCheckpointTest.fixture("gptq-4bit-g32-act");
        var cfg = GptqCheckpoint.readConfig(dir.resolve("config.json"));
        assertEquals(4, cfg.bits());
        assertTrue(cfg.descAct());
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"));
                SafetensorsFile e = SafetensorsFile.open(dir.resolve("expected.safetensors"))) {
            var layers = GptqCheckpoint.read(f, cfg);
            assertFalse(layers.isEmpty());
            Random r = new Random(9);
            for (var l : layers.entrySet()) {
                var w = l.getValue().weight();
                int out = w.out(), in = w.in(), m = 3;
                float[] deq = e.tensor(l.getKey() + ".dequant").toFloatArray(); // [out, in], transformers' formula
                float[] x = new float[m * in];
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                float[] y;
                try (var ng = Autograd.noGrad()) {
                    y = QuantizedLinear.of(GptqInt4.of(w), null)
                            .forward(Tensor.of(x, m, in))
                            .toFloatArray();
                }
                for (int row = 0; row < m; row++) {
                    for (int n = 0; n < out; n++) {
                        double s = 0, a = 0;
                        for (int k = 0; k < in; k++) {
                            double t = (double) x[row * in + k] * deq[n * in + k];
                            s += t;
                            a += Math.abs(t);
                        }
                        // K fused multiply-adds of exactly representable weights: (K + 2)·2⁻²⁴·Σ|x·w|
                        double tol = (in + 2) * 0x1p-24 * a;
                        assertEquals(s, y[row * out + n], tol, l.getKey() + " [" + row + ", " + n + "]");
                    }
                }
            }
        }
    }
}
