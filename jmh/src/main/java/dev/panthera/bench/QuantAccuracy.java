package dev.panthera.bench;

import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.GgufConvert;
import dev.panthera.models.llama.LinearMaker;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.LlamaQuantizers;
import dev.panthera.models.llama.Perplexity;
import dev.panthera.models.llama.SamplingParams;
import dev.panthera.quant.SmoothQuant;
import dev.panthera.quant.ggml.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The accuracy table of BENCHMARKS.md: a llama2.c checkpoint (stories260K) in every quantized format against its F32
 * self over one token stream: perplexity of both, mean and max KL(P_F32 ‖ P_quant) per position and top-1
 * agreement ({@link Perplexity#compare}). The tokens are stories sampled from the F32 model (temperature 1, fixed
 * seeds), each one context window long and scored on its own; SmoothQuant calibrates on separately seeded stories.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp jmh/target/benchmarks.jar dev.panthera.bench.QuantAccuracy
 * ../shared/data/stories260K.bin}
 */
public final class QuantAccuracy {
    private QuantAccuracy() {}

    /** BOS and {@code tokens} sampled after it (temperature 1, {@code seed}). */
    static int[] sample(LlamaModel m, int tokens, long seed) {
        int[] t = new Generator(m)
                .generate(new int[0], SamplingParams.sample(tokens, 1.0, seed).withIgnoreEos(true), null)
                .tokens();
        int[] out = new int[t.length + 1];
        out[0] = 1;
        System.arraycopy(t, 0, out, 1, t.length);
        return out;
    }

    /**
     * {@link Perplexity#compare} over each story on its own (a story is one context window, so no story is scored
     * with another in its context), the per-position statistics pooled.
     */
    static Perplexity.Comparison compare(LlamaModel ref, LlamaModel q, int[][] stories) {
        List<Perplexity.Comparison> parts = new ArrayList<>();
        int n = 0;
        for (int[] s : stories) {
            parts.add(Perplexity.compare(ref, q, s));
            n += s.length - 1;
        }
        double[] lr = new double[n], lq = new double[n], kl = new double[n];
        boolean[] same = new boolean[n];
        int at = 0;
        for (Perplexity.Comparison c : parts) {
            int k = c.kl().length;
            System.arraycopy(c.reference().logProbs(), 0, lr, at, k);
            System.arraycopy(c.candidate().logProbs(), 0, lq, at, k);
            System.arraycopy(c.kl(), 0, kl, at, k);
            System.arraycopy(c.top1Same(), 0, same, at, k);
            at += k;
        }
        return new Perplexity.Comparison(new Perplexity.Score(lr), new Perplexity.Score(lq), kl, same);
    }

    /** Counts the projections {@code inner} quantizes (the rest stay float). */
    static final class Counting implements LinearMaker {
        final LinearMaker inner;
        int quantized, total;

        Counting(LinearMaker inner) {
            this.inner = inner;
        }

        @Override
        public dev.panthera.nn.Module linear(String name, float[] w, int out, int in, dev.panthera.tensor.Tensor b) {
            var m = inner.linear(name, w, out, in, b);
            total++;
            if (m != null) quantized++;
            return m;
        }

        @Override
        public float[] vector(String name, float[] v) {
            return inner.vector(name, v);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: QuantAccuracy MODEL.bin (a llama2.c checkpoint, e.g. stories260K.bin)");
            System.exit(2);
        }
        Path bin = Path.of(args[0]);
        Path dir = Files.createTempDirectory("quant-accuracy");
        try (LlamaModel ref = LlamaModel.load(bin)) {
            int window = ref.config().maxSeq();
            int[][] ids = new int[4][], calibration = new int[4][];
            for (int i = 0; i < ids.length; i++) ids[i] = sample(ref, window - 1, 1000 + i);
            for (int i = 0; i < calibration.length; i++) calibration[i] = sample(ref, window - 1, 5000 + i);
            System.out.printf(
                    Locale.ROOT,
                    "%d stories of %d tokens (BOS, then %d sampled from the F32 model at temperature 1, seeds"
                            + " 1000..%d), %d predicted positions%n%n",
                    ids.length,
                    window,
                    window - 1,
                    999 + ids.length,
                    ids.length * (window - 1));
            System.out.println("| format | file bytes | perplexity | mean KL | max KL | top-1 agreement |");
            System.out.println("|---|---|---|---|---|---|");
            Perplexity.Comparison self = compare(ref, ref, ids);
            System.out.printf(
                    Locale.ROOT,
                    "| F32 (reference) | %d | %.4f | 0 | 0 | 1 |%n",
                    Files.size(bin),
                    self.reference().perplexity());
            for (GgmlType t : GgufConvert.TYPES) {
                if (t == GgmlType.F32) continue;
                Path gguf = dir.resolve(t + ".gguf");
                GgufConvert.convert(bin, null, t, gguf);
                try (LlamaModel q = LlamaModel.load(gguf)) {
                    row("GGUF " + t, Files.size(gguf), compare(ref, q, ids));
                }
                Files.delete(gguf);
            }
            record Maker(String name, LinearMaker maker) {}
            var cal = LlamaQuantizers.calibrate(bin, null, calibration);
            List<Maker> makers = List.of(
                    new Maker("int8 per channel, weight-only", LlamaQuantizers.int8()),
                    new Maker("int4 g32 RTN", LlamaQuantizers.int4(32)),
                    new Maker("int4 g64 RTN", LlamaQuantizers.int4(64)),
                    new Maker("int4 g128 RTN", LlamaQuantizers.int4(128)),
                    new Maker("NF4 block 64, double quant", LlamaQuantizers.nf4()),
                    new Maker("W8A8 (per-token int8 activations)", LlamaQuantizers.w8a8()),
                    new Maker(
                            "SmoothQuant a=0.5 + W8A8",
                            LlamaQuantizers.smoothQuant(cal, SmoothQuant.DEFAULT_ALPHA, true)),
                    new Maker("SmoothQuant a=0.5 folded, float", LlamaQuantizers.smoothQuant(cal, 0.5, false)));
            for (Maker mk : makers) {
                Counting c = new Counting(mk.maker());
                try (LlamaModel q = LlamaModel.load(bin, null, c)) {
                    row(mk.name() + " (" + c.quantized + " of " + c.total + " projections)", -1, compare(ref, q, ids));
                }
            }
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static void row(String name, long bytes, Perplexity.Comparison c) {
        System.out.printf(
                Locale.ROOT,
                "| %s | %s | %.4f | %.6f | %.5f | %.4f |%n",
                name,
                bytes < 0 ? "—" : Long.toString(bytes),
                c.candidate().perplexity(),
                c.meanKl(),
                c.maxKl(),
                c.top1Agreement());
    }
}
