package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.GgufFile;
import dev.panthera.models.io.GgufValue;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.Weights;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * HuggingFace folders through {@code convert}: transformers' checkpoints (llama_fixtures.py) converted to an F32 GGUF
 * and read back by our GGUF loader give transformers' logits at all 40 prompt positions within
 * {@link HuggingFaceReferenceTest#TOL} (the same F32 arithmetic on the same weight values): GQA with the q/k rows
 * permuted to llama.cpp's adjacent pairs, llama3 RoPE scaling as llama.cpp's rope_freqs.weight divisors, linear
 * scaling as rope.scaling.type/factor, Mistral's sliding window as attention.sliding_window, and Qwen2 (arch qwen2:
 * q/k/v bias, rows kept in HF's half-split order). Dynamic NTK scaling is refused naming the field.
 */
class HfConvertLogitsTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"llama-gqa", "llama3-scaled", "llama-linear", "mistral-window", "qwen2-bias"})
    void convertedFolderGivesTransformersLogits(String name) throws Exception {
        Path dir = HuggingFaceReferenceTest.fixture(name), out = tmp.resolve(name + ".gguf");
        GgufConvert.convert(dir, null, GgmlType.F32, out);
        try (GgufFile g = GgufFile.open(out)) {
            if (name.equals("llama3-scaled")) {
                assertTrue(g.contains("rope_freqs.weight"), "llama3 scaling is written as rope_freqs");
                assertEquals(GgmlType.F32, g.info("rope_freqs.weight").type());
                assertFalse(g.metadata().containsKey("llama.rope.scaling.type"));
            } else if (name.equals("llama-linear")) {
                assertFalse(g.contains("rope_freqs.weight"));
                assertEquals(new GgufValue.Str("linear"), g.metadata().get("llama.rope.scaling.type"));
                assertEquals(new GgufValue.F32(2f), g.metadata().get("llama.rope.scaling.factor"));
            }
        }
        try (Weights ref = SafetensorsFile.open(dir.resolve("reference.safetensors"));
                LlamaModel m = LlamaModel.load(out)) {
            RopeScaling.Type want = switch (name) {
                case "llama3-scaled" -> RopeScaling.Type.FACTORS;
                case "llama-linear" -> RopeScaling.Type.LINEAR;
                default -> RopeScaling.Type.NONE;
            };
            assertEquals(want, m.config().ropeScaling().type());
            int[] ids = HuggingFaceReferenceTest.ints(ref.tensor("ids"));
            float[] expected = ref.tensor("logits").toFloatArray();
            float[] got = m.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            assertEquals(expected.length, got.length);
            double worst = 0;
            for (int i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - got[i]));
            System.out.println(name + " via GGUF: max |logit diff| vs transformers " + worst);
            assertTrue(worst <= HuggingFaceReferenceTest.TOL, name + ": max |logit diff| " + worst);
        }
    }

    @Test
    void dynamicScalingIsRefusedNamingTheField() {
        Path dir = HuggingFaceReferenceTest.fixture("llama-dynamic"), out = tmp.resolve("dynamic.gguf");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> GgufConvert.convert(dir, null, GgmlType.F16, out));
        assertTrue(e.getMessage().contains("rope_scaling.rope_type 'dynamic'"), e.getMessage());
        assertFalse(Files.exists(out));
    }
}
