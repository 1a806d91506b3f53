package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Prompts of different lengths generated as one left-padded batch give each prompt's own greedy tokens, on the
 * transformers fixtures (GQA; llama3 scaling in BF16; Mistral's window, where the window must count real positions
 * only, which it does because padding sits before every real token).
 */
class BatchGeneratorTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama-gqa", "llama3-scaled", "mistral-window", "qwen2-bias"})
    void batchEqualsOneByOne(String name) throws Exception {
        List<int[]> prompts =
                List.of(new int[] {1, 17, 42, 5, 88, 23, 61, 9, 30, 44, 12, 70}, new int[] {1, 3}, new int[] {
                    1, 50, 51, 52, 53, 54, 55
                });
        try (LlamaModel m = LlamaModel.load(HuggingFaceReferenceTest.fixture(name))) {
            SamplingParams p = SamplingParams.greedy(20).withIgnoreEos(true);
            List<int[]> batch = new BatchGenerator(m).generate(prompts, p);
            for (int i = 0; i < prompts.size(); i++) {
                int[] alone = new Generator(m).generate(prompts.get(i), p, null).tokens();
                assertArrayEquals(alone, batch.get(i), name + " prompt " + i);
            }
        }
    }
}
