package dev.panthera.bench;

import java.util.Arrays;

/**
 * {@link BertEmbedBench}'s two engines, ours and ONNX Runtime, alternating in one JVM (which one goes first alternates
 * too; each turn times three forwards after an untimed one), after a warm-up of both: on a host whose speed drifts within minutes, a ratio taken
 * pair by pair shows what two separate JMH runs, seconds or minutes apart, do not. Prints one line per (model, shape,
 * threads): the median of ours / ORT over the pairs, its quartiles, and each engine's median time.
 *
 * <pre>./panthera java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp jmh/target/benchmarks.jar \
 *     dev.panthera.bench.BertPairs all-minilm-l6-v2 1x128,8x128 1,2 100 20</pre>
 *
 * Arguments: model, shapes, thread counts, pairs per case, warm-up seconds per case.
 */
public final class BertPairs {
    private BertPairs() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: BertPairs MODEL SHAPES THREADS PAIRS WARMUP_SECONDS");
            System.exit(2);
        }
        String model = args[0];
        int pairs = Integer.parseInt(args[3]);
        long warmup = Long.parseLong(args[4]) * 1_000_000_000L;
        for (String shape : args[1].split(",")) {
            for (String t : args[2].split(",")) {
                BertEmbedBench b = new BertEmbedBench();
                b.modelName = model;
                b.shape = shape;
                b.threads = Integer.parseInt(t);
                b.setup(); // also checks that both engines give the same embeddings
                try {
                    long end = System.nanoTime() + warmup;
                    while (System.nanoTime() < end) {
                        b.panthera();
                        b.onnxRuntime();
                    }
                    double[] ours = new double[pairs], ort = new double[pairs], ratio = new double[pairs];
                    for (int i = 0; i < pairs; i++) {
                        boolean oursFirst = (i & 1) == 0;
                        if (oursFirst) ours[i] = time(b, true);
                        ort[i] = time(b, false);
                        if (!oursFirst) ours[i] = time(b, true);
                        ratio[i] = ours[i] / ort[i];
                    }
                    Arrays.sort(ours);
                    Arrays.sort(ort);
                    Arrays.sort(ratio);
                    System.out.printf(
                            "model=%s shape=%s threads=%s pairs=%d ratio_median=%.3f ratio_q1=%.3f ratio_q3=%.3f"
                                    + " panthera_ms=%.2f ort_ms=%.2f%n",
                            model,
                            shape,
                            t,
                            pairs,
                            ratio[pairs / 2],
                            ratio[pairs / 4],
                            ratio[3 * pairs / 4],
                            ours[pairs / 2],
                            ort[pairs / 2]);
                } finally {
                    b.tearDown();
                }
            }
        }
    }

    /**
     * The mean of three timed forwards of one engine after an untimed one: the untimed forward lets the other
     * engine's threads go idle first (ONNX Runtime's pool spins for a while after each run, which on two cores
     * takes the processor from our second thread).
     */
    private static double time(BertEmbedBench b, boolean ours) throws Exception {
        run(b, ours);
        long t = System.nanoTime();
        for (int i = 0; i < 3; i++) run(b, ours);
        return (System.nanoTime() - t) / 3e6;
    }

    private static void run(BertEmbedBench b, boolean ours) throws Exception {
        float[][] out = ours ? b.panthera() : b.onnxRuntime();
        if (out.length == 0) throw new IllegalStateException("BertPairs: no embeddings");
    }
}
