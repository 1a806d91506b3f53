package dev.panthera.bench.llama;

import dev.panthera.models.llama.LlamaModel;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Our Llama measured the way the native llama.cpp anchor's {@code bench} mode (jmh/native/llama-anchor/anchor.cpp)
 * measures llama.cpp, and printed in its format, so that jmh/bench-vs-llamacpp.sh reads both alike. A test is either
 * prompt processing (pp: a fresh KV cache, then one forward of N_PROMPT ids, BOS then random ids, logits of the last
 * position only; one test per size listed) or text generation (tg: a fresh cache, then N_GEN single-token forwards, the first fed BOS and the
 * rest random ids, each producing the last position's logits; no sampling timed). A repetition's rate is its tokens
 * over its wall time; the line gives the mean and sample standard deviation of the rates of REPS repetitions:
 * {@code test=pp128 threads=1 reps=5 mean_tok_s=1234.56 sd_tok_s=7.89}. With {@code -d DEPTH} (llama-bench's
 * {@code --n-depth}), every run first fills the cleared cache with DEPTH tokens (BOS then random ids, one forward,
 * untimed) and the timed test follows at position DEPTH, its name followed by {@code @dDEPTH} ({@code test=tg32@d512}),
 * as the anchor does. {@code -ctk f32|f16|bf16} keeps the KV cache in that dtype (the anchor's {@code -ctk}; ours is
 * F32 unless told).
 *
 * <p>The one difference in method is the warm-up: llama.cpp (compiled ahead of time) runs each test once unmeasured;
 * here, before any test, every listed prompt and the decode run in turn, unmeasured, until at least
 * {@code --warmup-s} seconds (default 10) have passed and a whole turn added less than {@link #SETTLED} of JIT
 * compile time per second of the turn's wall time (at most {@code --warmup-max-s}, default 120). Both conditions
 * matter on a two-processor machine: the compiler thread needs one of the two processors, and a decode on two
 * threads measured while it still compiles (or recompiles what a longer prompt's profile changed) runs well below
 * its rate once the compiler is idle (see BENCHMARKS.md). How long that took goes to standard error
 * ({@code warm-up 23.1 s, 4 turns, last turn's compile time 0.4% of it}), so the cost of reaching the steady state is
 * on record beside the rates. Then each test runs once unmeasured, as llama.cpp's do.
 *
 * <p>Usage: {@code LlamaAnchorBench MODEL.gguf [-t THREADS] [-p N_PROMPT[,N_PROMPT...]] [-n N_GEN] [-r REPS]
 * [-d DEPTH] [-ctk f32|f16|bf16] [--warmup-s S] [--warmup-max-s S]}.
 */
public final class LlamaAnchorBench {
    private LlamaAnchorBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) throw new IllegalArgumentException("usage: LlamaAnchorBench MODEL.gguf [options]");
        Path model = Path.of(args[0]);
        int threads = 1, gen = 0, reps = 5, depth = 0;
        int[] prompts = {};
        DType cache = null;
        double warmup = 10, warmupMax = 120;
        for (int i = 1; i < args.length; i += 2) {
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value after " + args[i]);
            String v = args[i + 1];
            switch (args[i]) {
                case "-t" -> threads = Integer.parseInt(v);
                case "-p" ->
                    prompts = Arrays.stream(v.split(","))
                            .mapToInt(Integer::parseInt)
                            .toArray();
                case "-n" -> gen = Integer.parseInt(v);
                case "-r" -> reps = Integer.parseInt(v);
                case "-d" -> depth = Integer.parseInt(v);
                case "-ctk" -> {
                    try {
                        cache = KvCache.typeNamed(v);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("-ctk " + e.getMessage());
                    }
                }
                case "--warmup-s" -> warmup = Double.parseDouble(v);
                case "--warmup-max-s" -> warmupMax = Double.parseDouble(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        int maxPrompt = Arrays.stream(prompts).max().orElse(0);
        if (threads < 1
                || reps < 1
                || gen < 0
                || depth < 0
                || maxPrompt + gen == 0
                || Arrays.stream(prompts).anyMatch(p -> p < 0))
            throw new IllegalArgumentException("LlamaAnchorBench: need -t ≥ 1, -r ≥ 1, -d ≥ 0 and -p or -n > 0");
        dev.panthera.simd.Sgemm.setThreads(threads);
        try (LlamaModel m = LlamaModel.load(model);
                var ng = Autograd.noGrad()) {
            int n = gen;
            Runner r = new Runner(m, Math.max(maxPrompt, n), depth, cache);
            warm(r, prompts, n, warmup, Math.max(warmup, warmupMax));
            String at = depth > 0 ? "@d" + depth : "";
            for (int p : prompts) if (p > 0) report("pp" + p + at, p, threads, reps, r::fill, () -> r.prompt(p));
            if (n > 0) report("tg" + n + at, n, threads, reps, r::fill, () -> r.generate(n));
        }
    }

    /**
     * The largest share of a warm-up turn's wall time the JIT may still spend compiling for the turn to count as
     * settled: 1%, a few milliseconds per turn of a small model.
     */
    static final double SETTLED = 0.01;

    /** Runs every test in turn, unmeasured, until {@code min} seconds have passed and the JIT has settled, or {@code max}. */
    private static void warm(Runner r, int[] prompts, int n, double min, double max) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
        long start = System.nanoTime();
        int turns = 0;
        double share = Double.NaN;
        while (true) {
            long t0 = System.nanoTime(), c0 = timed ? jit.getTotalCompilationTime() : 0;
            for (int p : prompts) {
                if (p > 0) {
                    r.fill();
                    r.prompt(p);
                }
            }
            if (n > 0) {
                r.fill();
                r.generate(n);
            }
            turns++;
            long t1 = System.nanoTime();
            share = timed ? (jit.getTotalCompilationTime() - c0) * 1e6 / (t1 - t0) : 0;
            double elapsed = (t1 - start) / 1e9;
            if (turns >= 2 && elapsed >= min && share < SETTLED) break;
            if (elapsed >= max) break;
        }
        System.err.println(String.format(
                Locale.ROOT,
                "warm-up %.1f s, %d turns, last turn's compile time %.1f%% of it%s",
                (System.nanoTime() - start) / 1e9,
                turns,
                100 * share,
                share < SETTLED ? "" : " (not settled: stopped at --warmup-max-s)"));
    }

    /** Runs {@code setup} untimed before each run of {@code test}, the first run unmeasured. */
    private static void report(String name, int n, int threads, int reps, Runnable setup, Runnable test) {
        setup.run();
        test.run(); // unmeasured, as llama.cpp's first run
        List<Double> rates = new ArrayList<>();
        for (int i = 0; i < reps; i++) {
            setup.run();
            long t0 = System.nanoTime();
            test.run();
            rates.add(n * 1e9 / (System.nanoTime() - t0));
        }
        double mean = rates.stream().mapToDouble(Double::doubleValue).average().orElseThrow(), var = 0;
        for (double x : rates) var += (x - mean) * (x - mean);
        double sd = reps > 1 ? Math.sqrt(var / (reps - 1)) : 0;
        System.out.println(String.format(
                Locale.ROOT,
                "test=%s threads=%d reps=%d mean_tok_s=%.2f sd_tok_s=%.2f",
                name,
                threads,
                reps,
                mean,
                sd));
        System.out.flush();
    }

    /**
     * The two tests over one model; ids are BOS then uniformly random ids of the vocabulary (BOS first in the depth's
     * tokens when there are some, else first in the test's).
     */
    private static final class Runner {
        private final LlamaModel m;
        private final int vocab, bos, depth;
        /** One cache for every run, cleared before each: the anchor also clears its context outside the timing. */
        private final KvCache cache;

        private final SplittableRandom rng = new SplittableRandom(1234);

        Runner(LlamaModel m, int context, int depth, DType cacheType) {
            this.m = m;
            this.vocab = m.config().vocab();
            this.bos = m.config().bos();
            this.depth = depth;
            this.cache = m.newCache(context + depth, cacheType);
        }

        /** Clears the cache and fills its first {@code depth} positions. */
        void fill() {
            cache.clear();
            if (depth > 0) forward(depth, 0);
        }

        /** One forward of n ids at position {@code depth}, after {@link #fill}. */
        void prompt(int n) {
            forward(n, depth);
        }

        private void forward(int n, int at) {
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) ids[i] = i == 0 && at == 0 ? bos : rng.nextInt(vocab);
            try (var scope = MemoryScope.open()) {
                m.forward(Tensor.of(ids, 1, n), at, cache, null, true).toFloatArray();
            }
        }

        /** n single-id forwards from position {@code depth}, after {@link #fill}. */
        void generate(int n) {
            int id = depth == 0 ? bos : rng.nextInt(vocab);
            for (int i = 0; i < n; i++) {
                try (var scope = MemoryScope.open()) {
                    m.forward(Tensor.of(new int[] {id}, 1, 1), depth + i, cache, null, true)
                            .toFloatArray();
                }
                id = rng.nextInt(vocab);
            }
        }
    }
}
