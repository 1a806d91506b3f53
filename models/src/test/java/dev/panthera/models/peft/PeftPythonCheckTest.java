package dev.panthera.models.peft;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.nn.fixtures.LoraFixtures;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.Ia3Config;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.lora.PrefixTuning;
import dev.panthera.nn.lora.PromptTuning;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Runs peft itself as part of the suite, where a Python with peft is present: {@code peft_fixtures.py write} makes a
 * fresh set of peft adapters and reference logits in a temporary directory, we load every LoRA adapter from it and
 * compare logits (LoRA, DoRA, modules_to_save, patterns, (IA)³ with and without modules_to_save / exclude_modules, LLaMA-Adapter,
 * prompt tuning, prefix tuning with and without prefix_projection), write each back, and {@code peft_fixtures.py check} loads what we wrote with peft's
 * {@code PeftModel.from_pretrained} and compares peft's logits with ours (exit status 0 required).
 *
 * <p>The interpreter is {@code PANTHERA_PYTHON} when set, else {@code /work/venv-peft/bin/python} when it exists and
 * imports peft, torch and transformers; without one (CI has none) the test is skipped with a message saying so.
 */
class PeftPythonCheckTest {
    static final Path SCRIPT = Path.of("src/test/python/peft_fixtures.py");
    static final List<String> LORA_ADAPTERS = List.of("plain", "patterns", "select", "mts", "dora");

    static String python() {
        String env = System.getenv("PANTHERA_PYTHON");
        if (env != null && !env.isBlank()) return env;
        Path venv = Path.of("/work/venv-peft/bin/python");
        return Files.isExecutable(venv) && imports(venv.toString()) ? venv.toString() : null;
    }

    /** Whether {@code python} imports peft, torch and transformers (a venv made without peft does not count). */
    private static boolean imports(String python) {
        try {
            Process p = new ProcessBuilder(python, "-c", "import peft, torch, transformers")
                    .redirectErrorStream(true)
                    .start();
            p.getInputStream().readAllBytes();
            return p.waitFor(2, TimeUnit.MINUTES) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static String run(String python, Path workDir, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(
                List.of(python, SCRIPT.toAbsolutePath().toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true);
        pb.environment().put("PYTHONHASHSEED", "0");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "peft_fixtures.py " + args[0] + " timed out");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "peft_fixtures.py " + String.join(" ", args) + " failed:\n" + text);
        return text;
    }

    @Test
    void peftWritesAdaptersWeLoadAndLoadsTheOnesWeWrite() throws Exception {
        String python = python();
        Assumptions.assumeTrue(
                python != null,
                "skipped: no Python with peft (set PANTHERA_PYTHON, or create /work/venv-peft); CI has none");
        Path tmp = Files.createTempDirectory("peft-check");
        try {
            Path fresh = tmp.resolve("peft"), ours = tmp.resolve("ours");
            System.out.println(run(python, tmp, "write", fresh.toString()));
            Map<String, float[]> expected = new HashMap<>();
            Tensor ids;
            try (SafetensorsFile f = SafetensorsFile.open(fresh.resolve("expected.safetensors"))) {
                for (String k : f.names())
                    if (!k.equals("ids")) expected.put(k, f.tensor(k).toFloatArray());
                ids = Tensor.of(f.tensor("ids").toLongArray(), f.shape("ids"));
            }
            for (String name : LORA_ADAPTERS) {
                CausalLm m = base(fresh);
                LoraConfig c = AdapterFiles.load(fresh.resolve(name), m, "default");
                Tensor logits = m.forward(ids);
                PeftFixturesTest.close(expected.get(name), logits.toFloatArray(), name + " (fresh from peft)");
                Path out = ours.resolve(name);
                AdapterFiles.save(out, m, "default", c, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
                SafetensorsWriter.write(
                        out.resolve("panthera_logits.safetensors"),
                        Map.of("format", "pt"),
                        List.of(SafetensorsWriter.Item.of("ids", ids), SafetensorsWriter.Item.of("logits", logits)));
            }
            for (String name : List.of("ia3", "ia3x")) {
                CausalLm m = base(fresh);
                Ia3Config c = Ia3Files.load(fresh.resolve(name), m, "default", false);
                Tensor logits = m.forward(ids);
                PeftFixturesTest.close(expected.get(name), logits.toFloatArray(), name + " (fresh from peft)");
                Path out = ours.resolve(name);
                Ia3Files.save(out, m, "default", c, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
                SafetensorsWriter.write(
                        out.resolve("panthera_logits.safetensors"),
                        Map.of("format", "pt"),
                        List.of(SafetensorsWriter.Item.of("ids", ids), SafetensorsWriter.Item.of("logits", logits)));
            }
            {
                PromptTuning tuned = PromptTuningFiles.load(fresh.resolve("prompt"), base(fresh), false);
                Tensor logits = tuned.forward(ids);
                PeftFixturesTest.close(expected.get("prompt"), logits.toFloatArray(), "prompt (fresh from peft)");
                Path out = ours.resolve("prompt");
                PromptTuningFiles.save(out, tuned, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
                SafetensorsWriter.write(
                        out.resolve("panthera_logits.safetensors"),
                        Map.of("format", "pt"),
                        List.of(SafetensorsWriter.Item.of("ids", ids), SafetensorsWriter.Item.of("logits", logits)));
            }
            {
                CausalLm m = base(fresh);
                AdaptionPromptFiles.load(fresh.resolve("adaption"), m, false);
                Tensor logits = m.forward(ids);
                PeftFixturesTest.close(expected.get("adaption"), logits.toFloatArray(), "adaption (fresh from peft)");
                Path out = ours.resolve("adaption");
                AdaptionPromptFiles.save(out, m, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
                SafetensorsWriter.write(
                        out.resolve("panthera_logits.safetensors"),
                        Map.of("format", "pt"),
                        List.of(SafetensorsWriter.Item.of("ids", ids), SafetensorsWriter.Item.of("logits", logits)));
            }
            for (String name : List.of("prefix", "prefixproj")) {
                PrefixTuning tuned = PrefixTuningFiles.load(fresh.resolve(name), base(fresh), false);
                Tensor logits = tuned.forward(ids);
                PeftFixturesTest.close(expected.get(name), logits.toFloatArray(), name + " (fresh from peft)");
                Path out = ours.resolve(name);
                PrefixTuningFiles.save(out, tuned, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
                SafetensorsWriter.write(
                        out.resolve("panthera_logits.safetensors"),
                        Map.of("format", "pt"),
                        List.of(SafetensorsWriter.Item.of("ids", ids), SafetensorsWriter.Item.of("logits", logits)));
            }
            String report = run(python, tmp, "check", ours.toString());
            System.out.println(report);
            // ia3, ia3x, adaption, prompt, prefix and prefixproj beside the LoRA adapters
            assertTrue(report.contains((LORA_ADAPTERS.size() + 6) + " passed, 0 failed"), report);
        } finally {
            try (Stream<Path> all = Files.walk(tmp)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    static CausalLm base(Path dir) throws IOException {
        CausalLm m = LoraFixtures.model(0, 8, 2, 1);
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("base.safetensors"))) {
            Map<String, Tensor> sd = new HashMap<>();
            for (String k : f.names()) sd.put(k, f.tensor(k));
            m.loadStateDict(sd, true);
        }
        return m;
    }
}
