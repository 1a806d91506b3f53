package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.layers.Rope;
import dev.panthera.nn.lora.Lora;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An nn {@link CausalLm} saved with {@link Pretrained#save} and loaded back by {@link LlamaModel#load}: the loader
 * (checked against transformers in HuggingFaceReferenceTest) must see the same model, so both give the same logits.
 */
class PretrainedTest {
    @TempDir
    Path tmp;

    /**
     * The two forwards run different code (nn's layers vs models.llama's blocks) over the same F32 weights; only the
     * summation order may differ, so HuggingFaceReferenceTest's bound (K ≤ 64, about 20 stages) applies unchanged.
     */
    @Test
    void savedModelLoadsWithTheSameLogits() throws Exception {
        CausalLm lm = new CausalLm(DecoderConfig.of(32, 64, 4, 2, 50, 2, 64), new SplittableRandom(7));
        Pretrained.save(lm, tmp, 1, 2);
        int[] ids = {1, 5, 9, 33, 12, 49, 0, 7, 21, 3, 3, 40};
        try (var ng = Autograd.noGrad();
                LlamaModel m = LlamaModel.load(tmp)) {
            assertEquals(50, m.config().vocab());
            assertEquals(2, m.config().kvHeads());
            assertFalse(m.config().tiedEmbeddings());
            float[] want = lm.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            float[] got = m.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            assertEquals(want.length, got.length);
            double worst = 0, spread = 0;
            for (int i = 0; i < want.length; i++) {
                worst = Math.max(worst, Math.abs(want[i] - got[i]));
                spread = Math.max(spread, Math.abs(want[i]));
            }
            assertTrue(spread > 0.05, "logits must not be trivially small, max |logit| " + spread);
            assertTrue(worst <= HuggingFaceReferenceTest.TOL, "max |logit diff| " + worst);
        }
    }

    @Test
    void refusesUnmergedAdaptersAndInterleavedRope() {
        CausalLm lora = new CausalLm(DecoderConfig.of(16, 32, 2, 2, 20, 1, 16), new SplittableRandom(1));
        Lora.apply(lora, LoraConfig.of(2, 4, 0, List.of("q_proj")), "default");
        var e = assertThrows(IllegalArgumentException.class, () -> Pretrained.save(lora, tmp, -1, -1));
        assertTrue(e.getMessage().contains("mergeAndUnload"), e.getMessage());
        var inter = new CausalLm(
                new DecoderConfig(16, 32, 2, 2, 20, 1, 16, 1e-5, 10000, Rope.Layout.INTERLEAVED),
                new SplittableRandom(1));
        e = assertThrows(IllegalArgumentException.class, () -> Pretrained.save(inter, tmp, -1, -1));
        assertTrue(e.getMessage().contains("half-split"), e.getMessage());
    }
}
