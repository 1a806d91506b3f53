package dev.panthera.bench.train;

import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.simd.Sgemm;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Where one of {@link TrainStepBestOf}'s training steps goes: the same model, batch and step (full training, AdamW),
 * timed in three phases — zero_grad with the forward and the loss, the backward, the optimizer step — over
 * {@code steps} steps after {@code warm} untimed ones, each step in a {@link dev.panthera.tensor.MemoryScope} of its own. Prints each
 * phase's median and minimum and the whole step's median, in milliseconds. Ours only: the builds to compare run in
 * fresh JVMs one after the other (two builds in one JVM, a class loader each, disturb each other's compiled code).
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp
 * jmh/target/benchmarks.jar dev.panthera.bench.train.TrainStepPhases [threads [steps [warm [dim ffn layers heads vocab
 * seq batch]]]]} (defaults: 1 thread, 150 steps, 300 warm-up steps, the 3.4M model 256 680 4 4 512 32 4).
 */
public final class TrainStepPhases {
    private TrainStepPhases() {}

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 150;
        int warm = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        int[] s = args.length > 9
                ? Arrays.stream(Arrays.copyOfRange(args, 3, 10))
                        .mapToInt(Integer::parseInt)
                        .toArray()
                : new int[] {256, 680, 4, 4, 512, 32, 4};
        if (threads < 1 || steps < 1 || warm < 0)
            throw new IllegalArgumentException(
                    "TrainStepPhases: threads and steps must be at least 1, warm at least 0");
        int dim = s[0], ffn = s[1], layers = s[2], heads = s[3], vocab = s[4], seq = s[5], batch = s[6];
        Sgemm.setThreads(threads);
        CausalLm model =
                new CausalLm(DecoderConfig.of(dim, ffn, heads, heads, vocab, layers, seq + 1), new SplittableRandom(7));
        AdamW opt = new AdamW(model.trainableParameters(), 3e-3);
        SplittableRandom rng = new SplittableRandom(0);
        long[] ids = new long[batch * (seq + 1)];
        for (int i = 0; i < ids.length; i++) ids[i] = rng.nextInt(vocab);
        TrainStepBestOf.Shape shape = new TrainStepBestOf.Shape(dim, ffn, layers, heads, vocab, seq, batch, 0);
        double[][] ms = new double[4][steps];
        long[] marks = new long[4];
        for (int it = -warm; it < steps; it++) {
            TrainStepBestOf.step(model, opt, ids, shape, marks);
            if (it >= 0) {
                for (int p = 0; p < 3; p++) ms[p][it] = (marks[p + 1] - marks[p]) / 1e6;
                ms[3][it] = (marks[3] - marks[0]) / 1e6;
            }
        }
        String[] names = {"forward", "backward", "optimizer", "step"};
        System.out.printf(
                Locale.ROOT,
                "TrainStepPhases: dim %d ffn %d layers %d heads %d vocab %d batch %d x %d, %d thread(s), %d steps%n",
                dim,
                ffn,
                layers,
                heads,
                vocab,
                batch,
                seq,
                threads,
                steps);
        for (int p = 0; p < 4; p++) {
            double[] v = ms[p].clone();
            Arrays.sort(v);
            System.out.printf(Locale.ROOT, "%-9s median %.2f ms  min %.2f ms%n", names[p], v[steps / 2], v[0]);
        }
    }
}
