package dev.panthera.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.ModelParameters;
import dev.panthera.models.io.GgufWriter;
import dev.panthera.models.llama.Generator;
import dev.panthera.models.llama.LlamaModel;
import dev.panthera.models.llama.QuantizedWeights;
import dev.panthera.models.llama.SamplingParams;
import dev.panthera.quant.ggml.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Greedy decode of a quantized GGUF, ours (tensors kept as blocks) beside llama.cpp (de.kherud:llama 4.2.0 in the
 * same JVM, 1 thread, its AVX2 build) on the same file: a random Llama of the 110M shape (dim 768, 12 layers, 12
 * heads, FFN 2048, vocab 32000, tied head), every matrix in {@code type}. One op = BOS plus {@value #TOKENS} generated
 * tokens, so ops/s × {@value #TOKENS} ≈ decode tok/s for both (the one-token prefill is in both). Threads: ours on
 * the common pool (2 cores here), llama.cpp on 1 thread (its 2-thread decode is not faster on this machine: see
 * REFERENCES.md).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
public class QuantDecodeBench {
    static final int TOKENS = 16, DIM = 768, LAYERS = 12, HEADS = 12, HIDDEN = 2048, VOCAB = 32000;

    @Param({"Q8_0", "Q4_K"})
    public String type;

    private Path file;
    private LlamaModel ours;
    private Generator generator;
    private de.kherud.llama.LlamaModel theirs;

    /** Writes the random model: N(0, 0.02) matrices, unit norms, the placeholder vocabulary llama.cpp needs. */
    static void write(Path out, GgmlType t) throws Exception {
        SplittableRandom r = new SplittableRandom(110);
        GgufWriter g = new GgufWriter()
                .put("general.architecture", "llama")
                .putU32("llama.context_length", 256)
                .putU32("llama.embedding_length", DIM)
                .putU32("llama.block_count", LAYERS)
                .putU32("llama.feed_forward_length", HIDDEN)
                .putU32("llama.rope.dimension_count", DIM / HEADS)
                .putU32("llama.attention.head_count", HEADS)
                .putU32("llama.attention.head_count_kv", HEADS)
                .put("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .put("llama.rope.freq_base", 10000f)
                .putU32("general.file_type", t == GgmlType.Q8_0 ? 7 : 14);
        var tok = new java.util.ArrayList<dev.panthera.models.io.GgufValue>();
        var sc = new java.util.ArrayList<dev.panthera.models.io.GgufValue>();
        var ty = new java.util.ArrayList<dev.panthera.models.io.GgufValue>();
        for (int i = 0; i < VOCAB; i++) {
            tok.add(new dev.panthera.models.io.GgufValue.Str(
                    i == 0
                            ? "<unk>"
                            : i == 1
                                    ? "<s>"
                                    : i == 2 ? "</s>" : i < 259 ? String.format("<0x%02X>", i - 3) : "\u2581t" + i));
            sc.add(new dev.panthera.models.io.GgufValue.F32(-i));
            ty.add(new dev.panthera.models.io.GgufValue.I32(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
        }
        g.put("tokenizer.ggml.model", "llama")
                .put(
                        "tokenizer.ggml.tokens",
                        new dev.panthera.models.io.GgufValue.Array(dev.panthera.models.io.GgufValue.STRING, tok))
                .put(
                        "tokenizer.ggml.scores",
                        new dev.panthera.models.io.GgufValue.Array(dev.panthera.models.io.GgufValue.FLOAT32, sc))
                .put(
                        "tokenizer.ggml.token_type",
                        new dev.panthera.models.io.GgufValue.Array(dev.panthera.models.io.GgufValue.INT32, ty))
                .putU32("tokenizer.ggml.bos_token_id", 1)
                .putU32("tokenizer.ggml.eos_token_id", 2);
        g.tensor("token_embd.weight", t, new long[] {VOCAB, DIM}, gauss(r, VOCAB * DIM));
        for (int l = 0; l < LAYERS; l++) {
            String p = "blk." + l + ".";
            g.tensor(p + "attn_norm.weight", GgmlType.F32, new long[] {DIM}, ones(DIM));
            for (String m : new String[] {"attn_q", "attn_k", "attn_v", "attn_output"})
                g.tensor(p + m + ".weight", t, new long[] {DIM, DIM}, gauss(r, DIM * DIM));
            g.tensor(p + "ffn_norm.weight", GgmlType.F32, new long[] {DIM}, ones(DIM));
            g.tensor(p + "ffn_gate.weight", t, new long[] {HIDDEN, DIM}, gauss(r, HIDDEN * DIM));
            g.tensor(p + "ffn_up.weight", t, new long[] {HIDDEN, DIM}, gauss(r, HIDDEN * DIM));
            g.tensor(p + "ffn_down.weight", t, new long[] {DIM, HIDDEN}, gauss(r, HIDDEN * DIM));
        }
        g.tensor("output_norm.weight", GgmlType.F32, new long[] {DIM}, ones(DIM));
        g.write(out);
    }

    static float[] gauss(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (0.02 * (r.nextDouble() * 2 - 1) * Math.sqrt(3));
        return v;
    }

    static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    @Setup(Level.Trial)
    public void setup() throws Exception {
        file = Files.createTempFile("quant-decode-" + type, ".gguf");
        write(file, GgmlType.valueOf(type));
        ours = LlamaModel.load(file, null, QuantizedWeights.KEEP);
        generator = new Generator(ours);
        theirs = new de.kherud.llama.LlamaModel(new ModelParameters()
                .setModel(file.toString())
                .setCtxSize(64)
                .setThreads(1)
                .skipWarmup());
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        ours.close();
        theirs.close();
        Files.deleteIfExists(file);
    }

    @Benchmark
    public int panthera() {
        return generator
                .generate(new int[0], SamplingParams.greedy(TOKENS).withIgnoreEos(true), null)
                .tokens()
                .length;
    }

    @Benchmark
    public int llamaCpp() {
        return theirs.complete(new InferenceParameters("")
                        .setTemperature(0)
                        .setNPredict(TOKENS)
                        .setIgnoreEos(true)
                        .setSeed(1))
                .length();
    }
}
