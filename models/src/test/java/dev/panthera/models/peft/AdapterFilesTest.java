package dev.panthera.models.peft;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.Lora;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.SizesFirst;
import dev.panthera.testing.Values;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import net.jqwik.api.*;
import org.junit.jupiter.api.Test;

/** Adapter directories as peft's {@code save_pretrained} writes them: round trips, config fields, bad files. */
class AdapterFilesTest {

    /** The base model's seed: the base weights are not in the adapter file, both sides of a round trip share them. */
    static final long BASE = 1;

    /** An adapter's rank, target set (q/v, a regex over o and the MLP, all linear) and rsLoRA flag. */
    record Shape(int r, int targets, boolean rs) {
        LoraConfig config() {
            return LoraFixtures.config(r, targets, rs, BASE);
        }

        /** The number of adapter weights (every targeted projection's A and B) on the fixture model. */
        int weights() {
            CausalLm m = LoraFixtures.model(BASE, 8, 2, 1);
            Lora.apply(m, config(), "default");
            return Lora.adapterStateDict(m, "default").values().stream()
                    .mapToInt(t -> Math.toIntExact(t.numel()))
                    .sum();
        }
    }

    /** A drawn adapter: its shape, its A and B weights in state-dict order, and two rows of three token ids. */
    record Case(Shape shape, List<Double> weights, List<Integer> ids) {}

    /**
     * The shape first, then (through {@link SizesFirst}, so a failure shrinks the shape before the values) as many
     * weights as that adapter has, N(0, 1) scaled by 0.1 when set, as {@link LoraFixtures#randomizeB} draws B.
     */
    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Shape> shapes = Combinators.combine(
                        Arbitraries.integers().between(1, 4),
                        Arbitraries.integers().between(0, 2),
                        Arbitraries.of(false, true))
                .as(Shape::new);
        return SizesFirst.flatMap(
                shapes,
                s -> Combinators.combine(
                                Values.normal().list().ofSize(s.weights()),
                                Arbitraries.integers().between(0, 12).list().ofSize(6))
                        .as((w, ids) -> new Case(s, w, ids)));
    }

    @Property(tries = 6)
    void adapterFileRoundTrips(@ForAll("cases") Case drawn) throws Exception {
        CausalLm a = LoraFixtures.model(BASE, 8, 2, 1), b = LoraFixtures.model(BASE, 8, 2, 1);
        LoraConfig c = drawn.shape().config();
        Lora.apply(a, c, "default");
        int at = 0;
        try (var ng = Autograd.noGrad()) {
            for (Tensor t : Lora.adapterStateDict(a, "default").values()) {
                float[] v = new float[Math.toIntExact(t.numel())];
                for (int i = 0; i < v.length; i++)
                    v[i] = (float) (0.1 * drawn.weights().get(at++));
                t.copy_(Tensor.of(v, t.dims()));
            }
        }
        assertEquals(drawn.weights().size(), at, "every drawn weight is used");
        long[] x = new long[6];
        for (int i = 0; i < x.length; i++) x[i] = drawn.ids().get(i);
        Path dir = Files.createTempDirectory("lora");
        try {
            AdapterFiles.save(dir, a, "default", c);
            LoraConfig back = AdapterFiles.load(dir, b, "default");
            assertEquals(c.r(), back.r());
            assertEquals(c.scaling(), back.scaling(), 1e-12);
            Map<String, Tensor> sa = Lora.adapterStateDict(a, "default"), sb = Lora.adapterStateDict(b, "default");
            assertEquals(sa.keySet(), sb.keySet());
            for (String k : sa.keySet())
                assertArrayEquals(sa.get(k).toFloatArray(), sb.get(k).toFloatArray(), k);
            Tensor ids = Tensor.of(x, 2, 3);
            assertArrayEquals(a.forward(ids).toFloatArray(), b.forward(ids).toFloatArray());
        } finally {
            for (Path p : List.of(dir.resolve(AdapterFiles.WEIGHTS), dir.resolve(AdapterFiles.CONFIG), dir))
                Files.deleteIfExists(p);
        }
    }

    @Test
    void adapterConfigIsPeftShapedAndBadFilesFailClearly() throws Exception {
        CausalLm m = LoraFixtures.model(1, 8, 2, 1);
        LoraConfig c = LoraConfig.of(4, 8, 0.05, List.of("v_proj", "q_proj")).withRsLora(true);
        Lora.apply(m, c, "default");
        Path dir = Files.createTempDirectory("lora");
        try {
            AdapterFiles.save(dir, m, "default", c);
            String json = Files.readString(dir.resolve(AdapterFiles.CONFIG));
            for (String field : List.of(
                    "\"peft_type\" : \"LORA\"",
                    "\"r\" : 4",
                    "\"lora_alpha\" : 8",
                    "\"use_rslora\" : true",
                    "\"q_proj\", \"v_proj\"")) {
                assertTrue(json.contains(field), field + " in " + json);
            }
            // a file from a model with different shapes is rejected with the key named
            CausalLm other = LoraFixtures.model(1, 12, 2, 1);
            var e = assertThrows(java.io.IOException.class, () -> AdapterFiles.load(dir, other, "default"));
            assertTrue(
                    e.getMessage()
                            .contains("size mismatch base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"),
                    e.getMessage());
            Files.writeString(dir.resolve(AdapterFiles.CONFIG), "{\"r\": 4, \"target_modules\": [\"q_proj\"");
            assertThrows(
                    java.io.IOException.class, () -> AdapterFiles.load(dir, LoraFixtures.model(1, 8, 2, 1), "default"));
            // peft's defaults fill what a config leaves out: r 8, lora_alpha 8, dropout 0
            Files.writeString(dir.resolve(AdapterFiles.CONFIG), "{\"target_modules\": [\"q_proj\"]}");
            LoraConfig d = AdapterFiles.readConfig(dir);
            assertEquals(8, d.r());
            assertEquals(8.0, d.alpha());
            assertEquals(0.0, d.dropout());
            // a feature this library does not implement is refused, naming it
            Files.writeString(
                    dir.resolve(AdapterFiles.CONFIG), "{\"target_modules\": [\"q_proj\"], \"lora_bias\": true}");
            var e2 = assertThrows(java.io.IOException.class, () -> AdapterFiles.readConfig(dir));
            assertTrue(e2.getMessage().contains("lora_bias"), e2.getMessage());
        } finally {
            for (Path p : List.of(dir.resolve(AdapterFiles.WEIGHTS), dir.resolve(AdapterFiles.CONFIG), dir))
                Files.deleteIfExists(p);
        }
    }

    /** peft's from_pretrained (is_trainable=False) puts the model in eval mode: LoRA dropout is off after loading. */
    @Test
    void loadingTurnsDropoutOffAndATrainableLoadKeepsTraining() throws Exception {
        CausalLm a = LoraFixtures.model(7, 8, 2, 1);
        LoraConfig c = LoraConfig.of(4, 8, 0.05, List.of("q_proj", "v_proj")).withSeed(7);
        Lora.apply(a, c, "default");
        LoraFixtures.randomizeB(a, "default", 7);
        Tensor x = LoraFixtures.ids(7, 6);
        a.eval();
        float[] expected = a.forward(x).toFloatArray();
        Path dir = Files.createTempDirectory("lora");
        try {
            AdapterFiles.save(dir, a, "default", c);
            CausalLm b = LoraFixtures.model(7, 8, 2, 1);
            AdapterFiles.load(dir, b, "default");
            for (int i = 0; i < 3; i++)
                assertArrayEquals(expected, b.forward(x).toFloatArray(), "inference after load, call " + i);
            for (var e : Lora.adapterStateDict(b, "default").entrySet())
                assertFalse(e.getValue().requiresGrad(), e.getKey() + " is frozen after an inference load");

            CausalLm t = LoraFixtures.model(7, 8, 2, 1);
            AdapterFiles.load(dir, t, "default", true);
            assertTrue(t.isTraining());
            for (var e : Lora.adapterStateDict(t, "default").entrySet())
                assertTrue(e.getValue().requiresGrad(), e.getKey() + " trains after a trainable load");
            assertFalse(java.util.Arrays.equals(expected, t.forward(x).toFloatArray()), "dropout 0.05 is on");
            t.eval();
            assertArrayEquals(expected, t.forward(x).toFloatArray());
        } finally {
            for (Path p : List.of(dir.resolve(AdapterFiles.WEIGHTS), dir.resolve(AdapterFiles.CONFIG), dir))
                Files.deleteIfExists(p);
        }
    }
}
