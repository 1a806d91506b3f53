package dev.panthera.models.peft;

import static dev.panthera.models.peft.PeftFixturesTest.FIXTURES;
import static dev.panthera.models.peft.PeftFixturesTest.WRITTEN;
import static dev.panthera.models.peft.PeftFixturesTest.base;
import static dev.panthera.models.peft.PeftFixturesTest.close;
import static dev.panthera.models.peft.PeftFixturesTest.expected;
import static dev.panthera.models.peft.PeftFixturesTest.fieldNames;
import static dev.panthera.models.peft.PeftFixturesTest.ids;
import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.Ia3;
import dev.panthera.nn.lora.Ia3Config;
import dev.panthera.nn.lora.Lora;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * (IA)³'s modules_to_save, exclude_modules, a regex feedforward_modules and fan_in_fan_out against peft 0.21: the
 * fixtures {@code ia3x} (written by peft) and {@code ia3fifo} (its files with fan_in_fan_out set to true, which peft
 * loads as false onto Linear targets, checked by {@code peft_fixtures.py write}) give peft's logits here, and what we
 * write back is what {@code peft_fixtures.py check} loads with peft.
 */
class PeftIa3OptionsTest {
    @Test
    void ia3WithModulesToSaveAndExcludeGivesPeftsLogits() throws IOException {
        CausalLm m = base();
        Tensor x = ids();
        Ia3Config c = Ia3Files.load(FIXTURES.resolve("ia3x"), m, "default", false);
        float[] want = expected().get("ia3x");
        close(want, m.forward(x).toFloatArray(), "ia3x logits vs peft");
        // layer 0's k_proj is excluded ("layers.0.self_attn.k_proj" ends its dotted name after a ".")
        assertEquals(
                new TreeSet<>(List.of(
                        "model.layers.0.self_attn.v_proj",
                        "model.layers.0.mlp.down_proj",
                        "model.layers.1.self_attn.k_proj",
                        "model.layers.1.self_attn.v_proj",
                        "model.layers.1.mlp.down_proj")),
                new TreeSet<>(Ia3.layers(m).keySet()));
        assertTrue(Ia3.layers(m).get("model.layers.1.mlp.down_proj").isFeedforward(), "regex .*mlp\\.down_proj");
        assertFalse(Ia3.layers(m).get("model.layers.1.self_attn.v_proj").isFeedforward());
        assertEquals(List.of("lm_head"), List.copyOf(Lora.savedModules(m).keySet()));
        assertEquals(0, m.trainableParameterCount(), "an inference load leaves nothing trainable");

        Path out = WRITTEN.resolve("ia3x");
        Ia3Files.save(out, m, "default", c, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
        SafetensorsWriter.write(
                out.resolve("panthera_logits.safetensors"),
                Map.of("format", "pt"),
                List.of(SafetensorsWriter.Item.of("ids", x), SafetensorsWriter.Item.of("logits", m.forward(x))));
        assertEquals(fieldNames(FIXTURES.resolve("ia3x")), fieldNames(out));
        String json = Files.readString(out.resolve(AdapterFiles.CONFIG));
        assertTrue(json.contains("\"exclude_modules\" : [ \"layers.0.self_attn.k_proj\" ]"), json);
        assertTrue(json.contains("\"modules_to_save\" : [ \"lm_head\" ]"), json);
        assertTrue(json.contains("\"feedforward_modules\" : \".*mlp\\\\.down_proj\""), json);

        CausalLm again = base();
        Ia3Files.load(out, again, "default", true);
        // k, v [4, 1] in layer 1, v in layer 0, down_proj [1, 11] in both, the lm_head copy [13, 8]
        assertEquals(3 * 4 + 2 * 11 + 13 * 8, again.trainableParameterCount());
        again.eval();
        assertArrayEquals(m.forward(x).toFloatArray(), again.forward(x).toFloatArray(), "ia3x reloaded");
        assertEquals(
                0,
                Lora.savedModules(again).get("lm_head").original().trainableParameterCount(),
                "the original lm_head stays frozen");
    }

    @Test
    void fanInFanOutTrueLoadsAsPeftLoadsItOntoLinearLayers() throws IOException {
        CausalLm m = base();
        Ia3Config c = Ia3Files.load(FIXTURES.resolve("ia3fifo"), m, "default", false);
        close(expected().get("ia3x"), m.forward(ids()).toFloatArray(), "ia3fifo logits vs peft's ia3x");
        Path dir = Files.createTempDirectory("ia3fifo");
        try {
            Ia3Files.save(dir, m, "default", c, AdapterConfigJson.Info.NONE);
            assertTrue(
                    Files.readString(dir.resolve(AdapterFiles.CONFIG)).contains("\"fan_in_fan_out\" : false"),
                    "written back as false, as peft saves it after turning it off");
        } finally {
            for (Path p : List.of(dir.resolve(AdapterFiles.WEIGHTS), dir.resolve(AdapterFiles.CONFIG), dir))
                Files.deleteIfExists(p);
        }
    }

    @Test
    void mergeAndUnloadPutsTheSavedCopyInPlace() throws IOException {
        CausalLm m = base();
        Tensor x = ids();
        Ia3Files.load(FIXTURES.resolve("ia3x"), m, "default", false);
        Ia3.mergeAndUnload(m);
        assertTrue(Ia3.layers(m).isEmpty() && Lora.savedModules(m).isEmpty(), "no wrapper is left");
        // merging rescales weights instead of activations: a few float32 roundings more than the adapter's forward
        close(expected().get("ia3x"), m.forward(x).toFloatArray(), "merged ia3x vs peft's adapter logits");
    }

    @Test
    void badFieldsAreNamed() throws IOException {
        Path dir = Files.createTempDirectory("ia3bad");
        try {
            Files.copy(FIXTURES.resolve("ia3x").resolve(AdapterFiles.WEIGHTS), dir.resolve(AdapterFiles.WEIGHTS));
            String json = Files.readString(FIXTURES.resolve("ia3x").resolve(AdapterFiles.CONFIG));
            for (String[] edit : List.of(
                    new String[] {"\"modules_to_save\": [\n    \"lm_head\"\n  ]", "\"modules_to_save\": \"lm_head\""},
                    new String[] {"\"fan_in_fan_out\": false", "\"fan_in_fan_out\": 1"},
                    new String[] {"\"exclude_modules\": [", "\"exclude_modules\": [ 3,"},
                    new String[] {"\"modules_to_save\": [\n    \"lm_head\"", "\"modules_to_save\": [\n    \"no_such\""
                    })) {
                assertTrue(json.contains(edit[0]), edit[0]);
                Files.writeString(dir.resolve(AdapterFiles.CONFIG), json.replace(edit[0], edit[1]));
                Exception e = assertThrows(Exception.class, () -> Ia3Files.load(dir, base(), "default", false));
                String field = edit[0].substring(1, edit[0].indexOf('"', 1));
                assertTrue(
                        e.getMessage().contains(field) || e.getMessage().contains("no_such"),
                        edit[1] + ": " + e.getMessage());
            }
        } finally {
            for (Path p : List.of(dir.resolve(AdapterFiles.WEIGHTS), dir.resolve(AdapterFiles.CONFIG), dir))
                Files.deleteIfExists(p);
        }
    }
}
