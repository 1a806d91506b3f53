package dev.panthera.models.peft;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.Ia3;
import dev.panthera.nn.lora.Ia3Config;
import dev.panthera.nn.lora.Lora;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.lora.LoraLinear;
import dev.panthera.nn.lora.PrefixTuning;
import dev.panthera.nn.lora.PromptTuning;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Adapters written by peft 0.21 ({@code src/test/python/peft_fixtures.py write src/test/resources/peft}) load here and
 * give peft's logits; the adapters we write back go to {@code target/peft-written}, where
 * {@code peft_fixtures.py check target/peft-written} loads them with peft's {@code PeftModel.from_pretrained}.
 */
class PeftFixturesTest {
    static final Path FIXTURES = Path.of("src/test/resources/peft");
    static final Path WRITTEN = Path.of("target/peft-written");

    /** The fixture's random LlamaForCausalLM as our CausalLm (same shape as the script's LlamaConfig). */
    static CausalLm base() throws IOException {
        CausalLm m = LoraFixtures.model(0, 8, 2, 1);
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURES.resolve("base.safetensors"))) {
            Map<String, Tensor> sd = new HashMap<>();
            for (String k : f.names()) sd.put(k, f.tensor(k));
            m.loadStateDict(sd, true);
        }
        return m;
    }

    static Map<String, float[]> expected() throws IOException {
        Map<String, float[]> out = new HashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURES.resolve("expected.safetensors"))) {
            for (String k : f.names())
                if (!k.equals("ids")) out.put(k, f.tensor(k).toFloatArray());
        }
        return out;
    }

    static Tensor ids() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURES.resolve("expected.safetensors"))) {
            return Tensor.of(f.tensor("ids").toLongArray(), f.shape("ids"));
        }
    }

    static void close(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++)
            assertEquals(expected[i], actual[i], 2e-5 + 1e-5 * Math.abs(expected[i]), what + " element " + i);
    }

    @Test
    void baseModelMatchesTransformers() throws IOException {
        close(expected().get("base"), base().forward(ids()).toFloatArray(), "base logits vs transformers");
    }

    @ParameterizedTest
    @ValueSource(strings = {"plain", "patterns", "select", "mts", "dora"})
    void peftAdapterLoadsAndGivesPeftsLogits(String name) throws IOException {
        CausalLm m = base();
        Tensor x = ids();
        float[] base = m.forward(x).toFloatArray();
        LoraConfig c = AdapterFiles.load(FIXTURES.resolve(name), m, "default");
        float[] want = expected().get(name);
        assertFalse(java.util.Arrays.equals(base, want), "the fixture adapter changes the logits");
        close(want, m.forward(x).toFloatArray(), name + " logits vs peft");
        close(want, m.forward(x).toFloatArray(), name + " logits vs peft, second forward");

        // write it back; peft_fixtures.py check loads what we wrote with PeftModel.from_pretrained
        Path out = WRITTEN.resolve(name);
        AdapterFiles.save(out, m, "default", c, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
        SafetensorsWriter.write(
                out.resolve("panthera_logits.safetensors"),
                Map.of("format", "pt"),
                List.of(SafetensorsWriter.Item.of("ids", x), SafetensorsWriter.Item.of("logits", m.forward(x))));
        CausalLm again = base();
        AdapterFiles.load(out, again, "default");
        assertArrayEquals(m.forward(x).toFloatArray(), again.forward(x).toFloatArray(), name + " reloaded");
    }

    @Test
    void peftAdaptionPromptLoadsAndGivesPeftsLogits() throws IOException {
        CausalLm m = base();
        Tensor x = ids();
        assertArrayEquals(new int[] {2, 3}, AdaptionPromptFiles.load(FIXTURES.resolve("adaption"), m, false));
        float[] want = expected().get("adaption");
        assertFalse(java.util.Arrays.equals(expected().get("base"), want), "the fixture's gates are open");
        close(want, m.forward(x).toFloatArray(), "adaption prompt logits vs peft");
        for (Tensor t : m.trainableParameters()) fail("an inference load leaves nothing trainable");

        Path out = WRITTEN.resolve("adaption");
        AdaptionPromptFiles.save(out, m, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
        SafetensorsWriter.write(
                out.resolve("panthera_logits.safetensors"),
                Map.of("format", "pt"),
                List.of(SafetensorsWriter.Item.of("ids", x), SafetensorsWriter.Item.of("logits", m.forward(x))));
        assertEquals(fieldNames(FIXTURES.resolve("adaption")), fieldNames(out));
        CausalLm again = base();
        AdaptionPromptFiles.load(out, again, true);
        assertEquals(2 * (3 * 8 + 1), again.trainableParameterCount());
        again.eval();
        assertArrayEquals(m.forward(x).toFloatArray(), again.forward(x).toFloatArray(), "adaption reloaded");
    }

    @Test
    void peftIa3LoadsAndGivesPeftsLogits() throws IOException {
        CausalLm m = base();
        Tensor x = ids();
        Ia3Config c = Ia3Files.load(FIXTURES.resolve("ia3"), m, "default", false);
        float[] want = expected().get("ia3");
        assertFalse(java.util.Arrays.equals(expected().get("base"), want), "the fixture's vectors are not ones");
        close(want, m.forward(x).toFloatArray(), "ia3 logits vs peft");
        assertEquals(0, m.trainableParameterCount(), "an inference load leaves nothing trainable");
        assertTrue(Ia3.layers(m).get("model.layers.0.mlp.down_proj").isFeedforward());
        assertFalse(Ia3.layers(m).get("model.layers.0.self_attn.k_proj").isFeedforward());

        Path out = WRITTEN.resolve("ia3");
        Ia3Files.save(out, m, "default", c, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
        SafetensorsWriter.write(
                out.resolve("panthera_logits.safetensors"),
                Map.of("format", "pt"),
                List.of(SafetensorsWriter.Item.of("ids", x), SafetensorsWriter.Item.of("logits", m.forward(x))));
        assertEquals(fieldNames(FIXTURES.resolve("ia3")), fieldNames(out));
        CausalLm again = base();
        Ia3Files.load(out, again, "default", true);
        assertEquals(2 * (4 + 4 + 11), again.trainableParameterCount(), "k, v [4, 1] and down_proj [1, 11] per layer");
        again.eval();
        assertArrayEquals(m.forward(x).toFloatArray(), again.forward(x).toFloatArray(), "ia3 reloaded");
    }

    @Test
    void peftPromptTuningLoadsAndGivesPeftsLogits() throws IOException {
        Tensor x = ids();
        PromptTuning tuned = PromptTuningFiles.load(FIXTURES.resolve("prompt"), base(), false);
        float[] want = expected().get("prompt");
        Tensor logits = tuned.forward(x);
        assertArrayEquals(new long[] {2, 3 + 5, 13}, logits.dims(), "logits cover the 3 virtual and 5 real positions");
        close(want, logits.toFloatArray(), "prompt tuning logits vs peft");
        assertEquals(0, tuned.trainableParameterCount(), "an inference load leaves nothing trainable");

        Path out = WRITTEN.resolve("prompt");
        PromptTuningFiles.save(out, tuned, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
        SafetensorsWriter.write(
                out.resolve("panthera_logits.safetensors"),
                Map.of("format", "pt"),
                List.of(SafetensorsWriter.Item.of("ids", x), SafetensorsWriter.Item.of("logits", logits)));
        assertEquals(fieldNames(FIXTURES.resolve("prompt")), fieldNames(out));
        PromptTuning again = PromptTuningFiles.load(out, base(), true);
        assertEquals(3 * 8, again.trainableParameterCount(), "only the prompt trains");
        again.eval();
        assertArrayEquals(logits.toFloatArray(), again.forward(x).toFloatArray(), "prompt reloaded");
    }

    @Test
    void peftPrefixTuningLoadsAndGivesPeftsLogits() throws IOException {
        Tensor x = ids();
        PrefixTuning tuned = PrefixTuningFiles.load(FIXTURES.resolve("prefix"), base(), false);
        float[] want = expected().get("prefix");
        assertFalse(java.util.Arrays.equals(expected().get("base"), want), "the prefix changes the logits");
        Tensor logits = tuned.forward(x);
        assertArrayEquals(new long[] {2, 5, 13}, logits.dims(), "logits cover the real tokens only");
        close(want, logits.toFloatArray(), "prefix tuning logits vs peft");
        assertEquals(0, tuned.trainableParameterCount(), "an inference load leaves nothing trainable");

        Path out = WRITTEN.resolve("prefix");
        PrefixTuningFiles.save(out, tuned, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
        SafetensorsWriter.write(
                out.resolve("panthera_logits.safetensors"),
                Map.of("format", "pt"),
                List.of(SafetensorsWriter.Item.of("ids", x), SafetensorsWriter.Item.of("logits", logits)));
        assertEquals(fieldNames(FIXTURES.resolve("prefix")), fieldNames(out));
        PrefixTuning again = PrefixTuningFiles.load(out, base(), true);
        assertEquals(3 * 2 * 2 * 4, again.trainableParameterCount(), "3 tokens × 2 layers × (key, value) × 4");
        again.eval();
        assertArrayEquals(logits.toFloatArray(), again.forward(x).toFloatArray(), "prefix reloaded");
        close(expected().get("base"), again.base().forward(x).toFloatArray(), "the prefix is removed after forward");
    }

    @Test
    void patternsGiveEachModuleItsRankAndScaling() throws IOException {
        CausalLm m = base();
        AdapterFiles.load(FIXTURES.resolve("patterns"), m, "default");
        // the fixture's config: r 2, α 4, rank_pattern {o_proj: 3, layers.1.mlp.down_proj: 1},
        // alpha_pattern {model.layers.0.self_attn.v_proj: 1, q_proj: 16, v_proj: 5} (peft writes keys sorted)
        Map<String, double[]> want = Map.of(
                "model.layers.0.self_attn.q_proj", new double[] {2, 16 / 2.0},
                "model.layers.0.self_attn.v_proj", new double[] {2, 1 / 2.0},
                "model.layers.1.self_attn.v_proj", new double[] {2, 5 / 2.0},
                "model.layers.0.self_attn.o_proj", new double[] {3, 4 / 3.0},
                "model.layers.0.mlp.down_proj", new double[] {2, 4 / 2.0},
                "model.layers.1.mlp.down_proj", new double[] {1, 4 / 1.0});
        for (var e : want.entrySet()) {
            LoraLinear l = Lora.layers(m).get(e.getKey());
            assertEquals((long) e.getValue()[0], l.loraA("default").weight().size(0), e.getKey() + " rank");
            assertEquals(e.getValue()[1], l.scaling("default"), 1e-12, e.getKey() + " scaling");
        }
    }

    @Test
    void selectAdaptsOnlyLayerOneAndSkipsExcludedModules() throws IOException {
        CausalLm m = base();
        AdapterFiles.load(FIXTURES.resolve("select"), m, "default");
        assertEquals(
                new TreeSet<>(List.of(
                        "model.layers.1.self_attn.q_proj",
                        "model.layers.1.self_attn.v_proj",
                        "model.layers.1.mlp.up_proj",
                        "model.layers.1.mlp.down_proj")),
                new TreeSet<>(Lora.layers(m).keySet()));
    }

    @Test
    void writtenConfigHasEveryFieldPeftWrites() throws IOException {
        Path dir = Files.createTempDirectory("lora");
        try {
            CausalLm m = base();
            LoraConfig c = AdapterFiles.load(FIXTURES.resolve("plain"), m, "default");
            AdapterFiles.save(dir, m, "default", c);
            assertEquals(fieldNames(FIXTURES.resolve("plain")), fieldNames(dir));
        } finally {
            for (Path p : List.of(dir.resolve(AdapterFiles.WEIGHTS), dir.resolve(AdapterFiles.CONFIG), dir))
                Files.deleteIfExists(p);
        }
    }

    /** Top-level field names of an adapter_config.json, read with a plain regex rather than our reader. */
    static TreeSet<String> fieldNames(Path dir) throws IOException {
        TreeSet<String> out = new TreeSet<>();
        var m = java.util.regex.Pattern.compile("(?m)^  \"([a-z_]+)\" ?:")
                .matcher(Files.readString(dir.resolve(AdapterFiles.CONFIG)));
        while (m.find()) out.add(m.group(1));
        return out;
    }
}
