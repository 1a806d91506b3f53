package dev.panthera.bench.llama;

import dev.panthera.models.llama.LlamaModel;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.simd.GemmConfig;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Our Llama on 1 and on 2 threads in one process, alternating (1, 2, 1, 2, ...) so that both see the same machine
 * load: per round a tg32 (BOS then 31 random ids, one forward each, last position's logits, a fresh cache) and a pp
 * of {@code PROMPT} tokens, as {@link LlamaAnchorBench} measures them; the thread count is switched with
 * {@link GemmConfig#use()} scopes, so the same JIT-compiled code serves both. Prints the median and best tok/s of
 * each and the ratios 2 threads / 1 thread of the medians and of the bests.
 *
 * <p>Usage: {@code LlamaThreadScaling MODEL.gguf [ROUNDS (9)] [PROMPT (128)] [WARMUP_S (10)]}.
 */
public final class LlamaThreadScaling {
    private LlamaThreadScaling() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) throw new IllegalArgumentException("usage: LlamaThreadScaling MODEL.gguf [rounds] [pp]");
        Path model = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 9;
        int pp = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        double warmup = args.length > 3 ? Double.parseDouble(args[3]) : 10;
        int tg = 32;
        try (LlamaModel m = LlamaModel.load(model);
                var ng = Autograd.noGrad()) {
            SplittableRandom rng = new SplittableRandom(1234);
            long warmEnd = System.nanoTime() + (long) (warmup * 1e9);
            for (int i = 0; i < 2 || System.nanoTime() < warmEnd; i++) {
                for (int t = 1; t <= 2; t++) {
                    try (var scope = GemmConfig.of(t).use()) {
                        generate(m, 8, rng);
                        prompt(m, Math.min(pp, 32), rng);
                    }
                }
            }
            double[][] dec = new double[3][rounds], pre = new double[3][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int t = 1; t <= 2; t++) {
                    try (var scope = GemmConfig.of(t).use()) {
                        long t0 = System.nanoTime();
                        generate(m, tg, rng);
                        dec[t][r] = tg * 1e9 / (System.nanoTime() - t0);
                        t0 = System.nanoTime();
                        prompt(m, pp, rng);
                        pre[t][r] = pp * 1e9 / (System.nanoTime() - t0);
                    }
                }
            }
            System.out.println("| model | test | 1 thread median | 2 threads median | ratio | 1 thread best | "
                    + "2 threads best | ratio | rounds |");
            System.out.println("|---|---|---|---|---|---|---|---|---|");
            row(model, "tg" + tg, dec, rounds);
            row(model, "pp" + pp, pre, rounds);
        }
    }

    private static void row(Path model, String test, double[][] v, int rounds) {
        double[] one = v[1].clone(), two = v[2].clone();
        Arrays.sort(one);
        Arrays.sort(two);
        double m1 = one[rounds / 2], m2 = two[rounds / 2], b1 = one[rounds - 1], b2 = two[rounds - 1];
        System.out.println(String.format(
                Locale.ROOT,
                "| %s | %s | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %d |",
                model.getFileName(),
                test,
                m1,
                m2,
                m2 / m1,
                b1,
                b2,
                b2 / b1,
                rounds));
    }

    private static void generate(LlamaModel m, int n, SplittableRandom rng) {
        KvCache cache = m.newCache(Math.max(n, 1));
        int id = m.config().bos();
        for (int i = 0; i < n; i++) {
            try (var scope = MemoryScope.open()) {
                m.forward(Tensor.of(new int[] {id}, 1, 1), i, cache, null, true).toFloatArray();
            }
            id = rng.nextInt(m.config().vocab());
        }
    }

    private static void prompt(LlamaModel m, int n, SplittableRandom rng) {
        KvCache cache = m.newCache(n);
        int[] ids = new int[n];
        ids[0] = m.config().bos();
        for (int i = 1; i < n; i++) ids[i] = rng.nextInt(m.config().vocab());
        try (var scope = MemoryScope.open()) {
            m.forward(Tensor.of(ids, 1, n), 0, cache, null, true).toFloatArray();
        }
    }
}
