package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.Ia3;
import dev.panthera.nn.lora.Ia3Config;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * (IA)³ merged into the base weights (peft's merge_and_unload) computes what the adapted model computed: the vectors
 * drawn from N(0, 1) (not ones) so the merge changes the weights. The two differ only in where a product by l is
 * rounded (l·(w·x) against (l·w)·x): a relative F32 error of a few units in the last place per dot product of
 * length ≤ 11, carried through 2 layers and the head, well inside 1e-5·(1 + |logit|).
 */
class Ia3MergeTest {
    @Test
    void mergeAndUnloadKeepsTheOutputs() {
        CausalLm m = LoraFixtures.model(5, 8, 2, 1);
        Tensor ids = LoraFixtures.ids(6, 7);
        float[] base;
        try (var _ = Autograd.noGrad()) {
            base = m.forward(ids).toFloatArray();
        }
        Ia3.apply(
                m,
                new Ia3Config(
                        dev.panthera.nn.lora.LoraTargets.of(List.of("k_proj", "v_proj", "down_proj")),
                        dev.panthera.nn.lora.LoraTargets.of(List.of("down_proj")),
                        false),
                "a");
        float[] adapted, merged;
        try (var _ = Autograd.noGrad()) {
            adapted = m.forward(ids).toFloatArray();
            Ia3.mergeAndUnload(m);
            merged = m.forward(ids).toFloatArray();
        }
        assertTrue(Ia3.layers(m).isEmpty(), "no (IA)³ layer is left");
        double moved = 0;
        for (int i = 0; i < base.length; i++) moved = Math.max(moved, Math.abs(adapted[i] - base[i]));
        assertTrue(moved > 1e-2, "the adapter must change the outputs, max change " + moved);
        for (int i = 0; i < adapted.length; i++)
            assertEquals(adapted[i], merged[i], 1e-5 * (1 + Math.abs(adapted[i])), "logit " + i);
    }
}
