package dev.panthera.bench.llama;

import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.SamplingParams;
import dev.panthera.simd.Sgemm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Two GGUF files decoded in one JVM, one after the other in every round with the order flipped each round, for a
 * comparison on a machine whose speed moves between minutes (a quantization format against another, or a file
 * against a copy with some weights changed): both see the same minutes, the same JIT and the same heap. A round's
 * rate is (N − 1) / (T(N tokens) − T(1 token)) from BOS with greedy decoding and end of text ignored, so that the
 * per-generation set-up cancels. Usage: {@code java --add-modules jdk.incubator.vector
 * --enable-native-access=ALL-UNNAMED -cp jmh/target/benchmarks.jar dev.panthera.bench.llama.PairedDecode A.gguf B.gguf
 * [-t THREADS] [-r ROUNDS] [-n TOKENS] [-w WARMUP_S]} (defaults 1, 15, 33, 20). Prints each round's two rates, then
 * {@code a_median=… b_median=… b_over_a_median=… b_over_a_q1=… b_over_a_q3=… rounds=…}, the quartiles of the
 * per-round ratios.
 */
public final class PairedDecode {
    private PairedDecode() {}

    public static void main(String[] args) {
        if (args.length < 2 || args.length % 2 != 0) { // two files, then options in pairs
            System.err.println("usage: PairedDecode A.gguf B.gguf [-t THREADS] [-r ROUNDS] [-n TOKENS] [-w WARMUP_S]");
            System.exit(2);
        }
        int threads = 1, rounds = 15, tokens = 33;
        double warmup = 20;
        for (int i = 2; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "-t" -> threads = Integer.parseInt(args[i + 1]);
                case "-r" -> rounds = Integer.parseInt(args[i + 1]);
                case "-n" -> tokens = Integer.parseInt(args[i + 1]);
                case "-w" -> warmup = Double.parseDouble(args[i + 1]);
                default -> throw new IllegalArgumentException("PairedDecode: unknown option " + args[i]);
            }
        }
        if (threads < 1 || rounds < 1 || tokens < 2)
            throw new IllegalArgumentException(
                    "PairedDecode: threads " + threads + ", rounds " + rounds + ", tokens " + tokens);
        Sgemm.setThreads(threads);
        try (LlamaModel a = load(args[0]);
                LlamaModel b = load(args[1])) {
            Generator ga = new Generator(a), gb = new Generator(b);
            int[] sa = {start(a)}, sb = {start(b)};
            long end = System.nanoTime() + (long) (warmup * 1e9);
            do {
                rate(ga, sa, tokens);
                rate(gb, sb, tokens);
            } while (System.nanoTime() < end);
            double[] ra = new double[rounds], rb = new double[rounds], q = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                if (r % 2 == 0) {
                    ra[r] = rate(ga, sa, tokens);
                    rb[r] = rate(gb, sb, tokens);
                } else {
                    rb[r] = rate(gb, sb, tokens);
                    ra[r] = rate(ga, sa, tokens);
                }
                q[r] = rb[r] / ra[r];
                System.out.printf(Locale.ROOT, "round %d a_tok_s=%.2f b_tok_s=%.2f%n", r + 1, ra[r], rb[r]);
            }
            Arrays.sort(ra);
            Arrays.sort(rb);
            Arrays.sort(q);
            System.out.printf(
                    Locale.ROOT,
                    "a_median=%.2f b_median=%.2f b_over_a_median=%.3f b_over_a_q1=%.3f b_over_a_q3=%.3f rounds=%d"
                            + " threads=%d tokens=%d%n",
                    quantile(ra, 0.5),
                    quantile(rb, 0.5),
                    quantile(q, 0.5),
                    quantile(q, 0.25),
                    quantile(q, 0.75),
                    rounds,
                    threads,
                    tokens);
        }
        System.exit(0); // GEMM's helper threads
    }

    private static LlamaModel load(String file) {
        try {
            return LlamaModel.load(Path.of(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The file's BOS id, else 1 (llama's). */
    private static int start(LlamaModel m) {
        int bos = m.config().bos();
        return bos >= 0 && bos < m.config().vocab() ? bos : 1;
    }

    /** Decode tokens per second from the one-token prompt, the one-token generation's time taken off. */
    private static double rate(Generator g, int[] bos, int tokens) {
        long t0 = System.nanoTime();
        g.generate(bos, SamplingParams.greedy(tokens).withIgnoreEos(true), null);
        long t1 = System.nanoTime();
        g.generate(bos, SamplingParams.greedy(1).withIgnoreEos(true), null);
        long t2 = System.nanoTime();
        return (tokens - 1) * 1e9 / ((t1 - t0) - (t2 - t1));
    }

    /** The q-quantile of sorted values, by linear interpolation between order statistics. */
    private static double quantile(double[] sorted, double q) {
        double at = q * (sorted.length - 1);
        int lo = (int) Math.floor(at), hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo]);
    }
}
