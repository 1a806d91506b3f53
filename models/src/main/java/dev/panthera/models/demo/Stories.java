package dev.panthera.models.demo;

import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.SamplingParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** The demo's last part: stories260K (llama2.c checkpoint + tokenizer) from ../shared/data, when present. */
final class Stories {
    private Stories() {}

    static void run() throws Exception {
        Path dir = null;
        for (Path p = Path.of("").toAbsolutePath(); p != null && dir == null; p = p.getParent()) {
            Path d = p.resolve("shared/data");
            if (Files.isRegularFile(d.resolve("stories260K.bin"))) dir = d;
            d = p.resolve("../shared/data").normalize();
            if (dir == null && Files.isRegularFile(d.resolve("stories260K.bin"))) dir = d;
        }
        if (dir == null) {
            System.out.println("\n(stories260K.bin not found in ../shared/data: skipping the pretrained-model part)");
            return;
        }
        // its 512-token vocabulary is not published beside it, so the demo works in token ids, as llama2.c's run.c
        // does without tok512.bin
        System.out.println("\n5. stories260K (llama2.c checkpoint from " + dir + "), greedy from BOS, token ids:");
        try (LlamaModel m = LlamaModel.load(dir.resolve("stories260K.bin"))) {
            var r = new Generator(m).generate(new int[] {1}, SamplingParams.greedy(200), null);
            StringBuilder ids = new StringBuilder();
            for (int i = 0; i < Math.min(24, r.tokens().length); i++)
                ids.append(r.tokens()[i]).append(' ');
            System.out.printf(
                    Locale.ROOT,
                    "   %s… (%d tokens, %.0f tok/s)%n",
                    ids,
                    r.tokens().length,
                    r.decodeSteps() / Math.max(1e-9, r.decodeNanos() / 1e9));
        }
    }
}
