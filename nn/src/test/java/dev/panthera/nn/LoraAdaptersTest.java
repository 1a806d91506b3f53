package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.lora.Lora;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.lora.LoraLinear;
import dev.panthera.nn.loss.Losses;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Several adapters with different target modules: the active adapter is set on every LoRA layer, and a layer without
 * it runs its base alone (peft's set_adapter and LoraLayer.forward). Expected outputs come from a plain model (no
 * LoRA layers) whose weights are W + B·A·α/r computed here in float64 from the adapter weights and the config values.
 */
class LoraAdaptersTest {
    static final List<String> QV = List.of("q_proj", "v_proj");
    static final List<String> O = List.of("o_proj");

    /** Model with adapter "one" (r 2, α 4) on q/v and "two" (r 3, α 9) on o_proj, both with non-zero B. */
    static CausalLm twoAdapters(long seed) {
        CausalLm m = LoraFixtures.model(seed, 8, 2, 1);
        Lora.apply(m, LoraConfig.of(2, 4, 0, QV).withSeed(seed), "one");
        LoraFixtures.randomizeB(m, "one", seed + 1);
        Lora.apply(m, LoraConfig.of(3, 9, 0, O).withSeed(seed + 2), "two");
        try (var _ = Autograd.noGrad()) {
            var rng = new java.util.SplittableRandom(seed + 3);
            for (LoraLinear l : Lora.layers(m).values())
                if (l.hasAdapter("two"))
                    l.loraB("two")
                            .weight()
                            .copy_(Tensor.randn(rng, l.loraB("two").weight().dims())
                                    .mul(0.1));
        }
        return m;
    }

    /** W + B·A·scale in float64, rounded once to float32, for every layer that has {@code adapter}. */
    static Map<String, Tensor> effectiveWeights(CausalLm m, String adapter, double scale) {
        Map<String, Tensor> out = new HashMap<>();
        for (var e : Lora.layers(m).entrySet()) {
            LoraLinear l = e.getValue();
            float[] w = l.base().weight().toFloatArray();
            if (l.hasAdapter(adapter)) {
                float[] a = l.loraA(adapter).weight().toFloatArray(),
                        b = l.loraB(adapter).weight().toFloatArray();
                int r = (int) l.loraA(adapter).weight().size(0),
                        in = (int) l.base().inFeatures(),
                        outF = (int) l.base().outFeatures();
                for (int o = 0; o < outF; o++)
                    for (int i = 0; i < in; i++) {
                        double s = 0;
                        for (int k = 0; k < r; k++) s += (double) b[o * r + k] * a[k * in + i];
                        w[o * in + i] = (float) (w[o * in + i] + s * scale);
                    }
            }
            out.put(
                    e.getKey() + ".weight",
                    Tensor.of(w, l.base().outFeatures(), l.base().inFeatures()));
        }
        return out;
    }

    /** A plain model (same seed, so same base weights) with the given layer weights loaded. */
    static CausalLm plainWith(long seed, Map<String, Tensor> weights) {
        CausalLm p = LoraFixtures.model(seed, 8, 2, 1);
        Map<String, Tensor> sd = new HashMap<>(p.stateDict());
        sd.putAll(weights);
        p.loadStateDict(sd, true);
        return p;
    }

    @Test
    void activeAdapterIsSetOnEveryLayerAndLayersWithoutItRunTheirBase() {
        long seed = 41;
        CausalLm m = twoAdapters(seed);
        Tensor x = LoraFixtures.ids(seed, 5);
        // "two" is active after it was added: q/v must run their base, o_proj base + two
        var expectTwo = plainWith(seed, effectiveWeights(m, "two", 9.0 / 3)).forward(x);
        F64.close(F64.d(expectTwo.toFloatArray()), m.forward(x).toFloatArray(), 1e-5, 1e-4, "active two");
        for (LoraLinear l : Lora.layers(m).values()) assertEquals("two", l.activeAdapter());
        Lora.setActive(m, "one");
        var expectOne = plainWith(seed, effectiveWeights(m, "one", 4.0 / 2)).forward(x);
        F64.close(F64.d(expectOne.toFloatArray()), m.forward(x).toFloatArray(), 1e-5, 1e-4, "active one");
        assertThrows(IllegalArgumentException.class, () -> Lora.setActive(m, "three"));
    }

    @Test
    void mergeMergesOnlyTheNamedAdapter() {
        long seed = 42;
        CausalLm m = twoAdapters(seed);
        Map<String, float[]> before = new HashMap<>();
        for (var e : Lora.layers(m).entrySet())
            before.put(e.getKey(), e.getValue().base().weight().toFloatArray());
        Map<String, Tensor> expected = effectiveWeights(m, "two", 3.0);
        Lora.merge(m);
        for (var e : Lora.layers(m).entrySet()) {
            float[] w = e.getValue().base().weight().toFloatArray();
            if (e.getKey().endsWith("o_proj")) {
                assertEquals("two", e.getValue().mergedAdapter());
                F64.close(F64.d(expected.get(e.getKey() + ".weight").toFloatArray()), w, 1e-6, 1e-5, e.getKey());
            } else {
                assertNull(e.getValue().mergedAdapter(), e.getKey());
                assertArrayEquals(before.get(e.getKey()), w, e.getKey() + " has no 'two' and must stay the base");
            }
        }
        Lora.unmerge(m);
        Lora.setActive(m, "one");
        Lora.mergeAndUnload(m);
        assertTrue(Lora.layers(m).isEmpty());
        Linear o = (Linear) m.namedModules().get("model.layers.0.self_attn.o_proj");
        assertArrayEquals(
                before.get("model.layers.0.self_attn.o_proj"), o.weight().toFloatArray(), 1e-6f);
    }

    @Test
    void trainingTheActiveAdapterSeesOnlyIt() {
        long seed = 43;
        CausalLm m = twoAdapters(seed);
        Tensor x = LoraFixtures.ids(seed, 4), y = LoraFixtures.ids(seed + 9, 4);
        Losses.crossEntropy(m.forward(x), y).backward();
        // the same "two" on a model that never had "one": its gradients must be the same
        CausalLm solo = LoraFixtures.model(seed, 8, 2, 1);
        Lora.apply(solo, LoraConfig.of(3, 9, 0, O).withSeed(seed + 2), "two");
        try (var _ = Autograd.noGrad()) {
            for (var e : Lora.layers(solo).entrySet())
                e.getValue()
                        .loraB("two")
                        .weight()
                        .copy_(Lora.layers(m).get(e.getKey()).loraB("two").weight());
        }
        Losses.crossEntropy(solo.forward(x), y).backward();
        for (var e : m.namedParameters().entrySet()) {
            boolean two = e.getKey().contains(".two.");
            assertEquals(two, e.getValue().requiresGrad(), e.getKey());
            if (!two) {
                assertNull(e.getValue().grad(), e.getKey());
                continue;
            }
            float[] g = e.getValue().grad().toFloatArray();
            float[] expected = solo.namedParameters().get(e.getKey()).grad().toFloatArray();
            F64.close(F64.d(expected), g, 1e-6, 1e-4, "gradient of " + e.getKey());
        }
    }
}
