package dev.panthera.bench.llama;

import dev.panthera.models.llama.BatchGenerator;
import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.SamplingParams;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.simd.Sgemm;
import dev.panthera.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Batched greedy decode ({@link BatchGenerator}: B prompts of different lengths, left-padded, one forward per step for
 * all rows) beside one prompt decoded alone ({@link Generator}), in one JVM. Each round times a generation of one new
 * token and one of N new tokens, for the batch and then for the first prompt alone; the decode rate is the extra
 * tokens over the extra time (B·(N − 1) or N − 1 tokens), so the prompts' prefill cancels out. Prompt r has
 * P − r·P/(2B) tokens (BOS then random ids), so the batch holds padding. Rounds run for S seconds (default 30); the
 * line gives the mean over the second half of the rounds (the first half warms the JIT):
 * {@code test=batch4 threads=1 cache=f32 prompt=32 new=65 rounds=12 decode_tok_s=203.8 single_tok_s=221.0}.
 *
 * <p>Usage: {@code BatchDecodeBench MODEL [-t THREADS] [-b BATCH] [-p PROMPT] [-n NEW] [-ctk f32|f16|bf16] [-s S]}.
 */
public final class BatchDecodeBench {
    private BatchDecodeBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) throw new IllegalArgumentException("usage: BatchDecodeBench MODEL [options]");
        Path model = Path.of(args[0]);
        int threads = 1, batch = 4, prompt = 32, gen = 65;
        double seconds = 30;
        DType cache = null;
        for (int i = 1; i < args.length; i += 2) {
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value after " + args[i]);
            String v = args[i + 1];
            switch (args[i]) {
                case "-t" -> threads = Integer.parseInt(v);
                case "-b" -> batch = Integer.parseInt(v);
                case "-p" -> prompt = Integer.parseInt(v);
                case "-n" -> gen = Integer.parseInt(v);
                case "-s" -> seconds = Double.parseDouble(v);
                case "-ctk" -> {
                    try {
                        cache = KvCache.typeNamed(v);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("-ctk " + e.getMessage());
                    }
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (batch < 1 || prompt < 1 || gen < 2) throw new IllegalArgumentException("need -b ≥ 1, -p ≥ 1, -n ≥ 2");
        Sgemm.setThreads(threads);
        try (LlamaModel m = LlamaModel.load(model)) {
            SplittableRandom rng = new SplittableRandom(3);
            List<int[]> prompts = new ArrayList<>();
            for (int r = 0; r < batch; r++) {
                int[] p = new int[Math.max(1, prompt - r * prompt / (2 * batch))];
                p[0] = Math.max(0, m.config().bos());
                for (int i = 1; i < p.length; i++) p[i] = rng.nextInt(m.config().vocab());
                prompts.add(p);
            }
            SamplingParams one = SamplingParams.greedy(1).withIgnoreEos(true),
                    many = SamplingParams.greedy(gen).withIgnoreEos(true);
            BatchGenerator bg = new BatchGenerator(m, cache);
            Generator g = new Generator(m, cache);
            List<double[]> rates = new ArrayList<>();
            long end = System.nanoTime() + (long) (seconds * 1e9);
            while (System.nanoTime() < end) {
                long t0 = System.nanoTime();
                bg.generate(prompts, one);
                long t1 = System.nanoTime();
                bg.generate(prompts, many);
                long t2 = System.nanoTime();
                g.generate(prompts.get(0), one, null);
                long t3 = System.nanoTime();
                g.generate(prompts.get(0), many, null);
                long t4 = System.nanoTime();
                rates.add(new double[] {
                    (double) batch * (gen - 1) * 1e9 / ((t2 - t1) - (t1 - t0)),
                    (gen - 1) * 1e9 / ((t4 - t3) - (t3 - t2))
                });
            }
            List<double[]> last = rates.subList(rates.size() / 2, rates.size());
            double b = last.stream().mapToDouble(r -> r[0]).average().orElse(0),
                    s = last.stream().mapToDouble(r -> r[1]).average().orElse(0);
            System.out.printf(
                    Locale.ROOT,
                    "test=batch%d threads=%d cache=%s prompt=%d new=%d rounds=%d decode_tok_s=%.1f single_tok_s=%.1f%n",
                    batch,
                    threads,
                    cache == null ? "f32" : cache.name().toLowerCase(Locale.ROOT),
                    prompt,
                    gen,
                    rates.size(),
                    b,
                    s);
        }
    }
}
