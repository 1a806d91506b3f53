package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.layers.Linear;
import dev.panthera.nn.lora.*;
import dev.panthera.nn.loss.Losses;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.*;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The LoRA properties of the issue, over random small models and configs, plus peft-compatibility details. */
class LoraPropertiesTest {

    static CausalLm model(long seed, int dim, int heads, int kv) {
        return new CausalLm(
                new DecoderConfig(
                        dim, dim + 3, heads, kv, 13, 2, 16, 1e-5, 10000, dev.panthera.nn.layers.Rope.Layout.HALF),
                new SplittableRandom(seed));
    }

    static Tensor ids(long seed, int t) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] x = new long[2 * t];
        for (int i = 0; i < x.length; i++) x[i] = r.nextInt(13);
        return Tensor.of(x, 2, t);
    }

    static LoraConfig config(int r, int targets, boolean rs, long seed) {
        LoraConfig c = switch (targets) {
            case 0 -> LoraConfig.of(r, 2.0 * r, 0, List.of("q_proj", "v_proj"));
            case 1 -> LoraConfig.regex(r, 16, 0, "model\\.layers\\.\\d+\\.(self_attn\\.o_proj|mlp\\.\\w+_proj)");
            default -> LoraConfig.of(r, 8, 0, List.of(LoraConfig.ALL_LINEAR));
        };
        return c.withRsLora(rs).withSeed(seed);
    }

    /** Makes B non-zero so the adapter changes the output (as after training). */
    static void randomizeB(Module m, String name, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        try (var _ = Autograd.noGrad()) {
            for (LoraLinear l : Lora.layers(m).values()) {
                Tensor b = l.loraB(name).weight();
                b.copy_(Tensor.randn(rng, b.dims()).mul(0.1));
            }
        }
    }

    @Property(tries = 12)
    void zeroBLeavesOutputExactlyEqual(
            @ForAll @IntRange(min = 1, max = 4) int r,
            @ForAll @IntRange(min = 0, max = 2) int targets,
            @ForAll boolean rs,
            @ForAll long seed) {
        CausalLm m = model(seed, 8, 2, 1);
        Tensor x = ids(seed, 5);
        float[] base = m.forward(x).toFloatArray();
        List<String> adapted = Lora.apply(m, config(r, targets, rs, seed), "default");
        assertFalse(adapted.isEmpty());
        assertArrayEquals(base, m.forward(x).toFloatArray(), "LoRA with B = 0 must not change the output at all");
    }

    @Property(tries = 12)
    void mergedEqualsUnmergedAndUnmergeRestores(
            @ForAll @IntRange(min = 1, max = 4) int r,
            @ForAll @IntRange(min = 0, max = 2) int targets,
            @ForAll boolean rs,
            @ForAll long seed) {
        CausalLm m = model(seed, 8, 2, 2);
        Tensor x = ids(seed + 1, 4);
        Lora.apply(m, config(r, targets, rs, seed), "default");
        randomizeB(m, "default", seed);
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

    @Property(tries = 8)
    void onlyAdapterParametersReceiveGradients(
            @ForAll @IntRange(min = 1, max = 3) int r,
            @ForAll @IntRange(min = 0, max = 2) int targets,
            @ForAll long seed) {
        CausalLm m = model(seed, 8, 2, 1);
        Lora.apply(m, config(r, targets, false, seed), "default");
        randomizeB(m, "default", seed);
        Tensor x = ids(seed, 4);
        Losses.crossEntropy(m.forward(x), ids(seed + 3, 4)).backward();
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
        CausalLm m = model(1, 8, 2, 1);
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
        CausalLm all = model(1, 8, 2, 1);
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
        CausalLm m = model(2, 8, 2, 1);
        Tensor x = ids(2, 4);
        float[] base = m.forward(x).toFloatArray();
        Lora.apply(m, LoraConfig.of(2, 4, 0, List.of("q_proj", "o_proj")).withSeed(1), "one");
        randomizeB(m, "one", 1);
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
                () -> Lora.apply(model(1, 8, 2, 1), LoraConfig.of(2, 4, 0, List.of("query")), "d"));
        assertTrue(e.getMessage().contains("no Linear layer matched"), e.getMessage());
    }

    @Test
    void loraDropoutOnlyInTraining() {
        CausalLm m = model(3, 8, 2, 1);
        Lora.apply(m, LoraConfig.of(2, 4, 0.5, List.of("q_proj")).withSeed(3), "d");
        randomizeB(m, "d", 3);
        Tensor x = ids(3, 4);
        m.eval();
        float[] a = m.forward(x).toFloatArray();
        assertArrayEquals(a, m.forward(x).toFloatArray());
        m.train(true);
        assertFalse(java.util.Arrays.equals(a, m.forward(x).toFloatArray()));
    }

    @Property(tries = 6)
    void llamaAdapterStartsExactlyAtTheBase(
            @ForAll @IntRange(min = 1, max = 2) int layers,
            @ForAll @IntRange(min = 1, max = 5) int len,
            @ForAll long seed) {
        CausalLm m = model(seed, 8, 2, 1);
        Tensor x = ids(seed, 5);
        float[] base = m.forward(x).toFloatArray();
        LlamaAdapter.apply(m, layers, len, seed);
        assertArrayEquals(base, m.forward(x).toFloatArray(), "zero-initialised gate: output equals the base exactly");
        assertEquals(layers * (len * 8L + 1), m.trainableParameterCount());
        Losses.crossEntropy(m.forward(x), ids(seed + 1, 5)).backward();
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
