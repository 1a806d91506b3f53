package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.nn.lora.PrefixTuning;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Prefix tuning: the prefix acts exactly as V cached positions (checked against the model's own KV cache filled with
 * the same keys and values), only the table trains and training it lowers a loss. peft's outputs are checked in models'
 * PeftFixturesTest.
 */
class PrefixTuningTest {
    @Test
    void prefixActsAsCachedPositionsAndAloneTrains() {
        CausalLm base = LoraFixtures.model(3, 8, 2, 1);
        Tensor ids = LoraFixtures.ids(4, 5);
        PrefixTuning tuned = new PrefixTuning(base, 3, 9);
        assertEquals(
                List.of(3L, 2L * 2 * 4),
                List.of(tuned.prompt().size(0), tuned.prompt().size(1)));
        Tensor logits = tuned.forward(ids);
        // the same prefix put into a KV cache by hand: layer i's keys are entry 2i, its values 2i + 1
        KvCache cache = base.newCache(16);
        try (var _ = Autograd.noGrad()) {
            Tensor kvs = tuned.prompt().reshape(3, 4, 1, 4).permute(1, 2, 0, 3);
            for (int i = 0; i < 2; i++)
                cache.append(
                        i,
                        kvs.select(0, 2L * i).unsqueeze(0).expand(2, 1, 3, 4).contiguous(),
                        kvs.select(0, 2L * i + 1)
                                .unsqueeze(0)
                                .expand(2, 1, 3, 4)
                                .contiguous());
        }
        float[] viaCache = base.forward(ids, 3, cache).toFloatArray();
        float[] got = logits.toFloatArray();
        for (int i = 0; i < got.length; i++) assertEquals(viaCache[i], got[i], 1e-5 * (1 + Math.abs(viaCache[i])));
        assertEquals(List.of(tuned.prompt()), tuned.trainableParameters());

        Tensor targets = LoraFixtures.ids(5, 5);
        AdamW opt = new AdamW(tuned.trainableParameters(), 0.05, 0.9, 0.999, 1e-8, 0);
        double first = 0, last = 0;
        for (int step = 0; step < 30; step++) {
            try (var scope = MemoryScope.open()) {
                Tensor loss = Losses.crossEntropy(tuned.forward(ids), targets);
                if (step == 0) first = loss.item();
                last = loss.item();
                opt.zeroGrad();
                loss.backward();
                opt.step();
            }
        }
        assertTrue(last < first - 0.1, "training the prefix lowers the loss: " + first + " -> " + last);
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> base.layers().get(0).attention().setPrefix(Tensor.zeros(1, 2, 3, 4), Tensor.zeros(1, 2, 3, 4)));
        assertTrue(e.getMessage().contains("setPrefix"), e.getMessage());
    }

    /**
     * Generation with a KV cache after the prefix: a 3-token prompt, then one token at a time, gives the rows of one
     * forward over all 5 tokens (the same bound as above: only the GEMM shapes, and so the summation order, differ).
     */
    @Test
    void cachedStepsAfterThePrefixEqualTheFullForward() {
        CausalLm base = LoraFixtures.model(3, 8, 2, 1);
        Tensor ids = LoraFixtures.ids(4, 5); // [2, 5]
        PrefixTuning tuned = new PrefixTuning(base, 3, 9);
        try (var _ = Autograd.noGrad()) {
            float[] full = tuned.forward(ids).toFloatArray();
            long v = full.length / (2 * 5);
            KvCache cache = base.newCache(16);
            float[][] steps = new float[5][];
            Tensor first = tuned.forward(ids.narrow(1, 0, 3).contiguous(), cache);
            for (int t = 0; t < 3; t++)
                steps[t] = first.narrow(1, t, 1).contiguous().toFloatArray();
            for (int t = 3; t < 5; t++)
                steps[t] =
                        tuned.forward(ids.narrow(1, t, 1).contiguous(), cache).toFloatArray();
            assertEquals(5, cache.length(0), "the cache holds the real tokens only");
            for (int t = 0; t < 5; t++)
                for (int b = 0; b < 2; b++)
                    for (int j = 0; j < v; j++) {
                        float want = full[(int) ((b * 5 + t) * v + j)], got = steps[t][(int) (b * v + j)];
                        assertEquals(
                                want, got, 1e-5 * (1 + Math.abs(want)), "row " + b + " position " + t + " id " + j);
                    }
            var e = assertThrows(IllegalArgumentException.class, () -> base.forward(ids, 0, cache));
            assertTrue(e.getMessage().contains("cache holds"), e.getMessage());
        }
    }

    /**
     * prefix_projection: the table is the MLP's output for the virtual tokens, the embedding and the MLP are what
     * trains (the base stays frozen), and training them lowers a loss. peft's values are checked in models'
     * PeftPromptOptionsTest.
     */
    @Test
    void projectionTrainsTheEncoderOnly() {
        CausalLm base = LoraFixtures.model(3, 8, 2, 1);
        Tensor ids = LoraFixtures.ids(4, 5);
        PrefixTuning tuned = new PrefixTuning(base, 3, 6, 9);
        assertTrue(tuned.prefixProjection());
        var p = tuned.namedParameters();
        assertEquals(
                List.of(
                        "embedding.weight",
                        "transform.0.weight",
                        "transform.0.bias",
                        "transform.2.weight",
                        "transform.2.bias"),
                tuned.trainableParameters().stream()
                        .map(t -> p.entrySet().stream()
                                .filter(e -> e.getValue() == t)
                                .findFirst()
                                .orElseThrow()
                                .getKey())
                        .toList());
        try (var _ = Autograd.noGrad()) {
            Tensor e = p.get("embedding.weight");
            Tensor byHand = e.matmul(p.get("transform.0.weight").t())
                    .add(p.get("transform.0.bias"))
                    .tanh()
                    .matmul(p.get("transform.2.weight").t())
                    .add(p.get("transform.2.bias"));
            assertArrayEquals(new long[] {3, 2 * 2 * 4}, tuned.prompt().dims());
            float[] want = byHand.toFloatArray(), got = tuned.prompt().toFloatArray();
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-6 * (1 + Math.abs(want[i])));
        }
        Tensor targets = LoraFixtures.ids(5, 5);
        float[] frozen = base.namedParameters().get("lm_head.weight").toFloatArray();
        AdamW opt = new AdamW(tuned.trainableParameters(), 0.05, 0.9, 0.999, 1e-8, 0);
        double first = 0, last = 0;
        for (int step = 0; step < 30; step++) {
            try (var scope = MemoryScope.open()) {
                Tensor loss = Losses.crossEntropy(tuned.forward(ids), targets);
                if (step == 0) first = loss.item();
                last = loss.item();
                opt.zeroGrad();
                loss.backward();
                opt.step();
            }
        }
        assertTrue(last < first - 0.1, "training the projection lowers the loss: " + first + " -> " + last);
        assertArrayEquals(frozen, base.namedParameters().get("lm_head.weight").toFloatArray(), "the base is frozen");
        PrefixTuning fixed = PrefixTuning.ofTable(base, tuned.prompt().detach(), true, 6);
        assertEquals(0, fixed.trainableParameterCount(), "a saved projection comes back as a frozen table");
        var e = assertThrows(
                IllegalArgumentException.class, () -> PrefixTuning.ofTable(base, Tensor.zeros(3, 15), true, 6));
        assertTrue(e.getMessage().contains("[3, 16]"), e.getMessage());
    }
}
