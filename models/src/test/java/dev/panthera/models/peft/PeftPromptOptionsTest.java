package dev.panthera.models.peft;

import static dev.panthera.models.peft.PeftFixturesTest.FIXTURES;
import static dev.panthera.models.peft.PeftFixturesTest.WRITTEN;
import static dev.panthera.models.peft.PeftFixturesTest.base;
import static dev.panthera.models.peft.PeftFixturesTest.close;
import static dev.panthera.models.peft.PeftFixturesTest.expected;
import static dev.panthera.models.peft.PeftFixturesTest.fieldNames;
import static dev.panthera.models.peft.PeftFixturesTest.ids;
import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.nn.lora.PrefixTuning;
import dev.panthera.nn.lora.PromptTuning;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Prefix tuning with prefix_projection and prompt tuning with padding and a KV cache, against peft 0.21's outputs on
 * the tiny Llama fixture ({@code peft_fixtures.py write src/test/resources/peft}; see its docstring for the keys).
 */
class PeftPromptOptionsTest {
    static final String[] ENCODER = {
        "embedding.weight", "transform.0.weight", "transform.0.bias", "transform.2.weight", "transform.2.bias"
    };

    static Map<String, Tensor> fixtureTensors(String... keys) throws IOException {
        Map<String, Tensor> out = new HashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURES.resolve("expected.safetensors"))) {
            for (String k : keys) {
                Tensor t = f.tensor(k);
                out.put(
                        k,
                        t.dtype().isFloatingPoint()
                                ? Tensor.of(t.toFloatArray(), f.shape(k))
                                : Tensor.of(t.toLongArray(), f.shape(k)));
            }
        }
        return out;
    }

    /** peft's PrefixEncoder weights in our projection: the same logits, and the same gradients of mean(logits²). */
    @Test
    void prefixProjectionComputesAndTrainsAsPeftsPrefixEncoder() throws IOException {
        Tensor x = ids();
        PrefixTuning tuned = new PrefixTuning(base(), 3, 6, 1);
        String[] keys = new String[ENCODER.length * 2];
        for (int i = 0; i < ENCODER.length; i++) {
            keys[i] = "prefixproj." + ENCODER[i];
            keys[ENCODER.length + i] = "prefixproj.grad." + ENCODER[i];
        }
        Map<String, Tensor> ref = fixtureTensors(keys);
        var params = tuned.namedParameters();
        try (var _ = Autograd.noGrad()) {
            for (String k : ENCODER) params.get(k).copy_(ref.get("prefixproj." + k));
        }
        assertEquals(
                3 * 4 + (4 * 6 + 6) + (6 * 16 + 16),
                tuned.trainableParameterCount(),
                "the embedding and the MLP train, nothing else");
        tuned.eval();
        Tensor logits = tuned.forward(x);
        close(expected().get("prefixproj"), logits.toFloatArray(), "prefix_projection logits vs peft");
        logits.pow(2).mean().backward();
        for (String k : ENCODER) {
            float[] want = ref.get("prefixproj.grad." + k).toFloatArray();
            float[] got = params.get(k).grad().toFloatArray();
            double scale = 0;
            for (float w : want) scale = Math.max(scale, Math.abs(w));
            // both float32 with other summation orders; 1e-4 of the tensor's largest entry is ~1000 ulps of slack,
            // while a missing tanh, bias or a wrong layer order moves the gradient by a sizeable fraction of it
            for (int i = 0; i < want.length; i++)
                assertEquals(want[i], got[i], 1e-4 * scale, "gradient of " + k + " element " + i);
        }

        // saved as peft saves it: the projected prefix, with the projection's fields
        Path out = WRITTEN.resolve("prefixproj");
        PrefixTuningFiles.save(out, tuned, new AdapterConfigJson.Info("CAUSAL_LM", null, null));
        SafetensorsWriter.write(
                out.resolve("panthera_logits.safetensors"),
                Map.of("format", "pt"),
                List.of(SafetensorsWriter.Item.of("ids", x), SafetensorsWriter.Item.of("logits", logits.detach())));
        assertEquals(fieldNames(FIXTURES.resolve("prefixproj")), fieldNames(out));
        String json = Files.readString(out.resolve(AdapterFiles.CONFIG));
        assertTrue(json.contains("\"prefix_projection\" : true") && json.contains("\"encoder_hidden_size\" : 6"), json);
        try (SafetensorsFile ours = SafetensorsFile.open(out.resolve(AdapterFiles.WEIGHTS));
                SafetensorsFile peft =
                        SafetensorsFile.open(FIXTURES.resolve("prefixproj").resolve(AdapterFiles.WEIGHTS))) {
            assertEquals(List.of("prompt_embeddings"), List.copyOf(ours.names()));
            assertArrayEquals(peft.shape("prompt_embeddings"), ours.shape("prompt_embeddings"));
            close(
                    peft.tensor("prompt_embeddings").toFloatArray(),
                    ours.tensor("prompt_embeddings").toFloatArray(),
                    "the saved prefix vs peft's");
        }
    }

    @Test
    void peftsProjectedPrefixLoadsForInferenceOnly() throws IOException {
        Tensor x = ids();
        Path dir = FIXTURES.resolve("prefixproj");
        PrefixTuning tuned = PrefixTuningFiles.load(dir, base(), false);
        assertTrue(tuned.prefixProjection());
        assertEquals(6, tuned.encoderHiddenSize());
        assertEquals(0, tuned.trainableParameterCount());
        close(expected().get("prefixproj"), tuned.forward(x).toFloatArray(), "peft's projected prefix vs peft");
        IOException e = assertThrows(IOException.class, () -> PrefixTuningFiles.load(dir, base(), true));
        assertTrue(e.getMessage().contains("prefix_projection"), e.getMessage());
    }

    /**
     * A batch with right and left padding: peft extends the attention mask by ones for the virtual tokens; every
     * position's logits (padded ones included, which HuggingFace computes too) match.
     */
    @Test
    void paddedBatchGivesPeftsLogits() throws IOException {
        Map<String, Tensor> ref = fixtureTensors("prompt.pad.ids", "prompt.pad.mask");
        PromptTuning tuned = PromptTuningFiles.load(FIXTURES.resolve("prompt"), base(), false);
        Tensor padded = tuned.forward(ref.get("prompt.pad.ids"), ref.get("prompt.pad.mask"), null);
        assertArrayEquals(new long[] {3, 3 + 6, 13}, padded.dims());
        float[] want = expected().get("prompt.pad");
        close(want, padded.toFloatArray(), "padded prompt-tuning logits vs peft");
        float[] unmasked = tuned.forward(ref.get("prompt.pad.ids")).toFloatArray();
        assertFalse(Arrays.equals(unmasked, padded.toFloatArray()), "the mask changes the padded rows");
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> tuned.forward(ref.get("prompt.pad.ids"), Tensor.ones(3, 5), null));
        assertTrue(e.getMessage().contains("attention mask [3, 5]"), e.getMessage());
    }

    /** The same padded batch through prefix tuning: peft extends the mask by ones for the prefix positions. */
    @Test
    void paddedBatchGivesPeftsPrefixTuningLogits() throws IOException {
        Map<String, Tensor> ref = fixtureTensors("prompt.pad.ids", "prompt.pad.mask");
        PrefixTuning tuned = PrefixTuningFiles.load(FIXTURES.resolve("prefix"), base(), false);
        Tensor padded = tuned.forward(ref.get("prompt.pad.ids"), ref.get("prompt.pad.mask"), null);
        assertArrayEquals(new long[] {3, 6, 13}, padded.dims());
        close(expected().get("prefix.pad"), padded.toFloatArray(), "padded prefix-tuning logits vs peft");
        float[] unmasked = tuned.forward(ref.get("prompt.pad.ids")).toFloatArray();
        assertFalse(Arrays.equals(unmasked, padded.toFloatArray()), "the mask changes the padded rows");
    }

    /** The prompt once, then one token at a time with the KV cache: peft's greedy generate, tokens and logits. */
    @Test
    void cachedGreedyGenerationGivesPeftsTokensAndLogits() throws IOException {
        greedy("prompt.gen", null);
    }

    /**
     * The same with left-padded prompts of lengths 2 and 4: the attention mask grows by a 1 per generated token, as
     * generate grows it, and positions count the padding (peft ignores position ids).
     */
    @Test
    void cachedGreedyGenerationAfterLeftPaddedPromptsGivesPeftsTokensAndLogits() throws IOException {
        greedy("prompt.genpad", fixtureTensors("prompt.genpad.mask").get("prompt.genpad.mask"));
    }

    private static void greedy(String key, Tensor promptMask) throws IOException {
        Map<String, Tensor> ref = fixtureTensors(key + ".ids", key + ".logits");
        long[] seq = ref.get(key + ".ids").toLongArray(); // [2, 4 + 4]
        float[] stepLogits = ref.get(key + ".logits").toFloatArray(); // [4, 2, 13]
        PromptTuning tuned = PromptTuningFiles.load(FIXTURES.resolve("prompt"), base(), false);
        KvCache cache = tuned.base().newCache(16);
        long[] prompts = new long[8];
        for (int r = 0; r < 2; r++) System.arraycopy(seq, r * 8, prompts, r * 4, 4);
        long[] mask = new long[2 * 8];
        long[] given = promptMask == null ? null : promptMask.toLongArray();
        for (int r = 0; r < 2; r++)
            for (int j = 0; j < 8; j++) mask[r * 8 + j] = j < 4 && given != null ? given[r * 4 + j] : 1;
        try (var _ = Autograd.noGrad()) {
            Tensor logits = tuned.forward(Tensor.of(prompts, 2, 4), maskUpTo(mask, given, 4), cache);
            assertEquals(3 + 4, cache.length(0), "the cache holds the virtual tokens and the prompt");
            for (int step = 0; step < 4; step++) {
                float[] got =
                        logits.narrow(1, logits.size(1) - 1, 1).contiguous().toFloatArray();
                close(
                        Arrays.copyOfRange(stepLogits, step * 26, step * 26 + 26),
                        got,
                        key + " step " + step + " logits vs peft's generate");
                // generate's next input is the greedy token until a row has produced the config's eos id (2);
                // after that the row gets pad_token_id (0), which is what the sequences hold
                long[] next = new long[2];
                for (int r = 0; r < 2; r++) {
                    int best = 0;
                    for (int v = 1; v < 13; v++) if (got[r * 13 + v] > got[r * 13 + best]) best = v;
                    next[r] = seq[r * 8 + 4 + step];
                    if (!finished(seq, r, step)) assertEquals(next[r], best, key + " row " + r + " token " + step);
                }
                logits = tuned.forward(Tensor.of(next, 2, 1), maskUpTo(mask, given, 5 + step), cache);
            }
        }
    }

    /** Whether row {@code r} produced the eos id (LlamaConfig's default, 2) before generated token {@code step}. */
    private static boolean finished(long[] seq, int r, int step) {
        for (int j = 0; j < step; j++) if (seq[r * 8 + 4 + j] == 2) return true;
        return false;
    }

    /** The first {@code n} columns of the [2, 8] mask, or null without padding. */
    private static Tensor maskUpTo(long[] mask, long[] given, int n) {
        if (given == null) return null;
        long[] out = new long[2 * n];
        for (int r = 0; r < 2; r++) System.arraycopy(mask, r * 8, out, r * n, n);
        return Tensor.of(out, 2, n);
    }
}
