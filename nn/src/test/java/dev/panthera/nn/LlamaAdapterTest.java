package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.LlamaAdapter;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** LLaMA-Adapter as peft's adaption prompt defines it (peft 0.21 tuners/adaption_prompt/layer.py). */
class LlamaAdapterTest {
    @Test
    void promptIsOneByLengthByDimDrawnFromAStandardNormal() {
        CausalLm m = LoraFixtures.model(3, 64, 4, 2);
        LlamaAdapter.apply(m, 1, 16, 3);
        Tensor prompt = m.namedParameters().get("model.layers.1.self_attn.adaption_prompt");
        assertEquals(Shape.of(1, 16, 64), prompt.shape());
        assertNull(m.namedParameters().get("model.layers.0.self_attn.adaption_prompt"), "only the top layer");
        assertEquals(
                Shape.of(1),
                m.namedParameters()
                        .get("model.layers.1.self_attn.adaption_gate")
                        .shape());
        float[] p = prompt.toFloatArray();
        double mean = 0, sq = 0;
        for (float v : p) mean += v;
        mean /= p.length;
        for (float v : p) sq += (v - mean) * (v - mean);
        double std = Math.sqrt(sq / (p.length - 1));
        // peft: torch.empty(1, adapter_len, hidden).normal_(), σ = 1; 1024 draws: standard error of the std ≈ 0.022
        assertEquals(1.0, std, 0.1, "sample std of the prompt");
        assertEquals(0.0, mean, 0.15, "sample mean of the prompt");
        assertArrayEquals(new int[] {1, 16}, LlamaAdapter.shape(m));
    }

    @Test
    void applyingAgainFailsAndKeepsThePrompt() {
        CausalLm m = LoraFixtures.model(4, 8, 2, 1);
        LlamaAdapter.apply(m, 2, 3, 4);
        float[] before = m.namedParameters()
                .get("model.layers.1.self_attn.adaption_prompt")
                .toFloatArray();
        assertThrows(IllegalStateException.class, () -> LlamaAdapter.apply(m, 1, 3, 5));
        assertArrayEquals(
                before,
                m.namedParameters()
                        .get("model.layers.1.self_attn.adaption_prompt")
                        .toFloatArray());
        assertEquals(2, LlamaAdapter.stateDict(m).size() / 2);
    }
}
