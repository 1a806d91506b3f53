package dev.panthera.nn.bench;

import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.lora.Lora;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.nn.optim.Lomo;
import dev.panthera.nn.optim.Optimizer;
import dev.panthera.nn.optim.Sgd;
import dev.panthera.nn.optim.Swan;
import dev.panthera.tensor.Backends;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Trains the same small LLaMA-style decoder with AdamW, SGD (momentum), LOMO and SWAN, and LoRA (AdamW on the adapter),
 * and prints, per run, the bytes held by parameters, gradients and optimizer state at the step's peak, and the loss
 * curve. The gradient column is measured, not computed: the host pool's peak bytes in use during backward and update
 * above the forward's ({@link BackwardPeak}), over the same releasing backward for every optimizer, so it holds the
 * gradients (all of them for AdamW/SGD/SWAN, one at a time for LOMO), the intermediate gradients in flight and the
 * update's temporaries. State bytes are the storage sizes of the optimizer's GC-managed moments.
 *
 * <p>Corpus: token streams from a fixed random sparse Markov chain (each token has 4 successors), so the loss can fall
 * from ln(vocab) toward about ln 4. The LoRA run fine-tunes the AdamW-trained model (r=8, α=16, all linear layers but
 * lm_head, AdamW lr 1e-2) on a second chain. Run: see BENCHMARKS.md ("Training memory").
 *
 * <p>Arguments: steps dim layers heads vocab seq batch (defaults 30 128 4 4 512 32 4).
 */
public final class TrainMemory {
    private TrainMemory() {}

    record Result(
            String name, long params, long trainable, long grads, long state, double[] losses, double secondsPerStep) {}

    public static void main(String[] args) {
        int steps = arg(args, 0, 30), dim = arg(args, 1, 128), layers = arg(args, 2, 4), heads = arg(args, 3, 4);
        int vocab = arg(args, 4, 512), seq = arg(args, 5, 32), batch = arg(args, 6, 4);
        DecoderConfig cfg = DecoderConfig.of(dim, dim * 8 / 3 / 8 * 8, heads, heads, vocab, layers, seq + 1);
        System.out.printf(
                Locale.ROOT,
                "backend %s; model dim %d, ffn %d, %d layers, %d heads, vocab %d; batch %d x seq %d; %d steps%n",
                Backends.forDevice(dev.panthera.tensor.Device.CPU).getClass().getSimpleName(),
                cfg.dim(),
                cfg.hidden(),
                layers,
                heads,
                vocab,
                batch,
                seq,
                steps);
        long[][] data = corpus(vocab, batch, seq + 1, steps, 1);
        List<Result> results = new ArrayList<>();
        String only = args.length > 7 ? args[7] : "";
        CausalLm pretrained = null;
        for (String opt : new String[] {"AdamW", "SGD", "LOMO", "SWAN"}) {
            if (!only.isEmpty() && !opt.startsWith(only)) continue;
            CausalLm model = new CausalLm(cfg, new SplittableRandom(7));
            results.add(run(opt, model, data, batch, seq, steps));
            if (opt.equals("AdamW")) pretrained = model;
        }
        if (pretrained != null) {
            // LoRA fine-tuning of the AdamW-trained model on a different chain (seed 2): all linear layers but lm_head
            Lora.apply(
                    pretrained,
                    LoraConfig.of(8, 16, 0, List.of(LoraConfig.ALL_LINEAR)).withSeed(3),
                    "default");
            results.add(
                    run("LoRA r=8 (AdamW)", pretrained, corpus(vocab, batch, seq + 1, steps, 2), batch, seq, steps));
        }
        System.out.println();
        System.out.println(
                "| optimizer | params (total / trainable) | param bytes | backward+update peak (pool) | state bytes | params+peak+state | vs AdamW | loss first → last | s/step |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        long adam = 1;
        for (Result r : results) {
            long paramBytes = r.params * 4;
            long total = paramBytes + r.grads + r.state;
            if (r.name.equals("AdamW")) adam = total;
            String ratio = adam == 1 ? "n/a" : String.format(Locale.ROOT, "%.2f", (double) total / adam);
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %,d / %,d | %s | %s | %s | %s | %s | %.3f → %.3f | %.2f |%n",
                    r.name,
                    r.params,
                    r.trainable,
                    mib(paramBytes),
                    mib(r.grads),
                    mib(r.state),
                    mib(total),
                    ratio,
                    r.losses[0],
                    r.losses[r.losses.length - 1],
                    r.secondsPerStep);
        }
        System.out.println();
        System.out.println("loss curves (every " + Math.max(1, steps / 10) + " steps):");
        for (Result r : results) {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "  %-18s", r.name));
            for (int s = 0; s < steps; s += Math.max(1, steps / 10))
                sb.append(String.format(Locale.ROOT, " %.3f", r.losses[s]));
            sb.append(String.format(Locale.ROOT, " | last %.3f", r.losses[steps - 1]));
            System.out.println(sb);
        }
    }

    static Result run(String name, CausalLm model, long[][] data, int batch, int seq, int steps) {
        for (Tensor p : model.namedParameters().values()) p.zeroGrad(); // a reused model carries its last gradients
        List<Tensor> params = model.trainableParameters();
        Object opt = switch (name) {
            case "AdamW" -> new AdamW(params, 3e-3);
            case "SGD" -> new Sgd(params, 0.1, 0.9, 0, 0, false);
            case "LOMO" -> new Lomo(params, 0.3);
            case "SWAN" -> Swan.forModel(model, 3e-3);
            default -> new AdamW(params, 1e-2, 0.9, 0.999, 1e-8, 0);
        };
        double[] losses = new double[steps];
        long peakGrads = 0, peakState = 0;
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
            try (var scope = MemoryScope.open()) {
                Tensor all = Tensor.of(data[s], batch, seq + 1);
                Tensor in = all.narrow(1, 0, seq).contiguous(),
                        target = all.narrow(1, 1, seq).contiguous();
                Tensor loss = Losses.crossEntropy(model.forward(in), target);
                losses[s] = loss.item();
                if (opt instanceof Lomo lomo) {
                    peakGrads = Math.max(peakGrads, BackwardPeak.lomo(lomo, loss));
                } else {
                    Optimizer o = (Optimizer) opt;
                    peakGrads = Math.max(peakGrads, BackwardPeak.heldGradients(o, loss));
                    peakState = Math.max(peakState, o.stateBytes());
                }
            }
        }
        double sps = (System.nanoTime() - t0) / 1e9 / steps;
        System.out.printf(
                Locale.ROOT, "%-18s loss %.3f -> %.3f, %.2f s/step%n", name, losses[0], losses[steps - 1], sps);
        return new Result(
                name, model.parameterCount(), model.trainableParameterCount(), peakGrads, peakState, losses, sps);
    }

    /** batch rows of length len per step from a fixed sparse Markov chain (4 successors per token). */
    static long[][] corpus(int vocab, int batch, int len, int steps, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] next = new int[vocab][4];
        for (int v = 0; v < vocab; v++) for (int k = 0; k < 4; k++) next[v][k] = r.nextInt(vocab);
        long[][] out = new long[steps][batch * len];
        for (int s = 0; s < steps; s++)
            for (int b = 0; b < batch; b++) {
                int tok = r.nextInt(vocab);
                for (int i = 0; i < len; i++) {
                    out[s][b * len + i] = tok;
                    tok = next[tok][r.nextInt(4)];
                }
            }
        return out;
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.2f MiB", bytes / 1048576.0);
    }

    static int arg(String[] a, int i, int d) {
        return a.length > i ? Integer.parseInt(a[i]) : d;
    }
}
