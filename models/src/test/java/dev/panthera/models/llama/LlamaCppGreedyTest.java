package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.ModelParameters;
import dev.panthera.models.io.Llama2cCheckpoint;
import dev.panthera.models.io.Llama2cToGguf;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * stories260K (../shared/data) converted to GGUF by {@link Llama2cToGguf}: 64 greedy tokens after BOS from our
 * model on that GGUF equal llama.cpp's (de.kherud:llama 4.2.0, temperature 0), compared as llama.cpp's own
 * detokenization of our ids; and the same weights read from the llama2.c file give the GGUF path's logits.
 */
public class LlamaCppGreedyTest {
    @TempDir
    Path dir;

    public static Path data(String name) {
        return Path.of("..", "..", "shared", "data", name).toAbsolutePath().normalize();
    }

    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"F32", "F16"})
    void greedyTokensMatchLlamaCpp(GgmlType type) throws Exception {
        Path bin = data("stories260K.bin");
        Assumptions.assumeTrue(Files.exists(bin), "skipped: " + bin + " is absent");
        Path gguf = dir.resolve("stories260K-" + type + ".gguf");
        try (Llama2cCheckpoint c = Llama2cCheckpoint.open(bin)) {
            Llama2cToGguf.convert(c, type, gguf);
        }
        int[] ours;
        try (LlamaModel m = LlamaModel.load(gguf)) {
            assertTrue(m.config().interleavedRope());
            var r = new Generator(m)
                    .generate(new int[0], SamplingParams.greedy(64).withIgnoreEos(true), null);
            ours = r.tokens();
        }
        assertEquals(64, ours.length);
        try (var ll = new de.kherud.llama.LlamaModel(new ModelParameters()
                .setModel(gguf.toString())
                .setCtxSize(128)
                .setThreads(1)
                .skipWarmup())) {
            String theirs = ll.complete(new InferenceParameters("")
                    .setTemperature(0)
                    .setNPredict(64)
                    .setIgnoreEos(true)
                    .setSeed(1));
            String want = ll.decode(ours);
            System.out.println(type + " llama.cpp: " + theirs);
            assertFalse(want.isBlank());
            assertEquals(theirs, want, type + ": our greedy ids " + java.util.Arrays.toString(ours));
        }
    }

    @org.junit.jupiter.api.Test
    void llama2cAndGgufGiveTheSameLogits() throws Exception {
        Path bin = data("stories260K.bin");
        Assumptions.assumeTrue(Files.exists(bin), "skipped: " + bin + " is absent");
        Path gguf = dir.resolve("s.gguf");
        try (Llama2cCheckpoint c = Llama2cCheckpoint.open(bin)) {
            Llama2cToGguf.convert(c, GgmlType.F32, gguf);
        }
        int[] ids = new int[40];
        ids[0] = 1;
        for (int i = 1; i < ids.length; i++) ids[i] = 259 + (i * 37) % 253;
        try (LlamaModel a = LlamaModel.load(bin);
                LlamaModel b = LlamaModel.load(gguf)) {
            float[] x = a.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            float[] y = b.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            // identical F32 weights and identical arithmetic: the two paths differ in nothing but the file format
            assertArrayEquals(x, y);
        }
    }
}
