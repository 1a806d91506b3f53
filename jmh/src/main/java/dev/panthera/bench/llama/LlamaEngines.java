package dev.panthera.bench.llama;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.SamplingParams;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Panthera and llama.cpp (de.kherud:llama 4.2.0, in this JVM) on the same GGUF, each timed the same way: the wall
 * time of a whole greedy generation after a prompt. llama.cpp streams its tokens to Java in bursts, so per-token
 * times seen from Java mean nothing; rates come from differences of whole generations (see {@link LlamaBestOf}).
 */
final class LlamaEngines {
    private LlamaEngines() {}

    interface Engine extends AutoCloseable {
        /** Wall nanoseconds of a greedy generation of {@code newTokens} tokens (EOS ignored) after {@code prompt}. */
        long run(Prompt prompt, int newTokens);

        @Override
        void close();
    }

    /** A prompt as llama.cpp's text (it tokenizes it itself) and as the ids that text gives, BOS first. */
    record Prompt(String text, int[] ids) {}

    /**
     * A prompt of exactly {@code tokens} ids for the placeholder vocabulary of {@code Llama2cToGguf}: BOS then
     * repetitions of 'a', which llama.cpp's SentencePiece tokenizer turns into byte tokens.
     */
    static Prompt prompt(de.kherud.llama.LlamaModel ll, int tokens) {
        if (tokens == 1) return new Prompt("", new int[] {1});
        for (int n = tokens; n > 0; n--) {
            String text = "a".repeat(n);
            int[] ids = ll.encode(text);
            if (ids.length > 0 && ids[0] == 1) ids = Arrays.copyOfRange(ids, 1, ids.length);
            if (ids.length + 1 == tokens) {
                int[] withBos = new int[tokens];
                withBos[0] = 1;
                System.arraycopy(ids, 0, withBos, 1, ids.length);
                return new Prompt(text, withBos);
            }
        }
        throw new IllegalStateException("no prompt of 'a's tokenizes to " + tokens + " tokens");
    }

    static final class Panthera implements Engine {
        private final LlamaModel model;
        private final Generator gen;

        Panthera(Path gguf, int threads) {
            dev.panthera.simd.Sgemm.setThreads(threads);
            try {
                model = LlamaModel.load(gguf);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            gen = new Generator(model);
        }

        @Override
        public long run(Prompt prompt, int newTokens) {
            long t0 = System.nanoTime();
            Generator.Result r =
                    gen.generate(prompt.ids(), SamplingParams.greedy(newTokens).withIgnoreEos(true), null);
            long t = System.nanoTime() - t0;
            if (r.tokens().length != newTokens)
                throw new IllegalStateException(
                        "Panthera generated " + r.tokens().length + " tokens, not " + newTokens);
            return t;
        }

        @Override
        public void close() {
            model.close();
        }
    }

    static final class LlamaCpp implements Engine {
        final de.kherud.llama.LlamaModel model;

        LlamaCpp(Path gguf, int threads, int context) {
            de.kherud.llama.LlamaModel.setLogger(de.kherud.llama.args.LogFormat.TEXT, (level, msg) -> {});
            model = new de.kherud.llama.LlamaModel(new ModelParameters()
                    .setModel(gguf.toString())
                    .setCtxSize(context)
                    .setBatchSize(512)
                    .setThreads(threads)
                    .setThreadsBatch(threads)
                    .skipWarmup());
        }

        @Override
        public long run(Prompt prompt, int newTokens) {
            InferenceParameters p = new InferenceParameters(prompt.text())
                    .setTemperature(0)
                    .setNPredict(newTokens)
                    .setIgnoreEos(true)
                    .setCachePrompt(false)
                    .setSeed(1);
            long t0 = System.nanoTime();
            int n = 0;
            for (LlamaOutput o : model.generate(p)) n++;
            long t = System.nanoTime() - t0;
            if (n < newTokens)
                throw new IllegalStateException("llama.cpp gave " + n + " outputs, fewer than " + newTokens);
            return t;
        }

        @Override
        public void close() {
            model.close();
        }
    }
}
