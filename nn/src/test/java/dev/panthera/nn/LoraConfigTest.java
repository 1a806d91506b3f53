package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.lora.Lora;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.lora.LoraLinear;
import dev.panthera.nn.lora.LoraTargets;
import dev.panthera.nn.lora.ModulesToSave;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** peft's LoraConfig features: init_lora_weights, target selection, rank/alpha patterns, disable_adapter. */
class LoraConfigTest {
    static final String Q0 = "model.layers.0.self_attn.q_proj", Q1 = "model.layers.1.self_attn.q_proj";

    @Test
    void gaussianInitDrawsAWithStd1OverRAndZeroB() {
        int r = 4, in = 4096;
        LoraLinear l = new LoraLinear(new Linear(in, 8, false, new SplittableRandom(1)));
        l.addAdapter("g", r, 1, 0, LoraConfig.InitWeights.GAUSSIAN, 5);
        float[] a = l.loraA("g").weight().toFloatArray();
        double mean = 0, sq = 0;
        for (float v : a) mean += v;
        mean /= a.length;
        for (float v : a) sq += (v - mean) * (v - mean);
        double std = Math.sqrt(sq / (a.length - 1));
        // peft: nn.init.normal_(lora_A, std=1/r); 16384 draws put the sample std within ~1% of σ (3 standard errors)
        assertEquals(1.0 / r, std, 0.03 / r, "sample std of A");
        assertEquals(0, mean, 3 * (1.0 / r) / Math.sqrt(a.length), "sample mean of A");
        for (float v : l.loraB("g").weight().toFloatArray()) assertEquals(0f, v);

        // init_lora_weights=False: B is drawn like nn.Linear(r, out): U(-1/√r, 1/√r), so the adapter is not zero
        l.addAdapter("f", r, 1, 0, LoraConfig.InitWeights.RANDOM, 6);
        float[] b = l.loraB("f").weight().toFloatArray();
        double maxAbs = 0;
        for (float v : b) maxAbs = Math.max(maxAbs, Math.abs(v));
        assertTrue(maxAbs > 0 && maxAbs <= 1 / Math.sqrt(r), "B bound 1/√r, got max |B| " + maxAbs);
    }

    @Test
    void allLinearIgnoresCase() {
        CausalLm m = LoraFixtures.model(1, 8, 2, 1);
        List<String> adapted = Lora.apply(m, LoraConfig.of(2, 4, 0, List.of("ALL-Linear")), "x");
        assertEquals(14, adapted.size());
        assertFalse(adapted.contains("lm_head"));
    }

    @Test
    void targetSelectionFollowsPeftsRule() {
        LoraTargets q = LoraTargets.of(List.of("q_proj", "lm_head"));
        assertTrue(q.matches(Q0, List.of()));
        assertFalse(q.matches("model.layers.0.self_attn.qq_proj", List.of()), "a suffix needs a '.' before it");
        // exclude_modules: names (exact or after a '.') or a regex over the whole name, checked first
        assertFalse(q.withExclude(List.of("layers.0.self_attn.q_proj")).matches(Q0, List.of()));
        assertTrue(q.withExclude(List.of("layers.0.self_attn.q_proj")).matches(Q1, List.of()));
        assertFalse(q.withExcludeRegex(".*\\.1\\..*").matches(Q1, List.of()));
        assertTrue(q.withExcludeRegex("\\.1\\.").matches(Q1, List.of()), "the exclude regex must match the whole name");
        // layers_to_transform: the first number after a segment (or after layers_pattern)
        LoraTargets one = q.withLayers(List.of(1), List.of());
        assertFalse(one.matches(Q0, List.of()));
        assertTrue(one.matches(Q1, List.of()));
        assertTrue(one.matches("lm_head", List.of()), "a name listed exactly skips the layer check");
        LoraTargets experts = LoraTargets.of(List.of("up_proj")).withLayers(List.of(1), List.of("layers"));
        assertTrue(experts.matches("model.layers.1.mlp.experts.0.up_proj", List.of()));
        assertFalse(experts.matches("model.layers.0.mlp.experts.1.up_proj", List.of()));
        assertFalse(experts.matches("model.blocks.1.mlp.up_proj", List.of()), "no 'layers' segment");
        // modules_to_save are never targets
        assertFalse(q.matches("lm_head", List.of("lm_head")));
        // peft rejects layer selection with a regex target, and layers_pattern without layers_to_transform
        assertThrows(
                IllegalArgumentException.class,
                () -> LoraTargets.regex(".*q_proj").withLayers(List.of(1), null));
        assertThrows(IllegalArgumentException.class, () -> q.withLayers(List.of(), List.of("layers")));
    }

    @Test
    void rankAndAlphaPatternsTakeTheFirstMatchingKey() {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("v_proj", 5);
        ranks.put("layers.0.self_attn.v_proj", 7);
        ranks.put("layers\\.[01]\\.mlp\\..*_proj", 3);
        Map<String, Double> alphas = new LinkedHashMap<>();
        alphas.put("proj", 100.0); // needs a '.' or the start before it, so matches no *_proj
        alphas.put("model.layers.0.self_attn.q_proj", 12.0);
        LoraConfig c = LoraConfig.of(2, 4, 0, List.of("q_proj")).withPatterns(ranks, alphas);
        assertEquals(5, c.rankFor("model.layers.0.self_attn.v_proj"), "the first key in order wins");
        assertEquals(3, c.rankFor("model.layers.1.mlp.down_proj"), "keys are regexes");
        assertEquals(2, c.rankFor(Q0));
        assertEquals(12.0, c.alphaFor(Q0));
        assertEquals(4.0, c.alphaFor(Q1));
        assertEquals(12.0 / 2, c.scalingFor(Q0), 1e-15);
        assertEquals(4.0 / 5, c.scalingFor("model.layers.1.self_attn.v_proj"), 1e-15);
        assertEquals(12.0 / Math.sqrt(2), c.withRsLora(true).scalingFor(Q0), 1e-15);
    }

    @Test
    void disabledAdaptersRunTheBaseUntilClosed() {
        CausalLm m = LoraFixtures.model(9, 8, 2, 1);
        Tensor x = LoraFixtures.ids(9, 5);
        float[] base = m.forward(x).toFloatArray();
        Lora.apply(m, LoraConfig.of(2, 4, 0, List.of("q_proj", "o_proj")).withModulesToSave(List.of("lm_head")), "d");
        LoraFixtures.randomizeB(m, "d", 9);
        ModulesToSave head = Lora.savedModules(m).get("lm_head");
        try (var _ = Autograd.noGrad()) {
            Tensor w = ((Linear) head.copy("d")).weight();
            w.copy_(w.add(0.5));
        }
        float[] adapted = m.forward(x).toFloatArray();
        assertFalse(java.util.Arrays.equals(base, adapted));
        long trainable = m.trainableParameterCount();
        try (var _ = Lora.disableAdapters(m)) {
            assertArrayEquals(base, m.forward(x).toFloatArray(), "disabled: forward is the base model");
            assertEquals(0, m.trainableParameterCount(), "no adapter weight trains while disabled");
        }
        assertArrayEquals(adapted, m.forward(x).toFloatArray(), "enabled again");
        assertEquals(trainable, m.trainableParameterCount());
        Lora.merge(m);
        assertThrows(IllegalStateException.class, () -> Lora.disableAdapters(m));
    }
}
