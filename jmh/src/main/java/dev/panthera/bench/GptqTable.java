package dev.panthera.bench;

import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.LlamaQuantizer;
import dev.panthera.models.llama.LlamaQuantizer.Method;
import dev.panthera.models.llama.Perplexity;
import dev.panthera.models.llama.SamplingParams;
import dev.panthera.quant.gptq.GptqConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Round-to-nearest, GPTQ and GWQ on a Llama model (stories260K) at 3 and 4 bits: the linear layers are quantized, a
 * float copy of the model with the dequantized weights stands in for the quantized model, and {@link
 * Perplexity#compare} gives its perplexity, mean KL(P_F32 ‖ P_quant) and top-1 agreement with the F32 model over a
 * held-out token stream. Calibration and evaluation sequences are both sampled from the F32 model (temperature 1 from
 * BOS) with different seeds; the model's own tokenizer is not available, so they are token ids. Each evaluation
 * sequence is compared on its own from position 0 (stories260K predicts poorly across a story boundary in one
 * context, which would swamp the comparison) and the statistics are pooled over all positions.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp
 * jmh/target/benchmarks.jar dev.panthera.bench.GptqTable [stories260K.bin] [group size, default 32]}
 */
public final class GptqTable {
    private GptqTable() {}

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args.length > 0 ? args[0] : "../shared/data/stories260K.bin");
        int group = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        try (LlamaModel f32 = LlamaModel.load(model)) {
            int[][] calibration = new int[8][];
            for (int i = 0; i < calibration.length; i++) calibration[i] = sample(f32, 128, 1000 + i);
            int[][] eval = new int[8][];
            for (int i = 0; i < eval.length; i++) eval[i] = sample(f32, 256, 2000 + i);
            double refPpl = compare(f32, f32, eval)[0];
            System.out.printf(
                    Locale.ROOT,
                    "calibration %d × %d tokens, evaluation %d × %d tokens; F32 perplexity %.4f%n%n",
                    calibration.length,
                    calibration[0].length,
                    eval.length,
                    eval[0].length,
                    refPpl);
            System.out.println(
                    "| method | bits | group | bits/weight | perplexity | mean KL (nats) | top-1 agreement | seconds |");
            System.out.println("|---|---|---|---|---|---|---|---|");
            System.out.printf(Locale.ROOT, "| F32 | 32 | — | 32 | %.4f | 0 | 1 | — |%n", refPpl);
            for (int bits : new int[] {8, 4, 3}) {
                for (Method m : bits == 8 ? new Method[] {Method.RTN} : Method.values()) {
                    for (boolean act : m == Method.RTN ? new boolean[] {false} : new boolean[] {false, true}) {
                        GptqConfig c = GptqConfig.of(bits, group, false, act);
                        long t0 = System.nanoTime();
                        var layers = LlamaQuantizer.quantize(f32, calibration, m, c, 0.01);
                        double secs = (System.nanoTime() - t0) / 1e9;
                        Map<String, float[]> w = new HashMap<>();
                        layers.forEach((k, v) -> w.put(k, v.dequantize()));
                        try (LlamaModel q = LlamaQuantizer.withWeights(f32, w)) {
                            double[] cmp = compare(f32, q, eval);
                            System.out.printf(
                                    Locale.ROOT,
                                    "| %s%s | %d | %d | %.3f | %.4f | %.5f | %.4f | %.1f |%n",
                                    m,
                                    act ? " act-order" : "",
                                    bits,
                                    group,
                                    bitsPerWeight(layers),
                                    cmp[1],
                                    cmp[2],
                                    cmp[3],
                                    secs);
                        }
                    }
                }
            }
        }
    }

    /**
     * {@link Perplexity#compare} of each sequence, pooled over all predicted positions: {reference perplexity,
     * candidate perplexity, mean KL, top-1 agreement}.
     */
    static double[] compare(LlamaModel ref, LlamaModel cand, int[][] seqs) {
        double lpRef = 0, lpCand = 0, kl = 0;
        long same = 0, n = 0;
        for (int[] s : seqs) {
            var c = Perplexity.compare(ref, cand, s);
            lpRef += c.reference().logLikelihood();
            lpCand += c.candidate().logLikelihood();
            for (int i = 0; i < c.kl().length; i++) {
                kl += c.kl()[i];
                if (c.top1Same()[i]) same++;
            }
            n += c.kl().length;
        }
        return new double[] {Math.exp(-lpRef / n), Math.exp(-lpCand / n), kl / n, (double) same / n};
    }

    /**
     * Stored bits per weight of the quantized linears: q at {@code bits}, per group a float16 scale and a zero point at
     * {@code bits} (as qzeros packs it), an int32 g_idx per input column, and for GWQ each outlier as a float16 value
     * plus an int32 position.
     */
    static double bitsPerWeight(Map<String, LlamaQuantizer.Layer> layers) {
        double bits = 0, n = 0;
        for (var l : layers.values()) {
            var d = l.dense();
            n += (double) d.out() * d.in();
            bits += (double) d.out() * d.in() * d.bits()
                    + (double) d.groups() * d.out() * (16 + d.bits())
                    + 32.0 * d.in();
            if (l.withOutliers() != null) bits += 48.0 * l.withOutliers().outlierIndex().length;
        }
        return bits / n;
    }

    /** n tokens after BOS sampled at temperature 1 with {@code seed}, BOS included (n + 1 ids). */
    static int[] sample(LlamaModel m, int n, long seed) {
        var r = new Generator(m)
                .generate(
                        new int[] {m.config().bos()},
                        SamplingParams.sample(n, 1.0, seed).withIgnoreEos(true),
                        null);
        return concat(new int[] {m.config().bos()}, r.tokens());
    }

    static int[] concat(int[] a, int[] b) {
        int[] c = new int[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
