package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.nn.layers.Attention;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Backends;
import dev.panthera.tensor.Device;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.CountingBackend;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The layers reach the fused kernels — RoPE, attention, RMS norm — in inference and in training (forward and
 * backward), counted by a decorator around the CPU backend; and a padding mask makes a left-padded batch row
 * attend exactly as the same sequence alone.
 */
class FusedLayersTest {

    @Test
    void aDecoderRunsTheFusedKernelsInInferenceAndTraining() throws Exception {
        CausalLm m = ModuleTest.tiny(5);
        Tensor ids = Tensor.of(new long[] {3, 1, 4, 1, 5, 9, 2, 6}, 2, 4);
        CountingBackend c = CountingBackend.of(Backends.forDevice(Device.CPU));
        try (var use = Backends.use(c.backend())) {
            try (var ng = Autograd.noGrad()) {
                m.forward(ids);
            }
        }
        for (String k : List.of("rope", "attention", "rmsNorm"))
            assertTrue(c.count(k) > 0, k + " did not run in inference: " + c);
        c.reset();
        try (var use = Backends.use(c.backend())) {
            m.forward(ids).sum().backward();
        }
        for (String k : List.of("rope", "attention", "rmsNorm", "attentionBackward", "normBackward"))
            assertTrue(c.count(k) > 0, k + " did not run in training: " + c);
        assertTrue(m.namedParameters()
                        .get("model.layers.0.self_attn.q_proj.weight")
                        .grad()
                != null);
    }

    /**
     * Batch row 1 holds a 3-token sequence after 2 padding rows; its mask hides the padding keys from every query but
     * lets each padding query see itself. Without RoPE (positions would shift) the real rows' outputs must equal
     * the sequence run alone. Both sides are float32 sums over at most 5 keys of the same products in other
     * orders: 1e-5 absolute and relative is above their rounding.
     */
    @Test
    void aPaddingMaskMakesALeftPaddedRowMatchTheSequenceAlone() {
        int dim = 8, t = 5, pad = 2;
        Attention a = new Attention(dim, 4, 2, null, false, new SplittableRandom(3));
        Tensor x = Tensor.randn(Shape.of(2, t, dim), 11);
        boolean[] keep = new boolean[2 * t * t];
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < t; i++)
                for (int j = 0; j < t; j++) keep[(b * t + i) * t + j] = b == 0 || j >= pad || j == i;
        Tensor mask = Tensor.of(keep, 2, 1, t, t);
        float[] batched;
        try (var ng = Autograd.noGrad()) {
            batched = a.forward(x, 0, null, 0, mask).toFloatArray();
        }
        for (int b = 0; b < 2; b++) {
            int from = b == 0 ? 0 : pad;
            Tensor alone = x.narrow(0, b, 1).narrow(1, from, t - from);
            double[] want;
            try (var ng = Autograd.noGrad()) {
                want = F64.d(a.forward(alone).toFloatArray());
            }
            float[] got = new float[want.length];
            System.arraycopy(batched, (b * t + from) * dim, got, 0, got.length);
            F64.close(want, got, 1e-5, 1e-5, "batch row " + b);
        }
    }
}
