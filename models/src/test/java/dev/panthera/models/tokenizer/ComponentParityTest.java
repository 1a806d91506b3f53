package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Components the three reference files do not use, checked against HuggingFace (DJL) by rewriting those files
 * into the layouts newer models ship: Metaspace pre-tokenizer/decoder (Mistral/Llama 2 files saved by
 * tokenizers ≥ 0.19) and a Split(regex) + ByteLevel(use_regex=false) sequence (the Llama 3 / Qwen layout, here
 * with GPT-2's regex written as a Split pattern).
 */
class ComponentParityTest {
    @TempDir
    Path dir;

    static final List<String> CORPUS = Corpus.lines(3000, 99L);

    @Test
    void metaspacePreTokenizerAndDecoderMatchHuggingFace() throws IOException {
        TestFiles.require(TestFiles.MISTRAL_JSON);
        String json = Files.readString(TestFiles.MISTRAL_JSON, StandardCharsets.UTF_8);
        String normalizer = json.substring(json.indexOf("\"normalizer\""), json.indexOf("\"pre_tokenizer\""));
        String decoder = json.substring(json.indexOf("\"decoder\""), json.indexOf("\"model\""));
        json = json.replace(normalizer, "\"normalizer\": null,\n")
                .replace(
                        "\"pre_tokenizer\": null",
                        "\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\u2581\", "
                                + "\"prepend_scheme\": \"first\", \"split\": false}")
                .replace(
                        decoder,
                        "\"decoder\": {\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"prepend_scheme\": \"first\", "
                                + "\"split\": false},\n");
        Path p = dir.resolve("metaspace.json");
        Files.writeString(p, json, StandardCharsets.UTF_8);
        Tokenizer ours = Tokenizer.fromHuggingFaceJson(p);
        try (HuggingFaceTokenizer ref = TokenizerParityTest.djl(p)) {
            TokenizerParityTest.sameIds("metaspace", ours, ref, CORPUS);
            TokenizerParityTest.sameDecode("metaspace", ours, ref, CORPUS.subList(0, 1000));
        }
    }

    @Test
    void splitRegexThenByteLevelMatchesHuggingFace() throws IOException {
        Path gpt2 = TestFiles.gpt2Json(dir);
        String json = Files.readString(gpt2, StandardCharsets.UTF_8);
        String regex =
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\\\p{L}+| ?\\\\p{N}+| ?[^\\\\s\\\\p{L}\\\\p{N}]+|\\\\s+(?!\\\\S)|\\\\s+";
        String pre = "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}";
        int at = json.indexOf("\"pre_tokenizer\":") + "\"pre_tokenizer\":".length();
        assertEquals(pre, json.substring(at, at + pre.length()), "layout written by TestFiles.gpt2Json");
        json = json.substring(0, at)
                + "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\""
                + regex
                + "\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
                + "\"trim_offsets\":true,\"use_regex\":false}]}" + json.substring(at + pre.length());
        Path p = dir.resolve("split.json");
        Files.writeString(p, json, StandardCharsets.UTF_8);
        Tokenizer ours = Tokenizer.fromHuggingFaceJson(p);
        try (HuggingFaceTokenizer ref = TokenizerParityTest.djl(p)) {
            TokenizerParityTest.sameIds("split+bytelevel", ours, ref, CORPUS);
        }
    }
}
