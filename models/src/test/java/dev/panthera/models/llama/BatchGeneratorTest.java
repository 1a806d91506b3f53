package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Prompts of different lengths generated as one left-padded batch give each prompt's own greedy tokens, on the
 * transformers fixtures (GQA; llama3 scaling in BF16; Mistral's window, where the window must count real positions
 * only, which it does because padding sits before every real token).
 */
class BatchGeneratorTest {
    private static final List<int[]> PROMPTS =
            List.of(new int[] {1, 17, 42, 5, 88, 23, 61, 9, 30, 44, 12, 70}, new int[] {1, 3}, new int[] {
                1, 50, 51, 52, 53, 54, 55
            });

    @ParameterizedTest
    @ValueSource(strings = {"llama-gqa", "llama3-scaled", "mistral-window", "qwen2-bias"})
    void batchEqualsOneByOne(String name) throws Exception {
        try (LlamaModel m = LlamaModel.load(HuggingFaceReferenceTest.fixture(name))) {
            SamplingParams p = SamplingParams.greedy(20).withIgnoreEos(true);
            List<int[]> batch = new BatchGenerator(m).generate(PROMPTS, p);
            for (int i = 0; i < PROMPTS.size(); i++) {
                int[] alone = new Generator(m).generate(PROMPTS.get(i), p, null).tokens();
                assertArrayEquals(alone, batch.get(i), name + " prompt " + i);
            }
        }
    }

    /**
     * With an F16 or BF16 KV cache the batch (its decode steps reading the 16-bit cache in place with the padding
     * mask) gives each prompt the greedy tokens a one-prompt generator with the same cache type gives.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama-gqa:F16", "mistral-window:BF16", "qwen2-bias:F16"})
    void batchWithAHalfCacheEqualsOneByOneWithIt(String spec) throws Exception {
        String name = spec.substring(0, spec.indexOf(':'));
        DType cache = DType.valueOf(spec.substring(spec.indexOf(':') + 1));
        try (LlamaModel m = LlamaModel.load(HuggingFaceReferenceTest.fixture(name))) {
            assertEquals(cache, new BatchGenerator(m, cache).cache(8).dtype(), "the batch's cache type");
            SamplingParams p = SamplingParams.greedy(20).withIgnoreEos(true);
            List<int[]> batch = new BatchGenerator(m, cache).generate(PROMPTS, p);
            for (int i = 0; i < PROMPTS.size(); i++) {
                int[] alone = new Generator(m, cache)
                        .generate(PROMPTS.get(i), p, null)
                        .tokens();
                assertArrayEquals(alone, batch.get(i), spec + " prompt " + i);
            }
        }
    }
}
