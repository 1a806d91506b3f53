package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Generation on the transformers GQA fixture: cache consistency, seeds, stop rules and the listener. */
class GeneratorTest {
    static final Path GQA = HuggingFaceReferenceTest.fixture("llama-gqa");
    static final int[] PROMPT = {1, 17, 42, 5, 88, 23, 61, 9, 30, 44, 12, 70};

    @TempDir
    Path tmp;

    /**
     * Each step's logits (prefill's last row, then one-token decodes against the KV cache) equal the rows of one
     * full forward pass over prompt + generated ids. Both are F32 over the same weights; they differ only in the
     * GEMM path (one row vs many), so the bound of HuggingFaceReferenceTest applies.
     */
    @Test
    void cachedDecodeEqualsFullForward() throws Exception {
        try (LlamaModel m = LlamaModel.load(GQA)) {
            List<float[]> steps = new ArrayList<>();
            var r = new Generator(m)
                    .generate(PROMPT, SamplingParams.sample(10, 1, 5).withIgnoreEos(true), s -> steps.add(s.logits()));
            int[] all = new int[PROMPT.length + r.tokens().length];
            System.arraycopy(PROMPT, 0, all, 0, PROMPT.length);
            System.arraycopy(r.tokens(), 0, all, PROMPT.length, r.tokens().length);
            int v = m.config().vocab();
            float[] full = m.forward(Tensor.of(all, 1, all.length)).toFloatArray();
            assertEquals(10, steps.size());
            for (int i = 0; i < steps.size(); i++) {
                for (int j = 0; j < v; j++) {
                    assertEquals(
                            full[(PROMPT.length - 1 + i) * v + j],
                            steps.get(i)[j],
                            HuggingFaceReferenceTest.TOL,
                            "step " + i + " id " + j);
                }
            }
        }
    }

    @Test
    void seedsStopTokensAndListener() throws Exception {
        try (LlamaModel m = LlamaModel.load(GQA)) {
            Generator g = new Generator(m);
            SamplingParams p = SamplingParams.sample(24, 1, 11).withIgnoreEos(true);
            int[] a = g.generate(PROMPT, p, null).tokens();
            assertArrayEquals(a, g.generate(PROMPT, p, null).tokens(), "same seed, same tokens");
            assertEquals(24, a.length);
            int stop = a[7], first = 0;
            while (a[first] != stop) first++;
            var r = g.generate(PROMPT, p.withStops(new int[] {stop}, List.of()), null);
            assertEquals(first + 1, r.tokens().length);
            assertEquals("stop token", r.stopReason());
            int[] count = {0};
            r = g.generate(PROMPT, p, s -> ++count[0] < 3);
            assertEquals(3, r.tokens().length);
            assertEquals("listener", r.stopReason());
        }
    }

    @Test
    void promptLongerThanTheContextIsRejected() throws Exception {
        try (LlamaModel m = LlamaModel.load(GQA)) {
            int[] tooLong = new int[m.config().maxSeq()];
            var e = assertThrows(
                    IllegalArgumentException.class,
                    () -> new Generator(m).generate(tooLong, SamplingParams.greedy(1), null));
            assertTrue(e.getMessage().contains("context"), e.getMessage());
        }
    }

    /** Stop strings and streamed text on stories260K as GGUF, whose placeholder vocabulary decodes to " tN". */
    @Test
    void stopStringsAndStreamedText() throws Exception {
        Path bin = LlamaCppGreedyTest.data("stories260K.bin");
        Assumptions.assumeTrue(Files.exists(bin), "skipped: " + bin + " is absent");
        Path gguf = tmp.resolve("s.gguf");
        try (var c = dev.panthera.models.io.Llama2cCheckpoint.open(bin)) {
            dev.panthera.models.io.Llama2cToGguf.convert(c, dev.panthera.quant.ggml.GgmlType.F32, gguf);
        }
        try (LlamaModel m = LlamaModel.load(gguf)) {
            Generator g = new Generator(m);
            StringBuilder streamed = new StringBuilder();
            var full = g.generate(new int[0], SamplingParams.greedy(20), s -> streamed.append(s.text()) != null);
            String text = m.tokenizer().decode(full.tokens(), true);
            assertEquals(text, streamed.toString());
            int cut = 5;
            String piece =
                    m.tokenizer().decode(new int[] {full.tokens()[cut]}, true).strip();
            var r = g.generate(new int[0], SamplingParams.greedy(20).withStops(new int[0], List.of(piece)), null);
            assertEquals("stop string", r.stopReason());
            assertTrue(r.tokens().length <= cut + 1);
            assertTrue(m.tokenizer().decode(r.tokens(), true).contains(piece));
        }
    }
}
