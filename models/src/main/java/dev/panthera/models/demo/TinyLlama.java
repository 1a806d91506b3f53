package dev.panthera.models.demo;

import dev.panthera.models.io.Progress;
import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.SamplingParams;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.nn.optim.LrSchedule;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * The demo's small language model: a character vocabulary over the built-in texts, next-character training of an nn
 * {@link CausalLm} with AdamW, and sampling from a {@link LlamaModel} (the trained weights saved as a HF folder and
 * loaded back, as a user would ship them).
 */
final class TinyLlama {
    final String chars; // id i is chars.charAt(i - 1); id 0 is BOS
    final String story, log;

    TinyLlama() {
        story = resource("story.txt");
        log = resource("log.txt");
        TreeSet<Character> set = new TreeSet<>();
        for (char c : (story + log).toCharArray()) set.add(c);
        StringBuilder sb = new StringBuilder();
        for (char c : set) sb.append(c);
        chars = sb.toString();
    }

    int vocab() {
        return chars.length() + 1;
    }

    int[] encode(String s) {
        int[] ids = new int[s.length() + 1];
        for (int i = 0; i < s.length(); i++) {
            int k = chars.indexOf(s.charAt(i));
            if (k < 0)
                throw new IllegalArgumentException("demo: character '" + s.charAt(i) + "' not in the vocabulary");
            ids[i + 1] = k + 1;
        }
        return ids; // ids[0] = BOS
    }

    String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) if (id > 0) sb.append(chars.charAt(id - 1));
        return sb.toString();
    }

    /**
     * Trains on random windows of {@code text} (each row BOS-free, seq + 1 characters) and returns the first loss
     * and the smoothed last one; the progress bar shows the running loss on a terminal.
     */
    double[] train(CausalLm lm, String text, int steps, int batch, int seq, double lr, long seed, String label) {
        int[] ids = encode(text);
        SplittableRandom r = new SplittableRandom(seed);
        AdamW opt = new AdamW(lm.trainableParameters(), lr, 0.9, 0.99, 1e-8, 0.01);
        opt.schedule(LrSchedule.cosine(steps / 10, steps, 0.1));
        double first = Double.NaN, smooth = Double.NaN;
        try (Progress bar = Progress.start(label, steps, "steps")) {
            for (int s = 0; s < steps; s++) {
                long[] rows = new long[batch * (seq + 1)];
                for (int b = 0; b < batch; b++) {
                    int from = 1 + r.nextInt(ids.length - seq - 1);
                    for (int i = 0; i <= seq; i++) rows[b * (seq + 1) + i] = ids[from + i];
                }
                try (var scope = MemoryScope.open()) {
                    Tensor all = Tensor.of(rows, batch, seq + 1);
                    Tensor in = all.narrow(1, 0, seq).contiguous(),
                            target = all.narrow(1, 1, seq).contiguous();
                    Tensor loss = Losses.crossEntropy(lm.forward(in), target);
                    opt.zeroGrad();
                    loss.backward();
                    opt.step();
                    double l = loss.item();
                    if (s == 0) first = l;
                    smooth = Double.isNaN(smooth) ? l : 0.9 * smooth + 0.1 * l;
                }
                bar.advance(1);
                bar.status(String.format(Locale.ROOT, "loss %.3f", smooth));
            }
        }
        return new double[] {first, smooth};
    }

    /** Mean next-character loss of {@code lm} over all of {@code text} (one pass, windows of {@code seq}). */
    double loss(LlamaModel m, String text) {
        int[] ids = encode(text);
        return -dev.panthera.models.llama.Perplexity.score(m, ids).logLikelihood() / (ids.length - 1);
    }

    /** Samples {@code n} characters after {@code prompt} and prints them with the decode speed. */
    void sample(LlamaModel m, String prompt, int n, long seed) {
        int[] p = encode(prompt);
        StringBuilder text = new StringBuilder();
        var res = new Generator(m)
                .generate(p, SamplingParams.sample(n, 0.7, seed).withTopK(20).withIgnoreEos(true), s -> {
                    if (s.token() > 0) text.append(chars.charAt(s.token() - 1));
                    return true;
                });
        String shown = (prompt + text).replace("\n", " / ");
        System.out.printf(
                Locale.ROOT,
                "   \"%s\"%n   (%d tokens, %.0f tok/s)%n",
                shown,
                res.tokens().length,
                res.decodeSteps() / Math.max(1e-9, res.decodeNanos() / 1e9));
    }

    private static String resource(String name) {
        try (InputStream in = TinyLlama.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("demo resource " + name + " missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
