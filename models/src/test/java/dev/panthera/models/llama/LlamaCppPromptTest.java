package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.ModelParameters;
import dev.panthera.models.io.GgufValue;
import dev.panthera.models.io.GgufWriter;
import dev.panthera.models.io.Llama2cCheckpoint;
import dev.panthera.models.io.Llama2cToGguf;
import dev.panthera.nn.layers.KvCache;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A 45-token prompt, then 64 greedy tokens, by llama.cpp (de.kherud:llama 4.2.0, temperature 0) and by our model
 * on the same GGUF: random-initialised configs with grouped-query heads (4 query / 2 KV heads), rope_theta 500000,
 * llama3 RoPE scaling carried as llama.cpp's {@code rope_freqs.weight}, in F32 and F16, and stories260K. The prompt
 * is tokenized by llama.cpp itself (its ids are what we feed), and the comparison is llama.cpp's detokenization of
 * our ids against its own completion. Control tokens and bytes 0x80..0xFF are banned on both sides (llama.cpp's ignore_eos bans EOS, control
 * tokens print as nothing, and lone high bytes are not valid UTF-8), so the text names every id.
 */
class LlamaCppPromptTest {
    static final String PROMPT = "Once upon a time, a little fox ran into the woods.";
    static final int VOCAB = 320, DIM = 64, HIDDEN = 96, HEADS = 4, KV_HEADS = 2, LAYERS = 2, CTX = 256;

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"gqa,F32", "gqa,F16", "theta500k,F32", "llama3,F32", "llama3,F16", "stories,F32", "stories,F16"})
    void promptAndGreedyTokensMatchLlamaCpp(String kind, GgmlType type) throws Exception {
        Path gguf = dir.resolve(kind + "-" + type + ".gguf");
        if (kind.equals("stories")) {
            Path bin = LlamaCppGreedyTest.data("stories260K.bin");
            Assumptions.assumeTrue(Files.exists(bin), "skipped: " + bin + " is absent");
            try (Llama2cCheckpoint c = Llama2cCheckpoint.open(bin)) {
                Llama2cToGguf.convert(c, type, gguf);
            }
        } else {
            writeRandom(gguf, kind, type);
        }
        // control tokens (llama.cpp's ignore_eos bans EOS; BOS/UNK print as nothing) and bytes 0x80..0xFF
        List<Integer> banned = IntStream.concat(IntStream.range(0, 3), IntStream.rangeClosed(3 + 0x80, 3 + 0xFF))
                .boxed()
                .toList();
        try (var ll = new de.kherud.llama.LlamaModel(new ModelParameters()
                .setModel(gguf.toString())
                .setCtxSize(CTX)
                .setThreads(1)
                .skipWarmup())) {
            int[] enc = ll.encode(PROMPT);
            int[] prompt = enc.length > 0 && enc[0] == 1 ? enc : prepend(1, enc);
            assertTrue(prompt.length >= 32, "prompt of " + prompt.length + " tokens");
            String theirs = ll.complete(new InferenceParameters(PROMPT)
                    .setTemperature(0)
                    .setNPredict(64)
                    .setIgnoreEos(true)
                    .disableTokenIds(banned)
                    .setSeed(1));
            int[] ours;
            try (LlamaModel m = LlamaModel.load(gguf)) {
                if (kind.equals("llama3"))
                    assertEquals(
                            RopeScaling.Type.FACTORS, m.config().ropeScaling().type());
                ours = greedy(m, prompt, 64, banned);
            }
            String want = ll.decode(ours);
            System.out.println(kind + " " + type + " (" + prompt.length + "-token prompt): " + want.strip());
            assertFalse(want.isBlank());
            assertEquals(theirs, want, kind + " " + type + ": our ids " + Arrays.toString(ours));
        }
    }

    /** Greedy decode with a KV cache: one prefill pass, then one token per step; banned ids never win. */
    static int[] greedy(LlamaModel m, int[] prompt, int n, List<Integer> banned) {
        KvCache cache = m.newCache(prompt.length + n);
        int[] out = new int[n];
        try (var ng = Autograd.noGrad()) {
            float[] logits = m.forward(Tensor.of(prompt, 1, prompt.length), 0, cache, null, true)
                    .toFloatArray();
            for (int i = 0; i < n; i++) {
                for (int b : banned) logits[b] = Float.NEGATIVE_INFINITY;
                out[i] = Sampler.argmax(logits);
                if (i + 1 < n)
                    logits = m.forward(Tensor.of(new int[] {out[i]}, 1, 1), prompt.length + i, cache, null, true)
                            .toFloatArray();
            }
        }
        return out;
    }

    static int[] prepend(int first, int[] rest) {
        int[] a = new int[rest.length + 1];
        a[0] = first;
        System.arraycopy(rest, 0, a, 1, rest.length);
        return a;
    }

    /** A random Llama as GGUF with the placeholder vocabulary Llama2cToGguf writes (bytes, then "▁tN" pieces). */
    static void writeRandom(Path out, String kind, GgmlType type) throws Exception {
        writeRandom(out, kind, type, VOCAB);
    }

    /** As {@link #writeRandom(Path, String, GgmlType)} with {@code vocab} ids (at least 260: controls, bytes, one piece). */
    static void writeRandom(Path out, String kind, GgmlType type, int vocab) throws Exception {
        if (vocab < 260) throw new IllegalArgumentException("writeRandom: vocab " + vocab + " < 260");
        double theta = kind.equals("gqa") ? 10000 : 500000;
        GgufWriter w = new GgufWriter()
                .put("general.architecture", "llama")
                .putU32("llama.context_length", CTX)
                .putU32("llama.embedding_length", DIM)
                .putU32("llama.block_count", LAYERS)
                .putU32("llama.feed_forward_length", HIDDEN)
                .putU32("llama.rope.dimension_count", DIM / HEADS)
                .putU32("llama.attention.head_count", HEADS)
                .putU32("llama.attention.head_count_kv", KV_HEADS)
                .put("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .put("llama.rope.freq_base", (float) theta)
                .put("tokenizer.ggml.model", "llama");
        List<GgufValue> tok = new ArrayList<>(), sc = new ArrayList<>(), types = new ArrayList<>();
        for (int i = 0; i < vocab; i++) {
            String p = i == 0
                    ? "<unk>"
                    : i == 1 ? "<s>" : i == 2 ? "</s>" : i < 259 ? String.format("<0x%02X>", i - 3) : "\u2581t" + i;
            tok.add(new GgufValue.Str(p));
            sc.add(new GgufValue.F32(i < 259 ? 0 : -i));
            types.add(new GgufValue.I32(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
        }
        w.put("tokenizer.ggml.tokens", new GgufValue.Array(GgufValue.STRING, tok))
                .put("tokenizer.ggml.scores", new GgufValue.Array(GgufValue.FLOAT32, sc))
                .put("tokenizer.ggml.token_type", new GgufValue.Array(GgufValue.INT32, types))
                .putU32("tokenizer.ggml.unknown_token_id", 0)
                .putU32("tokenizer.ggml.bos_token_id", 1)
                .putU32("tokenizer.ggml.eos_token_id", 2);
        Random r = new Random(kind.hashCode());
        w.tensor("token_embd.weight", type, new long[] {vocab, DIM}, gauss(r, vocab * DIM, 0.5, 0));
        w.tensor("output_norm.weight", GgmlType.F32, new long[] {DIM}, gauss(r, DIM, 0.1, 1));
        w.tensor("output.weight", type, new long[] {vocab, DIM}, gauss(r, vocab * DIM, 0.25, 0));
        int kv = KV_HEADS * DIM / HEADS;
        for (int l = 0; l < LAYERS; l++) {
            String p = "blk." + l + ".";
            w.tensor(p + "attn_norm.weight", GgmlType.F32, new long[] {DIM}, gauss(r, DIM, 0.1, 1));
            w.tensor(p + "attn_q.weight", type, new long[] {DIM, DIM}, gauss(r, DIM * DIM, 0.25, 0));
            w.tensor(p + "attn_k.weight", type, new long[] {kv, DIM}, gauss(r, kv * DIM, 0.25, 0));
            w.tensor(p + "attn_v.weight", type, new long[] {kv, DIM}, gauss(r, kv * DIM, 0.25, 0));
            w.tensor(p + "attn_output.weight", type, new long[] {DIM, DIM}, gauss(r, DIM * DIM, 0.25, 0));
            w.tensor(p + "ffn_norm.weight", GgmlType.F32, new long[] {DIM}, gauss(r, DIM, 0.1, 1));
            w.tensor(p + "ffn_gate.weight", type, new long[] {HIDDEN, DIM}, gauss(r, HIDDEN * DIM, 0.25, 0));
            w.tensor(p + "ffn_up.weight", type, new long[] {HIDDEN, DIM}, gauss(r, HIDDEN * DIM, 0.25, 0));
            w.tensor(p + "ffn_down.weight", type, new long[] {DIM, HIDDEN}, gauss(r, HIDDEN * DIM, 0.25, 0));
        }
        if (kind.equals("llama3")) {
            // llama3 scaling (factor 8, low 1, high 4, original context 64) as per-frequency divisors, the way
            // llama.cpp's converter writes rope_freqs: divisor = unscaled / scaled frequency
            int hd = DIM / HEADS;
            double[] plain = RopeScaling.NONE.inverseFrequencies(hd, theta, 1);
            double[] scaled = new RopeScaling(RopeScaling.Type.LLAMA3, 8, 1, 4, 64).inverseFrequencies(hd, theta, 1);
            float[] f = new float[hd / 2];
            for (int i = 0; i < f.length; i++) f[i] = (float) (plain[i] / scaled[i]);
            w.tensor("rope_freqs.weight", GgmlType.F32, new long[] {f.length}, f);
        }
        w.write(out);
    }

    static float[] gauss(Random r, int n, double std, double mean) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (mean + std * r.nextGaussian());
        return v;
    }
}
