package dev.panthera.bench;

import dev.panthera.nn.Module;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.layers.DecoderConfig;
import dev.panthera.nn.lora.Lora;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.nn.loss.Losses;
import dev.panthera.nn.optim.AdamW;
import dev.panthera.quant.bnb.FourBitCode;
import dev.panthera.quant.qlora.Linear4bit;
import dev.panthera.quant.qlora.QLora;
import dev.panthera.tensor.MemoryPool;
import dev.panthera.tensor.MemoryScope;
import dev.panthera.tensor.Tensor;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * QLoRA beside float LoRA on the same LLaMA-style decoder (nn's {@code CausalLm}, same seed, same adapter config:
 * r = 8, α = 16, every linear layer but lm_head, AdamW lr 1e-2, no dropout), trained on the same Markov-chain batches.
 * The QLoRA model is the float model quantized to NF4 (block 64, double-quantized absmax) before the adapter goes on.
 * Per run: the bytes of the weights as held (float parameters at their storage size; a {@link Linear4bit} at its
 * packed codes and absmax statistics), of the adapter's gradients and of AdamW's state, the most pooled tensor memory
 * one step takes (each step runs in a {@link MemoryScope}, which returns nothing to the pool before it closes, so the
 * growth of the host pool's bytes in use during a step is everything that step allocated: activations, temporaries
 * and gradients of non-leaf tensors), and seconds per step after warm-up steps. The two runs alternate step by step,
 * so a change in the machine's load affects both alike.
 *
 * <p>Arguments: steps warmup dim layers heads vocab seq batch (defaults 20 3 256 4 4 512 32 4).
 */
public final class QLoraMemory {
    private QLoraMemory() {}

    public static void main(String[] args) {
        int steps = arg(args, 0, 20), warm = arg(args, 1, 3), dim = arg(args, 2, 256), layers = arg(args, 3, 4);
        int heads = arg(args, 4, 4), vocab = arg(args, 5, 512), seq = arg(args, 6, 32), batch = arg(args, 7, 4);
        DecoderConfig cfg = DecoderConfig.of(dim, dim * 8 / 3 / 8 * 8, heads, heads, vocab, layers, seq + 1);
        System.out.printf(
                Locale.ROOT,
                "model dim %d, ffn %d, %d layers, %d heads, vocab %d; batch %d x seq %d; %d warm-up + %d timed steps%n",
                cfg.dim(),
                cfg.hidden(),
                layers,
                heads,
                vocab,
                batch,
                seq,
                warm,
                steps);
        long[][] data = corpus(vocab, batch, seq + 1, warm + steps, 1);
        LoraConfig lora =
                LoraConfig.of(8, 16, 0, List.of(LoraConfig.ALL_LINEAR)).withSeed(3);
        CausalLm dense = new CausalLm(cfg, new SplittableRandom(7));
        Lora.apply(dense, lora, "default");
        CausalLm q = new CausalLm(cfg, new SplittableRandom(7));
        QLora.prepare(q, FourBitCode.NF4, 64, true, lora, "default");
        Run f = new Run("float LoRA", dense), r = new Run("QLoRA (NF4, double quant)", q);
        for (int s = 0; s < warm + steps; s++) {
            f.step(data[s], batch, seq, s >= warm);
            r.step(data[s], batch, seq, s >= warm);
        }
        System.out.println();
        System.out.println("| run | weight bytes | trainable params | adapter grad bytes | AdamW state bytes | "
                + "pooled bytes per step (peak) | loss first → last | s/step |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (Run x : List.of(f, r))
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %s | %,d | %s | %s | %s | %.3f → %.3f | %.3f |%n",
                    x.name,
                    mib(weightBytes(x.model)),
                    x.model.trainableParameterCount(),
                    mib(x.grads),
                    mib(x.opt.stateBytes()),
                    mib(x.peak),
                    x.first,
                    x.last,
                    x.seconds / steps);
        System.out.printf(
                Locale.ROOT,
                "ratios QLoRA / float LoRA: weight bytes %.3f, pooled bytes per step %.3f, steps/s %.3f%n",
                (double) weightBytes(r.model) / weightBytes(f.model),
                (double) r.peak / f.peak,
                f.seconds / r.seconds);
    }

    /** One model, its optimizer and what its steps measured. */
    static final class Run {
        final String name;
        final CausalLm model;
        final AdamW opt;
        long peak, grads;
        double first = Double.NaN, last, seconds;

        Run(String name, CausalLm model) {
            this.name = name;
            this.model = model;
            this.opt = new AdamW(model.trainableParameters(), 1e-2, 0.9, 0.999, 1e-8, 0);
        }

        void step(long[] tokens, int batch, int seq, boolean timed) {
            MemoryPool pool = MemoryPool.host();
            long t0 = System.nanoTime();
            try (var scope = MemoryScope.open()) {
                long before = pool.stats().bytesInUse();
                Tensor all = Tensor.of(tokens, batch, seq + 1);
                Tensor in = all.narrow(1, 0, seq).contiguous(),
                        target = all.narrow(1, 1, seq).contiguous();
                Tensor loss = Losses.crossEntropy(model.forward(in), target);
                opt.zeroGrad();
                loss.backward();
                opt.step();
                double l = loss.item();
                if (Double.isNaN(first)) first = l;
                last = l;
                peak = Math.max(peak, pool.stats().bytesInUse() - before);
            }
            if (timed) seconds += (System.nanoTime() - t0) / 1e9;
            grads = Math.max(grads, gradBytes(model));
        }
    }

    /** Float parameters at their storage size, plus each 4-bit layer's packed codes and statistics. */
    static long weightBytes(Module m) {
        long n = 0;
        for (Tensor p : m.namedParameters().values()) n += p.numel() * p.dtype().byteSize();
        for (Module x : m.namedModules().values())
            if (x instanceof Linear4bit l) n += l.weight().byteSize(); // its bias is a parameter, counted above
        return n;
    }

    static long gradBytes(Module m) {
        long n = 0;
        for (Tensor p : m.namedParameters().values())
            if (p.grad() != null) n += p.grad().numel() * p.grad().dtype().byteSize();
        return n;
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
