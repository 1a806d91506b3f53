package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.PromptTuning;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.AdamW;
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
}
