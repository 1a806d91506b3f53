package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.DrawnWeights;
import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.lora.*;
import dev.panthera.nn.loss.Losses;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.util.List;
import java.util.Map;
import net.jqwik.api.*;
import org.junit.jupiter.api.Test;

/**
 * The LoRA properties on small models with drawn weights and configs, the structural ones (B = 0 is the identity,
 * merged equals unmerged, only adapter weights train, LLaMA-Adapter starts at the base); plus peft-compatibility
 * details. The properties of one adapted Linear against float64 oracles are in {@link LoraLinearPropertiesTest}.
 */
class LoraPropertiesTest {

    /**
     * A LoRA config (rank r, one of {@link LoraFixtures#config}'s target sets, rsLoRA or not) on a two-layer decoder
     * with kv heads, the decoder's drawn weights, the adapters' drawn A and B (when drawn), and two sequences of t
     * token ids with their labels.
     */
    record ModelCase(
            int r,
            int targets,
            boolean rs,
            int kv,
            int t,
            DrawnWeights.Weights base,
            DrawnWeights.Weights adapters,
            long[] ids,
            long[] labels) {
        /** The decoder with the drawn base weights, not yet adapted. */
        CausalLm model() {
            CausalLm m = LoraFixtures.model(0, 8, 2, kv);
            base.load(m);
            return m;
        }

        /** The config; its seed only initialises A and B, which the drawn adapter values (when drawn) replace. */
        LoraConfig config() {
            return LoraFixtures.config(r, targets, rs, 0);
        }

        Tensor x() {
            return Tensor.of(ids, 2, t);
        }

        Tensor y() {
            return Tensor.of(labels, 2, t);
        }

        @Override
        public String toString() {
            return "r=" + r + " targets=" + targets + " rs=" + rs + " kv=" + kv + " t=" + t + " ids="
                    + java.util.Arrays.toString(ids) + " labels=" + java.util.Arrays.toString(labels) + " base=" + base
                    + " adapters=" + adapters;
        }
    }

    /**
     * Sizes and config drawn before the values, so a failure shrinks to a low rank, the first target set and short
     * sequences first. The decoder's weights are drawn in its initialisers' distributions (norm weights stay ones);
     * with {@code adapters}, A is drawn U(−1/√in, 1/√in) (its kaiming-uniform init) and B N(0, 1)·0.1 (non-zero, as
     * after training; {@link LoraFixtures#randomizeB}'s scale), else the adapters keep their init (B = 0).
     */
    static Arbitrary<ModelCase> modelCases(int maxR, int kv, int maxT, boolean anyRs, boolean adapters) {
        var sizes = Combinators.combine(
                        Arbitraries.integers().between(1, maxR),
                        Arbitraries.integers().between(0, 2),
                        anyRs ? Arbitraries.of(false, true) : Arbitraries.just(false),
                        Arbitraries.integers().between(1, maxT))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, s -> {
            int r = s.get1(), targets = s.get2(), t = s.get4();
            boolean rs = s.get3();
            CausalLm plain = LoraFixtures.model(0, 8, 2, kv), adapted = LoraFixtures.model(0, 8, 2, kv);
            Lora.apply(adapted, LoraFixtures.config(r, targets, rs, 0), "default");
            Arbitrary<DrawnWeights.Weights> lora = adapters
                    ? DrawnWeights.of(
                            adapted,
                            name -> name.contains(".lora_"),
                            (name, p) -> name.contains(".lora_B.")
                                    ? Values.normal().map(v -> v * 0.1)
                                    : DrawnWeights.fanInUniform(p.dims()[1]))
                    : Arbitraries.just(new DrawnWeights.Weights(Map.of()));
            Arbitrary<long[]> tokens =
                    Arbitraries.longs().between(0, 12).array(long[].class).ofSize(2 * t);
            return Combinators.combine(DrawnWeights.initLike(plain), lora, tokens, tokens)
                    .as((b, a, x, y) -> new ModelCase(r, targets, rs, kv, t, b, a, x, y));
        });
    }

    @Provide
    Arbitrary<ModelCase> zeroBCases() {
        return modelCases(4, 1, 5, true, false);
    }

    @Property(tries = 12)
    void zeroBLeavesOutputExactlyEqual(@ForAll("zeroBCases") ModelCase c) {
        CausalLm m = c.model();
        Tensor x = c.x();
        float[] base = m.forward(x).toFloatArray();
        List<String> adapted = Lora.apply(m, c.config(), "default");
        assertFalse(adapted.isEmpty());
        assertArrayEquals(base, m.forward(x).toFloatArray(), "LoRA with B = 0 must not change the output at all");
    }

    @Provide
    Arbitrary<ModelCase> mergeCases() {
        return modelCases(4, 2, 4, true, true);
    }

    @Property(tries = 12)
    void mergedEqualsUnmergedAndUnmergeRestores(@ForAll("mergeCases") ModelCase c) {
        CausalLm m = c.model();
        Tensor x = c.x();
        Lora.apply(m, c.config(), "default");
        c.adapters().load(m);
        Map<String, float[]> before = new java.util.HashMap<>();
        for (var e : Lora.layers(m).entrySet())
            before.put(e.getKey(), e.getValue().base().weight().toFloatArray());
        float[] unmerged = m.forward(x).toFloatArray();
        Lora.merge(m);
        float[] merged = m.forward(x).toFloatArray();
        double maxAbs = 0;
        for (float v : unmerged) maxAbs = Math.max(maxAbs, Math.abs(v));
        for (int i = 0; i < merged.length; i++) {
            assertEquals(
                    unmerged[i],
                    merged[i],
                    1e-5 * maxAbs,
                    "merged vs unmerged, element " + i + " (1e-5 relative to the largest logit)");
        }
        Lora.unmerge(m);
        for (var e : Lora.layers(m).entrySet()) {
            float[] w0 = before.get(e.getKey()),
                    w1 = e.getValue().base().weight().toFloatArray();
            float[] d = e.getValue().delta("default").toFloatArray();
            for (int i = 0; i < w0.length; i++) {
                // W + Δ − Δ in float32 is within one rounding of |W| + |Δ| per operation
                double tol = 2 * Math.ulp((float) (Math.abs(w0[i]) + Math.abs(d[i])));
                assertEquals(w0[i], w1[i], tol, e.getKey() + " weight element " + i + " after merge/unmerge");
            }
        }
    }

    @Provide
    Arbitrary<ModelCase> gradientModelCases() {
        return modelCases(3, 1, 4, false, true);
    }

    @Property(tries = 8)
    void onlyAdapterParametersReceiveGradients(@ForAll("gradientModelCases") ModelCase c) {
        CausalLm m = c.model();
        Lora.apply(m, c.config(), "default");
        c.adapters().load(m);
        Losses.crossEntropy(m.forward(c.x()), c.y()).backward();
        for (var e : m.namedParameters().entrySet()) {
            boolean adapter =
                    e.getKey().contains(".lora_A.default.") || e.getKey().contains(".lora_B.default.");
            assertEquals(adapter, e.getValue().requiresGrad(), e.getKey());
            if (adapter) assertNotNull(e.getValue().grad(), e.getKey() + " should have a gradient");
            else assertNull(e.getValue().grad(), e.getKey() + " is frozen and must get no gradient");
        }
    }

    @Test
    void peftKeyNamesShapesAndInit() {
        CausalLm m = LoraFixtures.model(1, 8, 2, 1);
        Lora.apply(m, LoraConfig.of(4, 8, 0, List.of("q_proj", "v_proj")).withSeed(5), "default");
        Map<String, Tensor> sd = Lora.adapterStateDict(m, "default");
        assertEquals(8, sd.size());
        Tensor a = sd.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
        Tensor b = sd.get("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight");
        assertEquals(Shape.of(4, 8), a.shape());
        assertEquals(Shape.of(4, 4), b.shape()); // v_proj out = kvHeads·headDim = 4
        for (float v : a.toFloatArray())
            assertTrue(Math.abs(v) <= 1 / Math.sqrt(8), "kaiming_uniform(a=√5): bound 1/√fan_in");
        for (float v : b.toFloatArray()) assertEquals(0f, v);
        // the model's own state dict keeps peft's in-memory layout
        assertTrue(m.stateDict().containsKey("model.layers.1.self_attn.q_proj.base_layer.weight"));
        assertTrue(m.stateDict().containsKey("model.layers.1.self_attn.q_proj.lora_A.default.weight"));
        assertEquals(2.0, Lora.layers(m).values().iterator().next().scaling("default"));
        assertEquals(
                4.0, LoraConfig.of(4, 8, 0, List.of("q_proj")).withRsLora(true).scaling());
        // all-linear skips lm_head
        CausalLm all = LoraFixtures.model(1, 8, 2, 1);
        List<String> adapted = Lora.apply(all, LoraConfig.of(2, 4, 0, List.of(LoraConfig.ALL_LINEAR)), "x");
        assertEquals(14, adapted.size());
        assertFalse(adapted.contains("lm_head"));
        long trainable = all.trainableParameterCount();
        assertEquals(
                Lora.adapterStateDict(all, "x").values().stream()
                        .mapToLong(Tensor::numel)
                        .sum(),
                trainable);
    }

    @Test
    void severalAdaptersOneActiveAndMergeAndUnload() {
        CausalLm m = LoraFixtures.model(2, 8, 2, 1);
        Tensor x = LoraFixtures.ids(2, 4);
        float[] base = m.forward(x).toFloatArray();
        Lora.apply(m, LoraConfig.of(2, 4, 0, List.of("q_proj", "o_proj")).withSeed(1), "one");
        LoraFixtures.randomizeB(m, "one", 1);
        float[] withOne = m.forward(x).toFloatArray();
        Lora.apply(m, LoraConfig.of(3, 3, 0, List.of("q_proj", "o_proj")).withSeed(2), "two");
        assertArrayEquals(base, m.forward(x).toFloatArray(), "'two' is active and its B is zero");
        for (var e : m.namedParameters().entrySet())
            assertEquals(e.getKey().contains(".two."), e.getValue().requiresGrad(), e.getKey());
        Lora.setActive(m, "one");
        assertArrayEquals(withOne, m.forward(x).toFloatArray());
        Lora.merge(m);
        assertThrows(IllegalStateException.class, () -> Lora.setActive(m, "two"));
        Lora.unmerge(m);
        Lora.mergeAndUnload(m);
        assertTrue(Lora.layers(m).isEmpty());
        assertTrue(m.namedModules().get("model.layers.0.self_attn.q_proj") instanceof Linear);
        assertTrue(m.stateDict().containsKey("model.layers.0.self_attn.q_proj.weight"));
        F64.close(F64.d(withOne), m.forward(x).toFloatArray(), 1e-5, 1e-4, "merge_and_unload keeps the adapted output");
    }

    @Test
    void noMatchingTargetFailsClearly() {
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> Lora.apply(LoraFixtures.model(1, 8, 2, 1), LoraConfig.of(2, 4, 0, List.of("query")), "d"));
        assertTrue(e.getMessage().contains("no Linear layer matched"), e.getMessage());
    }

    @Test
    void loraDropoutOnlyInTraining() {
        CausalLm m = LoraFixtures.model(3, 8, 2, 1);
        Lora.apply(m, LoraConfig.of(2, 4, 0.5, List.of("q_proj")).withSeed(3), "d");
        LoraFixtures.randomizeB(m, "d", 3);
        Tensor x = LoraFixtures.ids(3, 4);
        m.eval();
        float[] a = m.forward(x).toFloatArray();
        assertArrayEquals(a, m.forward(x).toFloatArray());
        m.train(true);
        assertFalse(java.util.Arrays.equals(a, m.forward(x).toFloatArray()));
    }

    /**
     * Adapter layers in [1, 2] and prompt length in [1, 5], then a {@link ModelCase} with t in [1, 5], drawn before
     * the values; the prompts are drawn N(0, 1) (their init's distribution) and replace the initialised ones, while the
     * gates keep their initial zero, which is what the property checks.
     */
    record AdapterCase(int layers, int len, ModelCase model, DrawnWeights.Weights prompts) {
        @Override
        public String toString() {
            ModelCase m = model;
            return "layers=" + layers + " len=" + len + " t=" + m.t() + " ids=" + java.util.Arrays.toString(m.ids())
                    + " labels=" + java.util.Arrays.toString(m.labels()) + " base=" + m.base() + " prompts=" + prompts;
        }
    }

    @Provide
    Arbitrary<AdapterCase> adapterCases() {
        var sizes = Combinators.combine(
                        Arbitraries.integers().between(1, 2),
                        Arbitraries.integers().between(1, 5))
                .as(Tuple::of);
        return SizesFirst.flatMap(sizes, s -> {
            int layers = s.get1(), len = s.get2();
            CausalLm template = LoraFixtures.model(0, 8, 2, 1);
            LlamaAdapter.apply(template, layers, len, 0);
            Arbitrary<DrawnWeights.Weights> prompts =
                    DrawnWeights.of(template, name -> name.endsWith("adaption_prompt"), (name, p) -> Values.normal());
            return Combinators.combine(modelCases(1, 1, 5, false, false), prompts)
                    .as((m, p) -> new AdapterCase(layers, len, m, p));
        });
    }

    @Property(tries = 6)
    void llamaAdapterStartsExactlyAtTheBase(@ForAll("adapterCases") AdapterCase c) {
        int layers = c.layers(), len = c.len();
        CausalLm m = c.model().model();
        Tensor x = c.model().x();
        float[] base = m.forward(x).toFloatArray();
        // the initialiser's seed does not matter: the drawn prompts replace what it draws, and the gates start at zero
        LlamaAdapter.apply(m, layers, len, 0);
        c.prompts().load(m);
        assertArrayEquals(base, m.forward(x).toFloatArray(), "zero-initialised gate: output equals the base exactly");
        assertEquals(layers * (len * 8L + 1), m.trainableParameterCount());
        Losses.crossEntropy(m.forward(x), c.model().y()).backward();
        for (var e : m.namedParameters().entrySet()) {
            boolean adapter =
                    e.getKey().endsWith("adaption_prompt") || e.getKey().endsWith("adaption_gate");
            assertEquals(adapter, e.getValue().grad() != null, e.getKey());
        }
        // the gate's gradient is non-zero, so training moves the model away from the base
        Tensor gate = m.namedParameters().get("model.layers.1.self_attn.adaption_gate");
        assertNotEquals(0.0, gate.grad().item());
    }
}
