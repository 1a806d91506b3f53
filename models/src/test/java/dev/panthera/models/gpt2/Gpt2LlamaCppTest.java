package dev.panthera.models.gpt2;

import static org.junit.jupiter.api.Assertions.*;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.ModelParameters;
import dev.panthera.models.lm.LanguageModel;
import dev.panthera.models.lm.LanguageModels;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The random GPT-2 of {@code gpt2_fixtures.py} written as a gpt2 GGUF by our {@link Gpt2Gguf} (F32, and F16 weights
 * on both sides): llama.cpp (de.kherud:llama 4.2.0, its {@code gpt2} arch, temperature 0) and our model on that file
 * produce the same 64 greedy tokens after a 51-token prompt. The prompt is tokenized by llama.cpp and by our GGUF
 * tokenizer, which must agree; the comparison is llama.cpp's detokenization of our ids against its own completion.
 * The control tokens 0..2 are banned on both sides (llama.cpp's ignore_eos bans EOS; control tokens print as
 * nothing), so the text names every id (the vocabulary is one character per token).
 */
class Gpt2LlamaCppTest {
    static final String PROMPT = "Once upon a time, a little fox ran into the woods.";
    static final List<Integer> BANNED = List.of(0, 1, 2);

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"F32", "F16"})
    void greedyTokensMatchLlamaCpp(GgmlType type) throws Exception {
        Path gguf = dir.resolve("gpt2-" + type + ".gguf");
        Gpt2Gguf.write(Gpt2HuggingFaceTest.fixture("gpt2-f32"), type, gguf, true);
        try (var ll = new de.kherud.llama.LlamaModel(new ModelParameters()
                        .setModel(gguf.toString())
                        .setCtxSize(128)
                        .setThreads(1)
                        .skipWarmup());
                LanguageModel m = LanguageModels.load(gguf, null)) {
            int[] prompt = ll.encode(PROMPT);
            assertEquals(PROMPT.length(), prompt.length, "one token per character, no BOS");
            assertArrayEquals(prompt, m.tokenizer().encode(PROMPT, false), "our GGUF tokenizer vs llama.cpp's");
            String theirs = ll.complete(new InferenceParameters(PROMPT)
                    .setTemperature(0)
                    .setNPredict(64)
                    .setIgnoreEos(true)
                    .disableTokenIds(BANNED)
                    .setSeed(1));
            int[] ours = greedy(m, prompt, 64);
            String want = ll.decode(ours);
            System.out.println("gpt2 " + type + ": " + want);
            assertEquals(64, want.length());
            assertEquals(theirs, want, type + ": our ids " + Arrays.toString(ours));
        }
    }

    /** Greedy decode with a KV cache: one prefill pass, then one token per step; banned ids never win. */
    static int[] greedy(LanguageModel m, int[] prompt, int n) {
        KvCache cache = m.newCache(prompt.length + n);
        int[] out = new int[n];
        try (var ng = Autograd.noGrad()) {
            float[] logits = m.forward(Tensor.of(prompt, 1, prompt.length), 0, cache, null, true)
                    .toFloatArray();
            for (int i = 0; i < n; i++) {
                for (int b : BANNED) logits[b] = Float.NEGATIVE_INFINITY;
                int best = 0;
                for (int j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
                out[i] = best;
                if (i + 1 < n)
                    logits = m.forward(Tensor.of(new int[] {best}, 1, 1), prompt.length + i, cache, null, true)
                            .toFloatArray();
            }
        }
        return out;
    }
}
