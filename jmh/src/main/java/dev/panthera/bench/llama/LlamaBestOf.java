package dev.panthera.bench.llama;

import dev.panthera.bench.llama.LlamaEngines.Engine;
import dev.panthera.bench.llama.LlamaEngines.Prompt;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Llama decode and prefill beside llama.cpp (de.kherud:llama 4.2.0 in this JVM) on a machine shared with other
 * work: for each model and thread count both engines are loaded from the same F32 GGUF, warmed up, then run in
 * alternation (ours, theirs, ours, ...) and the table gives the best and the median tok/s of each and their ratios.
 * Rates come from differences of whole generations, so that per-request overhead (llama.cpp's task queue, our
 * cache set-up) cancels: decode = (N − 1) / (T(BOS, N tokens) − T(BOS, 1 token)); prefill-128 = 127 / (T(128-token
 * prompt, 1 token) − T(BOS, 1 token)). Usage: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp
 * jmh/target/benchmarks.jar dev.panthera.bench.llama.LlamaBestOf [rounds] [model:threads ...]} with model
 * stories260K, 110M, 1.1B-F16 or 1.1B-BF16 (TinyLlama's shape; see {@link LlamaFixtures}) (default: rounds 7, all
 * four of stories260K:1 stories260K:2 110M:1 110M:2).
 */
public final class LlamaBestOf {
    private LlamaBestOf() {}

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        String[] cases = args.length > 1
                ? Arrays.copyOfRange(args, 1, args.length)
                : new String[] {"stories260K:1", "stories260K:2", "110M:1", "110M:2"};
        System.out.println("| model | threads | phase | Panthera best tok/s | llama.cpp best tok/s | ratio (best) "
                + "| Panthera median | llama.cpp median | ratio (median) | rounds |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
        for (String c : cases) {
            String model = c.split(":")[0];
            int threads = Integer.parseInt(c.split(":")[1]);
            run(model, threads, rounds);
        }
        System.exit(0); // llama.cpp's server threads are not daemons
    }

    static void run(String model, int threads, int rounds) {
        Path gguf = LlamaFixtures.gguf(model);
        boolean small = model.equals("stories260K"), big = model.startsWith("1.1B");
        int decodeTokens = small ? 256 : big ? 16 : 32, context = small ? 512 : 1024;
        try (LlamaEngines.LlamaCpp theirs = new LlamaEngines.LlamaCpp(gguf, threads, context);
                Engine ours = new LlamaEngines.Panthera(gguf, threads)) {
            Prompt one = LlamaEngines.prompt(theirs.model, 1), long128 = LlamaEngines.prompt(theirs.model, 128);
            Engine[] engines = {ours, theirs};
            long warmEnd = System.nanoTime() + (small ? 4_000_000_000L : 8_000_000_000L);
            while (System.nanoTime() < warmEnd) {
                for (Engine e : engines) {
                    e.run(one, decodeTokens);
                    e.run(long128, 1);
                }
            }
            double[][] decode = new double[2][rounds], prefill = new double[2][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int e = 0; e < 2; e++) {
                    long t1 = engines[e].run(one, 1);
                    long tn = engines[e].run(one, decodeTokens);
                    long tp = engines[e].run(long128, 1);
                    decode[e][r] = (decodeTokens - 1) * 1e9 / (tn - t1);
                    prefill[e][r] = (long128.ids().length - 1) * 1e9 / (tp - t1);
                }
            }
            row(model, threads, "decode", decode, rounds);
            row(model, threads, "prefill-128", prefill, rounds);
        }
    }

    private static void row(String model, int threads, String phase, double[][] v, int rounds) {
        double[] a = v[0].clone(), b = v[1].clone();
        Arrays.sort(a);
        Arrays.sort(b);
        double ba = a[a.length - 1], bb = b[b.length - 1], ma = a[a.length / 2], mb = b[b.length / 2];
        System.out.println(String.format(
                Locale.ROOT,
                "| %s | %d | %s | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %d |",
                model,
                threads,
                phase,
                ba,
                bb,
                ba / bb,
                ma,
                mb,
                ma / mb,
                rounds));
        System.out.flush();
    }
}
