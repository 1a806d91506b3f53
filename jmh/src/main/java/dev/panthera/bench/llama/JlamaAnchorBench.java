package dev.panthera.bench.llama;

import dev.panthera.bench.llama.JlamaEngines.Engine;
import dev.panthera.tensor.Autograd;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * One engine, Panthera or Jlama, on a HuggingFace folder (see {@link JlamaFixtures}), measured as
 * {@link LlamaAnchorBench} measures ours beside llama.cpp and printed in its format, so that jmh/bench-vs-jlama.sh
 * runs both engines alike, one process each with the same JVM flags, and tabulates them. pp N: a fresh KV cache, then
 * one forward of N ids (BOS then random ids), the last position's logits. tg N: a fresh cache, then N single-token
 * forwards, the first fed BOS and the rest random ids, each giving its logits (no sampling timed beyond Jlama's own
 * arg-max). Each repetition's rate is its tokens over its wall time; a line gives the mean and sample standard
 * deviation over REPS repetitions: {@code test=tg32 threads=1 reps=3 mean_tok_s=12.34 sd_tok_s=0.56}.
 *
 * <p>Warm-up as in LlamaAnchorBench: the smallest prompt and an 8-token decode alternate unmeasured for
 * {@code --warmup-s} seconds (at least twice) so that the JIT has compiled both engines' kernels; then each test
 * runs once unmeasured. The random ids come from the same seed in both engines' processes, so both see the same ids.
 *
 * <p>Usage: {@code JlamaAnchorBench MODEL --engine panthera|jlama [-t THREADS] [-p N[,N...]] [-n N_GEN] [-r REPS]
 * [--warmup-s S]}; MODEL is a folder (either engine) or, for ours, a GGUF file.
 */
public final class JlamaAnchorBench {
    private JlamaAnchorBench() {}

    public static void main(String[] args) {
        if (args.length < 1) throw new IllegalArgumentException("usage: JlamaAnchorBench FOLDER --engine E [options]");
        Path folder = Path.of(args[0]); // a folder, or a GGUF file for our engine
        String engine = null;
        int threads = 1, gen = 0, reps = 5;
        int[] prompts = {};
        double warmup = 10;
        for (int i = 1; i < args.length; i += 2) {
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value after " + args[i]);
            String v = args[i + 1];
            switch (args[i]) {
                case "--engine" -> engine = v;
                case "-t" -> threads = Integer.parseInt(v);
                case "-p" ->
                    prompts = java.util.Arrays.stream(v.split(","))
                            .mapToInt(Integer::parseInt)
                            .toArray();
                case "-n" -> gen = Integer.parseInt(v);
                case "-r" -> reps = Integer.parseInt(v);
                case "--warmup-s" -> warmup = Double.parseDouble(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        int maxPrompt = java.util.Arrays.stream(prompts).max().orElse(0);
        int context = Math.max(maxPrompt, gen);
        if (threads < 1
                || reps < 1
                || gen < 0
                || context == 0
                || java.util.Arrays.stream(prompts).anyMatch(p -> p < 1))
            throw new IllegalArgumentException("JlamaAnchorBench: need -t ≥ 1, -r ≥ 1 and -p (each ≥ 1) or -n > 0");
        if (context > JlamaFixtures.CONTEXT)
            throw new IllegalArgumentException("JlamaAnchorBench: " + context + " positions exceed the context "
                    + JlamaFixtures.CONTEXT + " of the model");
        try (var ng = Autograd.noGrad();
                Engine e = open(engine, folder, threads, context)) {
            System.err.println("engine: " + e.describe() + ", threads " + threads);
            SplittableRandom rng = new SplittableRandom(1234);
            int n = gen;
            int first = java.util.Arrays.stream(prompts).min().orElse(0);
            long warmEnd = System.nanoTime() + (long) (warmup * 1e9);
            for (int i = 0; i < 2 || System.nanoTime() < warmEnd; i++) {
                if (first > 0) prompt(e, rng, first);
                if (n > 0) generate(e, rng, Math.min(n, 8));
            }
            for (int p : prompts) report("pp", p, threads, reps, () -> prompt(e, rng, p));
            if (n > 0) report("tg", n, threads, reps, () -> generate(e, rng, n));
        }
        System.exit(0); // Jlama's pool threads are not daemons
    }

    static Engine open(String engine, Path folder, int threads, int context) {
        if (engine == null) throw new IllegalArgumentException("JlamaAnchorBench: --engine panthera|jlama is required");
        return switch (engine) {
            case "panthera" -> new JlamaEngines.Panthera(folder, threads, context);
            case "jlama" -> new JlamaEngines.Jlama(folder, threads);
            default -> throw new IllegalArgumentException("JlamaAnchorBench: unknown engine " + engine);
        };
    }

    /** BOS then {@code n − 1} random ids, as one prefill. */
    static void prompt(Engine e, SplittableRandom rng, int n) {
        int[] ids = new int[n];
        ids[0] = 1;
        for (int i = 1; i < n; i++) ids[i] = rng.nextInt(JlamaFixtures.VOCAB);
        e.prefill(ids, false);
    }

    /** BOS as a one-token prefill, then {@code n − 1} random ids decoded one by one: n forwards in all. */
    static void generate(Engine e, SplittableRandom rng, int n) {
        e.prefill(new int[] {1}, false);
        for (int i = 1; i < n; i++) e.decode(rng.nextInt(JlamaFixtures.VOCAB), i, false);
    }

    private static void report(String kind, int n, int threads, int reps, Runnable test) {
        test.run(); // unmeasured, as llama.cpp's first run
        double[] rates = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            test.run();
            rates[i] = n * 1e9 / (System.nanoTime() - t0);
        }
        double mean = java.util.Arrays.stream(rates).average().orElseThrow(), var = 0;
        for (double x : rates) var += (x - mean) * (x - mean);
        double sd = reps > 1 ? Math.sqrt(var / (reps - 1)) : 0;
        System.out.println(String.format(
                Locale.ROOT,
                "test=%s%d threads=%d reps=%d mean_tok_s=%.2f sd_tok_s=%.2f",
                kind,
                n,
                threads,
                reps,
                mean,
                sd));
        System.out.flush();
    }
}
