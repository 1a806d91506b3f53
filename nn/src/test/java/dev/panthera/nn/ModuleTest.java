package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.layers.Dropout;
import dev.panthera.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ModuleTest {
    static CausalLm tiny(long seed) {
        return new CausalLm(DecoderConfig.of(8, 12, 2, 1, 11, 2, 16), new SplittableRandom(seed));
    }

    @org.junit.jupiter.api.BeforeAll
    static void sayWhichBackend() {
        System.out.println("nn tests run on "
                + dev.panthera.tensor.Backends.forDevice(dev.panthera.tensor.Device.CPU)
                        .getClass()
                        .getSimpleName());
    }

    @Test
    void namesFollowHuggingFaceLlama() {
        Map<String, Tensor> sd = tiny(1).stateDict();
        List<String> expected = List.of(
                "model.embed_tokens.weight",
                "model.layers.0.input_layernorm.weight",
                "model.layers.0.self_attn.q_proj.weight",
                "model.layers.0.self_attn.k_proj.weight",
                "model.layers.0.self_attn.v_proj.weight",
                "model.layers.0.self_attn.o_proj.weight",
                "model.layers.0.post_attention_layernorm.weight",
                "model.layers.0.mlp.gate_proj.weight",
                "model.layers.0.mlp.up_proj.weight",
                "model.layers.0.mlp.down_proj.weight",
                "model.layers.1.input_layernorm.weight");
        assertEquals(expected, sd.keySet().stream().limit(expected.size()).toList());
        assertTrue(sd.containsKey("model.norm.weight"));
        assertTrue(sd.containsKey("lm_head.weight"));
        assertEquals(
                List.of(4L, 8L),
                List.of(
                        sd.get("model.layers.0.self_attn.k_proj.weight").dims()[0],
                        sd.get("model.layers.0.self_attn.k_proj.weight").dims()[1]));
    }

    @Test
    void parameterCountsAndFreeze() {
        CausalLm m = tiny(1);
        // per layer: 2 norms (8 each) + q,o 64 each + k,v 32 each + 3 × 96 mlp; embed 88, lm_head 88, norm 8
        long perLayer = 16 + 64 + 64 + 32 + 32 + 3 * 96;
        long total = 88 + 88 + 8 + 2 * perLayer;
        assertEquals(total, m.parameterCount());
        assertEquals(total, m.trainableParameterCount());
        m.layers().get(0).freeze();
        assertEquals(total - perLayer, m.trainableParameterCount());
        m.unfreeze();
        assertEquals(total, m.trainableParameterCount());
    }

    @Test
    void trainEvalReachesChildren() {
        CausalLm m = tiny(1);
        m.eval();
        assertTrue(m.namedModules().values().stream().noneMatch(Module::isTraining));
        m.train(true);
        assertTrue(m.namedModules().values().stream().allMatch(Module::isTraining));
        Dropout d = new Dropout(0.5, 3);
        Tensor x = Tensor.ones(100);
        d.eval();
        assertArrayEquals(x.toFloatArray(), d.forward(x).toFloatArray());
    }

    @Test
    void loadStateDictCopiesValues() {
        CausalLm a = tiny(1), b = tiny(2);
        Tensor ids = Tensor.of(new long[] {1, 2, 3}, 1, 3);
        assertFalse(java.util.Arrays.equals(
                a.forward(ids).toFloatArray(), b.forward(ids).toFloatArray()));
        assertTrue(b.loadStateDict(a.stateDict(), true).isEmpty());
        assertArrayEquals(a.forward(ids).toFloatArray(), b.forward(ids).toFloatArray());
    }

    static final class WithBuffer extends Module {
        WithBuffer() {
            registerParameter("w", Tensor.ones(2));
            registerBuffer("running_mean", Tensor.zeros(2));
        }
    }

    @Test
    void buffersAreInTheStateDictButNotTrained() {
        WithBuffer m = new WithBuffer();
        assertEquals(List.of("w", "running_mean"), List.copyOf(m.stateDict().keySet()));
        assertEquals(2, m.parameterCount());
        assertFalse(m.namedBuffers().get("running_mean").requiresGrad());
        m.loadStateDict(Map.of("w", Tensor.of(3f, 4f), "running_mean", Tensor.of(0.5f, 0.25f)), true);
        assertArrayEquals(
                new float[] {0.5f, 0.25f}, m.namedBuffers().get("running_mean").toFloatArray());
        assertArrayEquals(new float[] {3f, 4f}, m.namedParameters().get("w").toFloatArray());
        assertTrue(m.namedParameters().get("w").requiresGrad(), "loading keeps a parameter trainable");
    }

    @Test
    void loadStateDictListsEveryProblem() {
        CausalLm m = tiny(1);
        Map<String, Tensor> sd = new HashMap<>(m.stateDict());
        sd.remove("model.norm.weight");
        sd.put("model.extra.weight", Tensor.zeros(3));
        sd.put("lm_head.weight", Tensor.zeros(11, 7));
        var e = assertThrows(IllegalArgumentException.class, () -> m.loadStateDict(sd, true));
        assertTrue(e.getMessage().contains("missing keys: [model.norm.weight]"), e.getMessage());
        assertTrue(e.getMessage().contains("unexpected keys: [model.extra.weight]"), e.getMessage());
        assertTrue(e.getMessage().contains("lm_head.weight: checkpoint [11, 7] vs model [11, 8]"), e.getMessage());
        sd.put("lm_head.weight", m.stateDict().get("lm_head.weight"));
        assertEquals(List.of("model.norm.weight"), m.loadStateDict(sd, false));
    }
}
