package dev.panthera.models.gpt2;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.models.io.Weights;
import dev.panthera.models.llama.BatchGenerator;
import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.Perplexity;
import dev.panthera.models.llama.SamplingParams;
import dev.panthera.models.lm.LanguageModel;
import dev.panthera.models.lm.LanguageModels;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tiny random GPT-2 checkpoints written by HuggingFace transformers ({@code src/test/python/gpt2_fixtures.py}, F32 and
 * F16 weights) load from their folders and give transformers' logits at all 40 prompt positions, its loss (our
 * perplexity API) and its 16 greedy tokens (KV-cache decode); the same weights as a gpt2 GGUF (Conv1D transposed,
 * llama.cpp's names) and as a checkpoint without the {@code transformer.} prefix give the same logits.
 *
 * <p>Tolerance: both sides compute in F32 on identical weight values (transformers upcasts the stored F16 weights; we
 * widen them in registers), so only F32 rounding in a different summation order separates them. A dot product of
 * length K ≤ 128 is off by at most K·u·Σ|aᵢbᵢ| (u = 2⁻²⁴); through about 20 dependent stages (2 layers of LayerNorm,
 * q|k|v, attention, c_proj, c_fc, GELU, c_proj; final LayerNorm, head) that is 20 · 128 · 6e-8 ≈ 1.5e-4 relative,
 * ≈ 1e-3 absolute on logits up to 6.3 in size. 2e-3 leaves a factor 2 for exp/tanh/rsqrt; a transposed Conv1D, a
 * wrong q|k|v split or a missing position moves logits by tenths or more.
 */
class Gpt2HuggingFaceTest {
    static final double TOL = 2e-3;

    @TempDir
    Path tmp;

    static Path fixture(String name) {
        return Path.of("src", "test", "resources", "gpt2", name).toAbsolutePath();
    }

    static int[] ints(Tensor t) {
        return Arrays.stream(t.toLongArray()).mapToInt(Math::toIntExact).toArray();
    }

    static double maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        return worst;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-f32", "gpt2-f16"})
    void logitsLossAndGreedyTokensMatchTransformers(String name) throws Exception {
        Path dir = fixture(name);
        try (Weights ref = SafetensorsFile.open(dir.resolve("reference.safetensors"));
                LanguageModel m = LanguageModels.load(dir, null)) {
            assertInstanceOf(Gpt2Model.class, m);
            int[] ids = ints(ref.tensor("ids"));
            float[] got = m.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            double worst = maxDiff(ref.tensor("logits").toFloatArray(), got);
            System.out.println(name + ": max |logit diff| vs transformers " + worst);
            assertTrue(worst <= TOL, name + ": max |logit diff| " + worst + " > " + TOL);
            // a log-softmax moves by at most twice the largest logit error, so the mean NLL agrees within 2·TOL
            double nll = -Perplexity.score(m, ids).logLikelihood() / (ids.length - 1);
            assertEquals(ref.tensor("nll").toFloatArray()[0], nll, 2 * TOL, name + ": mean NLL");
            int[] greedy = ints(ref.tensor("greedy"));
            var r = new Generator(m)
                    .generate(ids, SamplingParams.greedy(greedy.length).withIgnoreEos(true), null);
            assertArrayEquals(greedy, r.tokens(), name + ": greedy tokens");
        }
    }

    /** The F32 fixture as a gpt2 GGUF (llama.cpp's layout) and without the transformer. prefix: the same logits. */
    @Test
    void ggufAndUnprefixedCheckpointsGiveTheSameLogits() throws Exception {
        Path dir = fixture("gpt2-f32"), gguf = tmp.resolve("g.gguf");
        Gpt2Gguf.write(dir, GgmlType.F32, gguf, false); // no output.weight: the reader ties the head
        Path bare = Files.createDirectory(tmp.resolve("bare"));
        Files.copy(dir.resolve("config.json"), bare.resolve("config.json"));
        try (Weights w = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            List<SafetensorsWriter.Item> items = new ArrayList<>();
            for (String n : w.names())
                items.add(SafetensorsWriter.Item.of(n.substring("transformer.".length()), w.tensor(n)));
            SafetensorsWriter.write(bare.resolve("model.safetensors"), Map.of(), items);
        }
        int[] ids = new int[60];
        for (int i = 0; i < ids.length; i++) ids[i] = 3 + (i * 37) % 93;
        try (Weights ref = SafetensorsFile.open(dir.resolve("reference.safetensors"));
                LanguageModel hf = LanguageModels.load(dir, null);
                LanguageModel g = LanguageModels.load(gguf, null);
                LanguageModel b = LanguageModels.load(bare, null)) {
            assertInstanceOf(Gpt2Model.class, g);
            // records compare arrays by identity: compare the printed form, which lists every field
            assertEquals(
                    hf.config().toString(), withEos((Gpt2Config) g.config(), hf).toString());
            float[] x = hf.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            // same F32 values; the GGUF path multiplies by a transposed view, so only the summation order may differ
            assertTrue(maxDiff(x, g.forward(Tensor.of(ids, 1, ids.length)).toFloatArray()) <= TOL);
            assertArrayEquals(x, b.forward(Tensor.of(ids, 1, ids.length)).toFloatArray());
            assertNotNull(g.tokenizer());
            assertEquals(ref.tensor("logits").dims()[1], hf.config().vocab());
        }
    }

    /** GGUF stores the epsilon as F32 and one EOS id; everything else must be equal. */
    private static Gpt2Config withEos(Gpt2Config g, LanguageModel hf) {
        Gpt2Config h = (Gpt2Config) hf.config();
        assertEquals((float) h.normEps(), (float) g.normEps());
        return new Gpt2Config(
                g.dim(),
                g.hidden(),
                g.layers(),
                g.heads(),
                g.vocab(),
                g.maxSeq(),
                h.normEps(),
                g.tanhGelu(),
                g.bos(),
                h.eos());
    }

    /**
     * Prompts of different lengths in one left-padded batch give each row's own greedy tokens: GPT-2's positions are
     * absolute, so each row's position ids start at its first real token (as HF's position_ids from the attention
     * mask), and the single-prompt path is the one checked against transformers above.
     */
    @Test
    void batchedGenerationMatchesOneByOne() throws Exception {
        try (LanguageModel m = LanguageModels.load(fixture("gpt2-f32"), null)) {
            List<int[]> prompts = List.of(
                    new int[] {5, 17, 33, 40, 41, 90, 12}, new int[] {7}, new int[] {60, 61, 62, 3, 4, 5, 6, 7, 8, 9, 10
                    });
            SamplingParams p = SamplingParams.greedy(12).withIgnoreEos(true);
            List<int[]> batched = new BatchGenerator(m).generate(prompts, p);
            Generator g = new Generator(m);
            for (int r = 0; r < prompts.size(); r++)
                assertArrayEquals(g.generate(prompts.get(r), p, null).tokens(), batched.get(r), "row " + r);
        }
    }

    @Test
    void badInputIsRefusedWithAClearMessage() throws Exception {
        try (LanguageModel m = LanguageModels.load(fixture("gpt2-f32"), null)) {
            var e = assertThrows(IllegalArgumentException.class, () -> m.forward(Tensor.of(new int[] {96}, 1, 1)));
            assertTrue(e.getMessage().contains("token id 96"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.forward(Tensor.of(new int[129], 1, 129)));
            assertTrue(e.getMessage().contains("learned table of 128"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.newCache(129));
            assertTrue(e.getMessage().contains("context length 128"), e.getMessage());
        }
        Path dir = Files.createDirectory(tmp.resolve("broken"));
        Path src = fixture("gpt2-f32");
        Files.writeString(
                dir.resolve("config.json"),
                Files.readString(src.resolve("config.json")).replace("\"gelu_new\"", "\"swish\""));
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        var e = assertThrows(IllegalArgumentException.class, () -> LanguageModels.load(dir, null));
        assertTrue(e.getMessage().contains("activation_function 'swish'"), e.getMessage());
        Files.writeString(
                dir.resolve("config.json"),
                Files.readString(src.resolve("config.json")).replace("\"n_inner\": null", "\"n_inner\": 96"));
        e = assertThrows(IllegalArgumentException.class, () -> LanguageModels.load(dir, null));
        assertTrue(e.getMessage().contains("transformer.h.0.mlp.c_fc.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("[32, 96]"), e.getMessage());
    }
}
