package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.GptqCheckpoint;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.quant.gptq.GptqConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GPTQ output of a real (fixture) model written in the checkpoint layout and read back unchanged. */
class GptqExportTest {
    @TempDir
    Path tmp;

    @Test
    void gptqLayersSurviveTheCheckpointRoundTrip() throws Exception {
        try (LlamaModel m = LlamaModel.load(HuggingFaceReferenceTest.fixture("llama-gqa"))) {
            GptqConfig cfg = GptqConfig.of(4, 32, true, true);
            var layers = LlamaQuantizer.quantize(
                    m, LlamaQuantizerTest.seqs(2, 24, m.config().vocab(), 21), LlamaQuantizer.Method.GPTQ, cfg, 0);
            Map<String, GptqCheckpoint.Linear> linears = new LinkedHashMap<>();
            layers.forEach((name, l) -> linears.put(
                    name.substring(0, name.length() - ".weight".length()), new GptqCheckpoint.Linear(l.dense(), null)));
            var qc = new GptqCheckpoint.QuantConfig(4, 32, true, true);
            Path dir = Files.createDirectory(tmp.resolve("gptq"));
            GptqCheckpoint.write(dir.resolve("model.safetensors"), qc, linears, List.of());
            Files.writeString(dir.resolve("config.json"), "{\"quantization_config\": " + qc.json(0.01) + "}");
            assertEquals(qc, GptqCheckpoint.readConfig(dir.resolve("config.json")));
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
                var back = GptqCheckpoint.read(f, qc);
                assertEquals(linears.keySet(), back.keySet());
                for (var e : linears.entrySet()) {
                    var a = e.getValue().weight();
                    var b = back.get(e.getKey()).weight(); // named by its prefix in the file
                    assertEquals(
                            List.of(a.out(), a.in(), a.bits(), a.groupSize(), a.sym()),
                            List.of(b.out(), b.in(), b.bits(), b.groupSize(), b.sym()),
                            e.getKey());
                    assertArrayEquals(a.q(), b.q(), e.getKey());
                    assertArrayEquals(a.scales(), b.scales(), e.getKey());
                    assertArrayEquals(a.zeros(), b.zeros(), e.getKey());
                    assertArrayEquals(a.gIdx(), b.gIdx(), e.getKey());
                }
            }
        }
    }
}
