package dev.panthera.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.panthera.models.bert.BertModel;
import dev.panthera.models.bert.BertModels;
import dev.panthera.models.bert.EncoderOutput;
import dev.panthera.models.bert.Pooling;
import dev.panthera.models.tokenizer.BatchEncoding;
import dev.panthera.simd.Sgemm;
import dev.panthera.tensor.MemoryScope;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipFile;
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
 * Sentence embeddings with all-MiniLM-L6-v2 and bge-small-en-v1.5: encoder, mean pooling and L2 normalisation, ours
 * beside ONNX Runtime 1.29 (CPU) running the same .onnx file from the langchain4j jar in {@code ~/.m2}, both on
 * {@code threads} threads (ours: {@link Sgemm#setThreads}; ORT: intra-op threads, one inter-op thread). Shapes:
 * {@code 1x128} and {@code 8x128} (texts truncated to 128 word pieces, no padding) and {@code 32x29} (32 sentences of
 * different lengths, 608 word pieces padded to 32 × 29). Both start from the same token ids (tokenization is
 * measured by {@link TokenizerBench}); ORT's pooling is a plain loop over its hidden state. Setup checks that both
 * give the same embeddings (within 1e-5, unit vectors in F32 after six or twelve layers: a few ulps of 1 per layer).
 * JMH runs every (model, shape, threads) pair of ours and ORT's in one run, one after the other.
 *
 * <pre>./panthera java --add-modules jdk.incubator.vector -jar jmh/target/benchmarks.jar BertEmbedBench -f 1 -wi 2 -i 3</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class BertEmbedBench {
    private static final String[] SUBJECTS = {
        "The small cat",
        "A research team at the university",
        "Our tensor library",
        "The river near the old mill",
        "Every morning the baker",
        "The committee"
    };
    private static final String[] PREDICATES = {
        "sat on the warm windowsill",
        "published a surprising result about protein folding after years of careful experiments",
        "runs matrix multiplications with vectorised kernels on the JVM",
        "flooded the fields again this spring, and the farmers had to wait for weeks before planting",
        "opens the shop",
        "postponed the vote on the new budget until the auditors finish their report on last year's spending"
    };

    @Param({"all-minilm-l6-v2", "bge-small-en-v1.5"})
    public String modelName;

    @Param({"1x128", "8x128", "32x29"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private BertModel model;
    private BatchEncoding batch;
    private OrtEnvironment env;
    private OrtSession ort;
    private Map<String, OnnxTensor> inputs;
    private int hidden;

    /** {@code rows} texts long enough to fill 128 word pieces each, different in every row. */
    static List<String> longTexts(int rows) {
        List<String> out = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            StringBuilder s = new StringBuilder();
            for (int i = r; s.length() < 2000; i++)
                s.append(SUBJECTS[i % 6])
                        .append(' ')
                        .append(PREDICATES[(i * 5 + r) % 6])
                        .append(". ");
            out.add(s.toString());
        }
        return out;
    }

    /** 32 sentences of different lengths. */
    static List<String> sentences() {
        List<String> out = new ArrayList<>();
        for (int i = 0; out.size() < 32; i++) out.add(SUBJECTS[i % 6] + " " + PREDICATES[(i * 5 + i / 6) % 6] + ".");
        return out;
    }

    @Setup(Level.Trial)
    public void setup() throws IOException, OrtException {
        Sgemm.setThreads(threads);
        model = BertModels.load(modelName);
        hidden = model.config().hidden();
        batch = switch (shape) {
            case "1x128" -> model.tokenizer().encodeBatch(longTexts(1), true, 128);
            case "8x128" -> model.tokenizer().encodeBatch(longTexts(8), true, 128);
            case "32x29" -> model.tokenizer().encodeBatch(sentences(), true, model.maxLength());
            default -> throw new IllegalArgumentException("BertEmbedBench: unknown shape " + shape);
        };
        int b = batch.ids().length, t = batch.ids()[0].length;
        if (!shape.equals(b + "x" + t))
            throw new IllegalStateException("BertEmbedBench: shape " + shape + " tokenized to " + b + "x" + t);
        long[][] ids = new long[b][t], mask = new long[b][t], types = new long[b][t];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < t; j++) {
                ids[r][j] = batch.ids()[r][j];
                mask[r][j] = batch.attentionMask()[r][j];
            }
        }
        Path jar = BertModels.jar(modelName, BertModels.localRepository());
        byte[] onnx;
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            onnx = zip.getInputStream(zip.getEntry(BertModels.known(modelName).onnxEntry()))
                    .readAllBytes();
        }
        env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            ort = env.createSession(onnx, options);
        }
        OnnxTensor ti = OnnxTensor.createTensor(env, ids),
                tm = OnnxTensor.createTensor(env, mask),
                tt = OnnxTensor.createTensor(env, types);
        inputs = new HashMap<>();
        for (String n : ort.getInputNames()) inputs.put(n, n.contains("mask") ? tm : n.contains("type") ? tt : ti);
        float[][] a = panthera(), o = onnxRuntime();
        double worst = 0;
        for (int r = 0; r < a.length; r++)
            for (int k = 0; k < hidden; k++) worst = Math.max(worst, Math.abs(a[r][k] - o[r][k]));
        if (worst > 1e-5) throw new IllegalStateException("embeddings differ from ONNX Runtime by " + worst);
        System.out.printf(
                "%n%s batch %d x %d tokens, %d threads, max |ours - ORT| %.2g%n", modelName, b, t, threads, worst);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        for (OnnxTensor t : new java.util.HashSet<>(inputs.values())) t.close();
        ort.close();
        model.close();
    }

    @Benchmark
    public float[][] panthera() {
        try (var scope = MemoryScope.open()) {
            EncoderOutput out = model.forward(batch, false, false);
            float[] flat = Pooling.normalize(Pooling.MEAN.pool(out.lastHiddenState(), out.attentionMask()))
                    .contiguous()
                    .toFloatArray();
            float[][] rows = new float[batch.ids().length][];
            for (int r = 0; r < rows.length; r++)
                rows[r] = java.util.Arrays.copyOfRange(flat, r * hidden, (r + 1) * hidden);
            return rows;
        }
    }

    @Benchmark
    public float[][] onnxRuntime() throws OrtException {
        int b = batch.ids().length, t = batch.ids()[0].length;
        try (OrtSession.Result r = ort.run(inputs)) {
            FloatBuffer h = ((OnnxTensor) r.get("last_hidden_state").orElseThrow()).getFloatBuffer();
            float[][] rows = new float[b][hidden];
            for (int i = 0; i < b; i++) {
                int n = 0;
                double[] sum = new double[hidden];
                for (int j = 0; j < t; j++) {
                    if (batch.attentionMask()[i][j] == 0) continue;
                    n++;
                    for (int k = 0; k < hidden; k++) sum[k] += h.get((i * t + j) * hidden + k);
                }
                double norm = 0;
                for (int k = 0; k < hidden; k++) norm += (sum[k] / n) * (sum[k] / n);
                norm = Math.max(Math.sqrt(norm), 1e-12);
                for (int k = 0; k < hidden; k++) rows[i][k] = (float) (sum[k] / n / norm);
            }
            return rows;
        }
    }
}
