package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.nn.lora.PromptTuning;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Prompt tuning: the real tokens' logits equal the base model's run over [prompt; tokens] embeddings, only the prompt
 * trains, and training it lowers a loss on the real positions. peft's outputs are checked in models'
 * PeftFixturesTest.
 */
class PromptTuningTest {
    @Test
    void promptIsPrependedAndAloneTrains() {
        CausalLm base = LoraFixtures.model(3, 8, 2, 1);
        Tensor ids = LoraFixtures.ids(4, 5);
        PromptTuning tuned = new PromptTuning(base, 3, 9);
        Tensor logits = tuned.forward(ids);
        assertArrayEquals(new long[] {2, 8, 13}, logits.dims());
        // the same computation by hand: embeddings of the prompt, then of the ids, through the frozen model
        Tensor emb = base.namedModules().get("model.embed_tokens").forward(ids);
        Tensor byHand = base.forwardEmbeddings(
                Tensor.cat(List.of(tuned.prompt().reshape(1, 3, 8).expand(2, 3, 8), emb), 1));
        assertArrayEquals(byHand.toFloatArray(), logits.toFloatArray());
        assertEquals(List.of(tuned.prompt()), tuned.trainableParameters());

        Tensor targets = LoraFixtures.ids(5, 5);
        AdamW opt = new AdamW(tuned.trainableParameters(), 0.05, 0.9, 0.999, 1e-8, 0);
        float[] frozen = base.namedParameters().get("lm_head.weight").toFloatArray();
        double first = 0, last = 0;
        for (int step = 0; step < 30; step++) {
            try (var scope = MemoryScope.open()) {
                Tensor real = tuned.forward(ids).narrow(1, 3, 5);
                Tensor loss = Losses.crossEntropy(real, targets);
                if (step == 0) first = loss.item();
                last = loss.item();
                opt.zeroGrad();
                loss.backward();
                opt.step();
            }
        }
        assertTrue(last < first - 0.1, "training the prompt lowers the loss: " + first + " -> " + last);
        assertArrayEquals(frozen, base.namedParameters().get("lm_head.weight").toFloatArray(), "the base is frozen");
        var e = assertThrows(IllegalArgumentException.class, () -> new PromptTuning(base, 0, 1));
        assertTrue(e.getMessage().contains("num_virtual_tokens"), e.getMessage());
    }

    /**
     * Generation with a KV cache after the prompt: 3 tokens with the prompt, then one token at a time, gives the rows
     * of one forward over the prompt and all 5 tokens. Bound 1e-5·(1 + |x|): the same float32 arithmetic, only the
     * GEMM shapes (and so the summation order) differ, a few ulps on logits of order 1.
     */
    @Test
    void cachedStepsAfterThePromptEqualTheFullForward() {
        CausalLm base = LoraFixtures.model(3, 8, 2, 1);
        Tensor ids = LoraFixtures.ids(4, 5); // [2, 5]
        PromptTuning tuned = new PromptTuning(base, 3, 9);
        try (var _ = Autograd.noGrad()) {
            float[] full = tuned.forward(ids).toFloatArray(); // [2, 3 + 5, 13]
            KvCache cache = base.newCache(16);
            float[] first =
                    tuned.forward(ids.narrow(1, 0, 3).contiguous(), null, cache).toFloatArray(); // [2, 6, 13]
            assertEquals(6, cache.length(0), "the cache holds the virtual tokens and the first 3");
            for (int t = 3; t < 5; t++) {
                float[] step = tuned.forward(ids.narrow(1, t, 1).contiguous(), null, cache)
                        .toFloatArray();
                for (int b = 0; b < 2; b++)
                    for (int j = 0; j < 13; j++) {
                        float want = full[(b * 8 + 3 + t) * 13 + j];
                        assertEquals(want, step[b * 13 + j], 1e-5 * (1 + Math.abs(want)), "row " + b + " token " + t);
                    }
            }
            for (int b = 0; b < 2; b++)
                for (int p = 0; p < 6; p++)
                    for (int j = 0; j < 13; j++) {
                        float want = full[(b * 8 + p) * 13 + j];
                        assertEquals(want, first[(b * 6 + p) * 13 + j], 1e-5 * (1 + Math.abs(want)));
                    }
        }
    }

    /**
     * A padded row gives, at its real tokens, what the same tokens give alone; right padding keeps the positions, so
     * the real tokens of [a b c pad pad] equal those of [a b c] run unpadded (same bound as above).
     */
    @Test
    void rightPaddingLeavesTheRealTokensAsAlone() {
        CausalLm base = LoraFixtures.model(3, 8, 2, 1);
        PromptTuning tuned = new PromptTuning(base, 2, 4);
        Tensor ids = Tensor.of(new long[] {5, 1, 7, 0, 0, 2, 3, 4, 9, 8}, 2, 5);
        Tensor mask = Tensor.of(new long[] {1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, 2, 5);
        try (var _ = Autograd.noGrad()) {
            float[] padded = tuned.forward(ids, mask, null).toFloatArray(); // [2, 7, 13]
            float[] alone = tuned.forward(Tensor.of(new long[] {5, 1, 7}, 1, 3)).toFloatArray(); // [1, 5, 13]
            for (int i = 0; i < 5 * 13; i++) assertEquals(alone[i], padded[i], 1e-5 * (1 + Math.abs(alone[i])));
            float[] unmasked = tuned.forward(ids).toFloatArray();
            for (int i = 0; i < 5 * 13; i++) assertEquals(unmasked[i], padded[i], 1e-5 * (1 + Math.abs(unmasked[i])));
            boolean moved = false;
            for (int i = 5 * 13; i < 7 * 13; i++) moved |= Math.abs(unmasked[i] - padded[i]) > 1e-4;
            assertTrue(moved, "the padded positions see no padding keys, so their logits change");
            var e = assertThrows(
                    IllegalArgumentException.class,
                    () -> tuned.forward(ids, Tensor.of(new long[] {1, 2, 1, 0, 0, 1, 1, 1, 1, 1}, 2, 5), null));
            assertTrue(e.getMessage().contains("holds 2.0"), e.getMessage());
        }
    }
}
