package dev.panthera.bench;

import dev.panthera.models.io.GgufWriter;
import dev.panthera.models.llama.GgufConvert;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.Perplexity;
import dev.panthera.quant.ggml.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Locale;
import java.util.Random;

/**
 * The K-quant rows the stories260K accuracy table cannot have: a random Llama whose every row is a multiple of 256
 * (dim, FFN and head sizes as given), so {@code convert} writes Q4_K/Q5_K/Q6_K themselves, scored as
 * {@link QuantAccuracy} scores stories260K (perplexity, mean/max KL(P_F32 ‖ P_quant), top-1 agreement over 4 stories
 * sampled from the F32 model). Weights are N(0, 1/in) (the token table N(0, 1), the head N(0, 16/dim) so that the
 * next-token distribution is far from uniform), norms 1 ± 0.1: a model with no language in it, which measures how
 * each format's rounding moves the output distribution, not how it hurts a trained model.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp jmh/target/benchmarks.jar dev.panthera.bench.KQuantAccuracy
 * [dim 256] [ffn 768] [layers 4] [vocab 512] [context 256]}
 */
public final class KQuantAccuracy {
    private KQuantAccuracy() {}

    static void write(Path out, int dim, int ffn, int layers, int heads, int vocab, int ctx, long seed)
            throws Exception {
        Random r = new Random(seed);
        GgufWriter g = new GgufWriter()
                .put("general.architecture", "llama")
                .putU32("llama.context_length", ctx)
                .putU32("llama.embedding_length", dim)
                .putU32("llama.block_count", layers)
                .putU32("llama.feed_forward_length", ffn)
                .putU32("llama.rope.dimension_count", dim / heads)
                .putU32("llama.attention.head_count", heads)
                .putU32("llama.attention.head_count_kv", heads)
                .put("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .put("llama.rope.freq_base", 10000f)
                .putU32("tokenizer.ggml.bos_token_id", 1);
        matrix(g, r, "token_embd.weight", vocab, dim, 1.0);
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            g.tensor(p + "attn_norm.weight", GgmlType.F32, new long[] {dim}, norm(r, dim));
            for (String m : new String[] {"attn_q", "attn_k", "attn_v", "attn_output"})
                matrix(g, r, p + m + ".weight", dim, dim, 1 / Math.sqrt(dim));
            g.tensor(p + "ffn_norm.weight", GgmlType.F32, new long[] {dim}, norm(r, dim));
            matrix(g, r, p + "ffn_gate.weight", ffn, dim, 1 / Math.sqrt(dim));
            matrix(g, r, p + "ffn_down.weight", dim, ffn, 1 / Math.sqrt(ffn));
            matrix(g, r, p + "ffn_up.weight", ffn, dim, 1 / Math.sqrt(dim));
        }
        g.tensor("output_norm.weight", GgmlType.F32, new long[] {dim}, norm(r, dim));
        matrix(g, r, "output.weight", vocab, dim, 4 / Math.sqrt(dim));
        g.write(out);
    }

    private static void matrix(GgufWriter g, Random r, String name, int rows, int cols, double std) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * std);
        g.tensor(name, GgmlType.F32, new long[] {rows, cols}, v);
    }

    private static float[] norm(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = 1 + 0.1f * (float) r.nextGaussian();
        return v;
    }

    public static void main(String[] args) throws Exception {
        int dim = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        int ffn = args.length > 1 ? Integer.parseInt(args[1]) : 768;
        int layers = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        int vocab = args.length > 3 ? Integer.parseInt(args[3]) : 512;
        int ctx = args.length > 4 ? Integer.parseInt(args[4]) : 256;
        Path dir = Files.createTempDirectory("kquant-accuracy");
        try {
            Path f32 = dir.resolve("f32.gguf");
            write(f32, dim, ffn, layers, 4, vocab, ctx, 7);
            try (LlamaModel ref = LlamaModel.load(f32)) {
                int[][] ids = new int[4][];
                for (int i = 0; i < ids.length; i++) ids[i] = QuantAccuracy.sample(ref, ctx - 1, 1000 + i);
                System.out.printf(
                        Locale.ROOT,
                        "random Llama dim %d, FFN %d, %d layers, vocab %d; %d stories of %d tokens%n%n",
                        dim,
                        ffn,
                        layers,
                        vocab,
                        ids.length,
                        ctx);
                System.out.println("| format | file bytes | perplexity | mean KL | max KL | top-1 agreement |");
                System.out.println("|---|---|---|---|---|---|");
                System.out.printf(
                        Locale.ROOT,
                        "| F32 (reference) | %d | %.4f | 0 | 0 | 1 |%n",
                        Files.size(f32),
                        QuantAccuracy.compare(ref, ref, ids).reference().perplexity());
                GgmlType[] types = {
                    GgmlType.F16,
                    GgmlType.Q8_0,
                    GgmlType.Q6_K,
                    GgmlType.Q5_K,
                    GgmlType.Q5_1,
                    GgmlType.Q5_0,
                    GgmlType.Q4_K,
                    GgmlType.Q4_1,
                    GgmlType.Q4_0
                };
                for (GgmlType t : types) {
                    Path q = dir.resolve(t + ".gguf");
                    GgufConvert.convert(f32, null, t, q);
                    try (LlamaModel m = LlamaModel.load(q)) {
                        Perplexity.Comparison c = QuantAccuracy.compare(ref, m, ids);
                        QuantAccuracy.row("GGUF " + t, Files.size(q), c);
                    }
                    Files.delete(q);
                }
            }
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
