package dev.panthera.models.gpt2;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.SamplingParams;
import dev.panthera.models.lm.LanguageModel;
import dev.panthera.models.lm.LanguageModels;
import dev.panthera.quant.ggml.GgmlType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Streaming with stop strings on the random GPT-2 as GGUF, whose vocabulary is one character per token, so a stop
 * string of several characters spans several tokens: the listener must never see text that turns out to belong to a
 * stop string, the streamed pieces must add up to the returned text, and a held-back tail that turns out not to start
 * a stop string must still be released.
 */
class StreamingStopStringTest {
    @TempDir
    Path dir;

    @Test
    void streamedTextNeverShowsAStopStringAndEqualsTheResult() throws Exception {
        Path gguf = dir.resolve("g.gguf");
        Gpt2Gguf.write(Gpt2HuggingFaceTest.fixture("gpt2-f32"), GgmlType.F32, gguf, false);
        try (LanguageModel m = LanguageModels.load(gguf, null)) {
            Generator g = new Generator(m);
            int[] prompt = g.encodePrompt("Once upon a time");
            SamplingParams greedy = SamplingParams.greedy(40).withIgnoreEos(true);
            String full = g.generate(prompt, greedy, null).text();
            assertTrue(full.length() >= 30, full);
            // a 4-character stop string, cut before its first occurrence
            String stop = full.substring(12, 16);
            int at = full.indexOf(stop);
            List<String> seen = new ArrayList<>();
            StringBuilder streamed = new StringBuilder();
            var r = g.generate(prompt, greedy.withStops(new int[0], List.of(stop)), s -> {
                streamed.append(s.text());
                seen.add(streamed.toString());
                return true;
            });
            assertEquals("stop string", r.stopReason());
            assertEquals(full.substring(0, at), r.text());
            assertEquals(r.text(), streamed.toString());
            // at every step the streamed text was a prefix of the final text: nothing was shown and then retracted
            for (String s : seen) assertTrue(r.text().startsWith(s), "streamed '" + s + "' before '" + r.text() + "'");
            // the tail was held back while it could still begin the stop string
            assertTrue(seen.stream()
                    .anyMatch(s -> s.length() < at && seen.get(seen.size() - 1).length() == at));

            // a stop string whose first three characters occur but which never completes: the held-back tail is
            // released, and the stream ends with the whole text
            String never = full.substring(12, 15) + "\u0007";
            streamed.setLength(0);
            var r2 = g.generate(prompt, greedy.withStops(new int[0], List.of(never)), s -> {
                streamed.append(s.text());
                return true;
            });
            assertEquals("length", r2.stopReason());
            assertEquals(full, r2.text());
            assertEquals(full, streamed.toString());
        }
    }
}
