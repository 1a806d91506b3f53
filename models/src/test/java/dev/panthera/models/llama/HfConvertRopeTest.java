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
 * RoPE scaling through {@code convert}: transformers' llama3-scaled and linear-scaled checkpoints
 * (llama_fixtures.py) converted to GGUF and read back by our GGUF loader give transformers' logits at all 40 prompt
 * positions (llama3 as llama.cpp's rope_freqs.weight divisors, linear as rope.scaling.type/factor), within
 * {@link HuggingFaceReferenceTest#TOL} (the same F32 arithmetic; the GGUF holds the same weight values in F32, the q/k
 * rows permuted). Dynamic NTK scaling is refused naming the field.
 */
class HfConvertRopeTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"llama3-scaled", "llama-linear"})
    void convertedScalingGivesTransformersLogits(String name) throws Exception {
        Path dir = HuggingFaceReferenceTest.fixture(name), out = tmp.resolve(name + ".gguf");
        GgufConvert.convert(dir, null, GgmlType.F32, out);
        try (GgufFile g = GgufFile.open(out)) {
            if (name.equals("llama3-scaled")) {
                assertTrue(g.contains("rope_freqs.weight"), "llama3 scaling is written as rope_freqs");
                assertEquals(GgmlType.F32, g.info("rope_freqs.weight").type());
                assertFalse(g.metadata().containsKey("llama.rope.scaling.type"));
            } else {
                assertFalse(g.contains("rope_freqs.weight"));
                assertEquals(new GgufValue.Str("linear"), g.metadata().get("llama.rope.scaling.type"));
                assertEquals(new GgufValue.F32(2f), g.metadata().get("llama.rope.scaling.factor"));
            }
        }
        try (Weights ref = SafetensorsFile.open(dir.resolve("reference.safetensors"));
                LlamaModel m = LlamaModel.load(out)) {
            RopeScaling.Type want = name.equals("llama3-scaled") ? RopeScaling.Type.FACTORS : RopeScaling.Type.LINEAR;
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
