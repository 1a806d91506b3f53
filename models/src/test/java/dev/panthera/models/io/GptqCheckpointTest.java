package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.gptq.GptqWeight;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GPTQ checkpoints made by gptq_checkpoint_fixture.py, which packs with AutoGPTQ's documented pack loops (numpy) and
 * dequantizes with transformers' v1 formula: our reader must give its q, zero points (stored + 1) and float32 weights
 * exactly, and our writer, given the decoded layers, must give its tensors byte for byte (so the fixture's decoder reads
 * ours as it reads its own).
 */
class GptqCheckpointTest {
    @TempDir
    Path tmp;

    static Path fixture(String name) {
        return Path.of("src", "test", "resources", "gptq", name).toAbsolutePath();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gptq-4bit-g32-act", "gptq-3bit-g64", "gptq-2bit-row", "gptq-8bit-g128-act"})
    void readsThePythonCheckpointAndWritesItByteForByte(String name) throws Exception {
        Path dir = fixture(name);
        var cfg = GptqCheckpoint.readConfig(dir.resolve("config.json"));
        Map<String, GptqCheckpoint.Linear> layers;
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"));
                SafetensorsFile e = SafetensorsFile.open(dir.resolve("expected.safetensors"))) {
            layers = GptqCheckpoint.read(f, cfg);
            assertFalse(layers.isEmpty());
            for (var l : layers.entrySet()) {
                String p = l.getKey();
                GptqWeight w = l.getValue().weight();
                assertEquals(cfg.bits(), w.bits());
                int[] q = e.tensor(p + ".q").toIntArray(); // [in, out]
                for (int c = 0; c < w.in(); c++) {
                    for (int r = 0; r < w.out(); r++)
                        assertEquals(q[c * w.out() + r], w.q(r, c), p + " q " + r + "," + c);
                }
                assertArrayEquals(e.tensor(p + ".zeros").toIntArray(), w.zeros(), p + " zeros");
                assertArrayEquals(e.tensor(p + ".dequant").toFloatArray(), w.dequantize(), p + " dequantized");
                if (f.contains(p + ".bias"))
                    assertArrayEquals(
                            f.tensor(p + ".bias")
                                    .to(dev.panthera.tensor.DType.F32)
                                    .toFloatArray(),
                            l.getValue().bias());
                else assertNull(l.getValue().bias());
            }
            Path ours = tmp.resolve("ours.safetensors");
            GptqCheckpoint.write(ours, cfg, layers, List.of());
            try (SafetensorsFile o = SafetensorsFile.open(ours)) {
                assertEquals(f.names().size(), o.names().size());
                for (String t : f.names()) {
                    assertEquals(f.entry(t).dtype(), o.entry(t).dtype(), t);
                    assertArrayEquals(f.entry(t).shape(), o.entry(t).shape(), t);
                    assertArrayEquals(
                            f.bytes(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                            o.bytes(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                            t + " bytes");
                }
            }
        }
        // the config we write reads back as the same
        Path c2 = tmp.resolve("config.json");
        Files.writeString(c2, "{\"model_type\": \"llama\", \"quantization_config\": " + cfg.json(0.01) + "}");
        assertEquals(cfg, GptqCheckpoint.readConfig(c2));
    }

    @Test
    void badCheckpointsAreNamed() throws Exception {
        Path c = tmp.resolve("config.json");
        Files.writeString(
                c, "{\"quantization_config\": {\"quant_method\": \"awq\", \"bits\": 4, \"group_size\": 128}}");
        var e = assertThrows(ModelFormatException.class, () -> GptqCheckpoint.readConfig(c));
        assertTrue(e.getMessage().contains("awq"), e.getMessage());
        Files.writeString(
                c,
                "{\"quantization_config\": {\"quant_method\": \"gptq\", \"checkpoint_format\": \"marlin\","
                        + " \"bits\": 4, \"group_size\": 128}}");
        e = assertThrows(ModelFormatException.class, () -> GptqCheckpoint.readConfig(c));
        assertTrue(e.getMessage().contains("marlin"), e.getMessage());
        Files.writeString(c, "{\"hidden_size\": 8}");
        e = assertThrows(ModelFormatException.class, () -> GptqCheckpoint.readConfig(c));
        assertTrue(e.getMessage().contains("quantization_config"), e.getMessage());

        // a g_idx one entry short no longer fits qweight's rows: named by tensor
        Path dir = fixture("gptq-4bit-g32-act");
        var cfg = GptqCheckpoint.readConfig(dir.resolve("config.json"));
        Map<String, SafetensorsWriter.Item> items = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            for (var en : f.entries()) {
                var bytes = f.bytes(en.name());
                long[] shape = en.shape();
                if (en.name().endsWith("q_proj.g_idx")) {
                    bytes = bytes.asSlice(0, bytes.byteSize() - 4);
                    shape = new long[] {shape[0] - 1};
                }
                var copy =
                        java.lang.foreign.MemorySegment.ofArray(bytes.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                items.put(en.name(), new SafetensorsWriter.Item(en.name(), en.dtype(), shape, copy));
            }
        }
        Path bad = tmp.resolve("bad.safetensors");
        SafetensorsWriter.write(bad, Map.of(), List.copyOf(items.values()));
        try (SafetensorsFile f = SafetensorsFile.open(bad)) {
            e = assertThrows(ModelFormatException.class, () -> GptqCheckpoint.read(f, cfg));
            assertTrue(e.getMessage().contains("q_proj.qweight"), e.getMessage());
        }
        // the wrong bits for the file: qweight rows do not match
        var wrong = new GptqCheckpoint.QuantConfig(8, 32, true, false);
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            e = assertThrows(ModelFormatException.class, () -> GptqCheckpoint.read(f, wrong));
            assertTrue(e.getMessage().contains("qweight"), e.getMessage());
        }
    }
}
