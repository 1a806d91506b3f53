package dev.panthera.bench.train;

import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.lora.Lora;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.simd.Sgemm;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * One training step (zero_grad, forward, cross-entropy over every position, backward, AdamW step) of nn's
 * {@link CausalLm} beside PyTorch's on the same model (transformers' LlamaForCausalLM, see
 * {@code jmh/src/main/python/train_step_anchor.py}), alternating in one run on a machine shared with other work:
 * per round, {@code steps} of ours, {@code steps} of PyTorch's, and an SGEMM of 512×512×512 on our {@link Sgemm} at
 * the same thread count. The table gives, per thread count, the best and the median step time of each, their ratio
 * (PyTorch's time over ours: above 1 means ours is faster), the median CPU time each process used per step (all its
 * threads: on a machine shared with other work the figure that depends least on how much of a core the scheduler
 * gave) and its ratio, the best SGEMM rate, and the model-FLOPs utilisation of each, 6 · parameters · tokens / best
 * step time over that SGEMM rate.
 *
 * <p>PyTorch runs in a child process, {@code $PANTHERA_PYTHON} or {@code /work/venv-peft/bin/python}, told its thread
 * count with torch.set_num_threads, in this process's environment (so OMP_WAIT_POLICY and the like pass through);
 * where neither starts, its columns say so and ours are still measured.
 *
 * <p>With mode {@code lora}, both sides wrap the same model in LoRA of rank 8, alpha 16, on q_proj and v_proj (ours:
 * nn's {@link Lora#apply} with {@link LoraConfig#of}; PyTorch's: peft's get_peft_model with the same LoraConfig),
 * freeze the base and give AdamW the adapters only. Its MFU counts 4 · frozen parameters + 6 · trainable parameters
 * per token: a frozen weight still does its forward (2 FLOPs per parameter per token) and its input gradient (2), but
 * no weight gradient. Peak memory: ours is the host pool's peak bytes in use over the timed steps (native tensors:
 * activations, gradients, parameters and optimizer state made through the pool) and the process's peak resident set
 * (VmHWM, reset through /proc/self/clear_refs before the model is built; it includes the JVM's heap and code);
 * PyTorch's is its child process's VmHWM.
 *
 * <p>Warm-up: at least 40 steps and 10 s, or, for a model whose step takes seconds, 3 steps and 60 s.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp
 * jmh/target/benchmarks.jar dev.panthera.bench.train.TrainStepBestOf [rounds] [threads,...] [dim ffn layers heads
 * vocab seq batch [full|lora [steps]]]} (defaults: 7 rounds, threads 1,2, the "Training memory" model 256 680 4 4 512
 * 32 4, full, 3 steps per round). The 110M shape: {@code 3 1,2 768 2048 12 12 32000 256 4 full 2}.
 */
public final class TrainStepBestOf {
    private TrainStepBestOf() {}

    private static final com.sun.management.OperatingSystemMXBean OS = (com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /** Model and batch sizes; {@code loraRank} 0 trains every weight, else LoRA of that rank on q_proj, v_proj. */
    record Shape(int dim, int ffn, int layers, int heads, int vocab, int seq, int batch, int loraRank) {}

    /** peft's LoraConfig of the lora mode, on both sides: r 8, lora_alpha 16, no dropout, these targets. */
    static final int LORA_RANK = 8;

    static final double LORA_ALPHA = 16;
    static final List<String> LORA_TARGETS = List.of("q_proj", "v_proj");

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        int[] threads = args.length > 1
                ? Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {1, 2};
        Shape s = args.length > 8
                ? new Shape(
                        Integer.parseInt(args[2]),
                        Integer.parseInt(args[3]),
                        Integer.parseInt(args[4]),
                        Integer.parseInt(args[5]),
                        Integer.parseInt(args[6]),
                        Integer.parseInt(args[7]),
                        Integer.parseInt(args[8]),
                        args.length > 9 && args[9].equals("lora") ? LORA_RANK : 0)
                : new Shape(256, 680, 4, 4, 512, 32, 4, 0);
        if (args.length > 9 && !args[9].equals("lora") && !args[9].equals("full"))
            throw new IllegalArgumentException("TrainStepBestOf: mode must be full or lora, got " + args[9]);
        int steps = args.length > 10 ? Integer.parseInt(args[10]) : 3;
        System.out.printf(
                Locale.ROOT,
                "model dim %d, ffn %d, %d layers, %d heads, vocab %d; batch %d x %d tokens; %s; %d rounds of %d"
                        + " steps%n",
                s.dim,
                s.ffn,
                s.layers,
                s.heads,
                s.vocab,
                s.batch,
                s.seq,
                s.loraRank == 0 ? "every weight trains" : "LoRA r " + s.loraRank + " on " + LORA_TARGETS,
                rounds,
                steps);
        StringBuilder table = new StringBuilder();
        table.append("| threads | Panthera best s/step | PyTorch best s/step | ratio (best) | Panthera median "
                + "| PyTorch median | ratio (median) | Panthera CPU s/step (median) | PyTorch CPU s/step (median) "
                + "| ratio (CPU) | SGEMM best GFLOP/s | MFU Panthera (best) | MFU PyTorch (best) | Panthera pool peak MiB "
                + "| Panthera peak RSS MiB | PyTorch peak RSS MiB | rounds |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (int t : threads) table.append(run(s, t, rounds, steps)).append('\n');
        System.out.println();
        System.out.print(table);
    }

    static String run(Shape s, int threads, int rounds, int steps) throws Exception {
        Sgemm.setThreads(threads);
        System.gc();
        PeakRss.reset();
        DecoderConfig cfg = DecoderConfig.of(s.dim, s.ffn, s.heads, s.heads, s.vocab, s.layers, s.seq + 1);
        CausalLm model = new CausalLm(cfg, new SplittableRandom(7));
        if (s.loraRank > 0) Lora.apply(model, LoraConfig.of(s.loraRank, LORA_ALPHA, 0, LORA_TARGETS), "default");
        AdamW opt = new AdamW(model.trainableParameters(), 3e-3);
        SplittableRandom rng = new SplittableRandom(0);
        long[] ids = new long[s.batch * (s.seq + 1)];
        for (int i = 0; i < ids.length; i++) ids[i] = rng.nextInt(s.vocab);
        long params = model.parameterCount(), trainable = model.trainableParameterCount();
        // full training: 6 FLOPs per parameter per token; LoRA: 4 per frozen parameter (forward and input gradient),
        // 6 per trainable one
        double flopsPerStep = (4.0 * (params - trainable) + 6.0 * trainable) * s.batch * s.seq;
        System.out.printf(Locale.ROOT, "Panthera: params=%d trainable=%d threads=%d%n", params, trainable, threads);
        try (TorchAnchor torch = TorchAnchor.start(s, threads);
                Arena arena = Arena.ofShared()) {
            int g = 512;
            MemorySegment a = fill(arena.allocate(4L * g * g, 64), 1), b = fill(arena.allocate(4L * g * g, 64), 2);
            MemorySegment c = arena.allocate(4L * g * g, 64);
            // warm-up: at least 40 steps and 10 s, so that C2 has compiled the step even when the JIT's own threads
            // share the cores with other work (a time limit alone left the first thread count half-interpreted)
            // (a step of seconds stops after 3 steps and 60 s)
            long warm0 = System.nanoTime();
            for (int w = 0; ; w++) {
                long spent = System.nanoTime() - warm0;
                if ((w >= 40 && spent >= 10_000_000_000L) || (w >= 3 && spent >= 60_000_000_000L)) break;
                step(model, opt, ids, s);
                Sgemm.sgemm(false, false, g, g, g, 1f, a, 0, g, b, 0, g, 0f, c, 0, g);
            }
            if (torch.available()) torch.run(steps * 3);
            double[] ours = new double[rounds * steps], theirs = new double[rounds * steps];
            double[] oursCpu = new double[rounds * steps], theirsCpu = new double[rounds * steps];
            double[] gemm = new double[rounds];
            Arrays.fill(theirs, Double.NaN);
            MemoryPool.host().resetPeak();
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < steps; i++) {
                    long t0 = System.nanoTime(), c0 = OS.getProcessCpuTime();
                    step(model, opt, ids, s);
                    ours[r * steps + i] = (System.nanoTime() - t0) / 1e9;
                    oursCpu[r * steps + i] = (OS.getProcessCpuTime() - c0) / 1e9;
                }
                if (torch.available()) {
                    double[][] t = torch.run(steps);
                    System.arraycopy(t[0], 0, theirs, r * steps, steps);
                    System.arraycopy(t[1], 0, theirsCpu, r * steps, steps);
                }
                double bestGemm = Double.MAX_VALUE;
                for (int i = 0; i < 5; i++) {
                    long t0 = System.nanoTime();
                    Sgemm.sgemm(false, false, g, g, g, 1f, a, 0, g, b, 0, g, 0f, c, 0, g);
                    bestGemm = Math.min(bestGemm, (System.nanoTime() - t0) / 1e9);
                }
                gemm[r] = 2.0 * g * g * g / bestGemm / 1e9;
                System.out.printf(
                        Locale.ROOT,
                        "threads %d round %d: ours %s s, PyTorch %s s, SGEMM %.1f GFLOP/s%n",
                        threads,
                        r + 1,
                        fmt(Arrays.copyOfRange(ours, r * steps, (r + 1) * steps)),
                        torch.available() ? fmt(Arrays.copyOfRange(theirs, r * steps, (r + 1) * steps)) : "n/a",
                        gemm[r]);
            }
            double poolMiB = MemoryPool.host().stats().peakBytesInUse() / 1048576.0;
            double rssMiB = PeakRss.kib() / 1024.0;
            double torchMiB = torch.available() ? torch.peakRssKib() / 1024.0 : Double.NaN;
            Arrays.sort(ours);
            Arrays.sort(theirs);
            Arrays.sort(oursCpu);
            Arrays.sort(theirsCpu);
            double oc = oursCpu[oursCpu.length / 2], tc = theirsCpu[theirsCpu.length / 2];
            double sgemm = Arrays.stream(gemm).max().orElseThrow();
            double ob = ours[0], om = ours[ours.length / 2];
            if (!torch.available()) {
                return String.format(
                        Locale.ROOT,
                        "| %d | %.4f | %s | | %.4f | | | %.4f | | | %.1f | %.1f%% | | %.0f | %.0f | | %d |",
                        threads,
                        ob,
                        torch.why(),
                        om,
                        oc,
                        sgemm,
                        100 * flopsPerStep / ob / 1e9 / sgemm,
                        poolMiB,
                        rssMiB,
                        rounds);
            }
            double tb = theirs[0], tm = theirs[theirs.length / 2];
            return String.format(
                    Locale.ROOT,
                    "| %d | %.4f | %.4f | %.2f | %.4f | %.4f | %.2f | %.4f | %.4f | %.2f | %.1f | %.1f%% | %.1f%% | %.0f | %.0f | %.0f "
                            + "| %d |",
                    threads,
                    ob,
                    tb,
                    tb / ob,
                    om,
                    tm,
                    tm / om,
                    oc,
                    tc,
                    tc / oc,
                    sgemm,
                    100 * flopsPerStep / ob / 1e9 / sgemm,
                    100 * flopsPerStep / tb / 1e9 / sgemm,
                    poolMiB,
                    rssMiB,
                    torchMiB,
                    rounds);
        }
    }

    /** One step as a PyTorch loop writes it; everything the step allocates goes back to the pool when it ends. */
    static double step(CausalLm model, AdamW opt, long[] ids, Shape s) {
        return step(model, opt, ids, s, null);
    }

    /**
     * {@link #step(CausalLm, AdamW, long[], Shape)}, writing into {@code marks} (when not null) the nanoTime at its
     * start, after the forward and loss, after the backward and after the optimizer step.
     */
    static double step(CausalLm model, AdamW opt, long[] ids, Shape s, long[] marks) {
        try (var scope = MemoryScope.open()) {
            if (marks != null) marks[0] = System.nanoTime();
            opt.zeroGrad();
            Tensor all = Tensor.of(ids, s.batch, s.seq + 1);
            Tensor in = all.narrow(1, 0, s.seq).contiguous(),
                    target = all.narrow(1, 1, s.seq).contiguous();
            Tensor loss = Losses.crossEntropy(model.forward(in), target);
            if (marks != null) marks[1] = System.nanoTime();
            loss.backward();
            if (marks != null) marks[2] = System.nanoTime();
            opt.step();
            if (marks != null) marks[3] = System.nanoTime();
            return loss.item();
        }
    }

    private static String fmt(double[] v) {
        StringBuilder b = new StringBuilder();
        for (double x : v) b.append(b.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.4f", x));
        return b.toString();
    }

    private static MemorySegment fill(MemorySegment m, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < m.byteSize() / 4; i++) m.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
        return m;
    }
}
