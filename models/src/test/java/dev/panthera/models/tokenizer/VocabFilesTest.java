package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * llama2.c's tokenizer.bin and the GGUF vocabulary factory, checked against HuggingFace tokenizers (DJL) on the
 * shared corpus: the score-merging SentencePiece BPE against the merge-ranked Llama 2 tokenizer.json, and the
 * GGUF "gpt2" path against GPT-2's tokenizer.json.
 */
class VocabFilesTest {
    @TempDir
    Path dir;

    @Test
    void llama2cTokenizerBinMatchesHuggingFaceOnConvertedMerges() throws IOException {
        Path bin = TestFiles.sharedData("llama2-tokenizer.bin");
        TestFiles.require(bin);
        Tokenizer ours = Tokenizer.fromLlama2cBin(bin);
        assertEquals(32000, ours.vocabSize());
        assertArrayEquals(
                new int[] {1, 15043, 3186},
                ours.encode("Hello world"),
                "Llama 2 ids of \"Hello world\" as HF LlamaTokenizer gives them (▁Hello 15043, ▁world 3186)");
        List<String> corpus = Corpus.lines(TokenizerParityTest.LINES, 20261123L);
        try (HuggingFaceTokenizer ref = TokenizerParityTest.djl(TestFiles.llama2cJson(dir, bin))) {
            TokenizerParityTest.sameIds("llama2.c tokenizer.bin", ours, ref, corpus);
        }
        for (String line : corpus) assertEquals(line, ours.decode(ours.encode(line), true), "round trip");
    }

    @Test
    void ggufGpt2VocabMatchesHuggingFaceGpt2() throws IOException {
        Path json = TestFiles.gpt2Json(dir);
        List<String> tokens = new ArrayList<>();
        try (var p = new JsonFactory().createParser(TestFiles.GPT2_ENCODER.toFile())) {
            String[] byId = new String[50257];
            p.nextToken();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String k = p.currentName();
                p.nextToken();
                byId[p.getIntValue()] = k;
            }
            tokens.addAll(Arrays.asList(byId));
        }
        String[] merges = Files.readAllLines(TestFiles.GPT2_MERGES, StandardCharsets.UTF_8).stream()
                .filter(l -> !l.startsWith("#version") && !l.isEmpty())
                .toArray(String[]::new);
        int[] types = new int[tokens.size()];
        Arrays.fill(types, 1);
        types[50256] = 3;
        Tokenizer ours = Tokenizer.fromGgufVocab("gpt2", tokens.toArray(String[]::new), null, types, merges, -1, 50256);
        List<String> corpus = Corpus.lines(3000, 7L);
        try (HuggingFaceTokenizer ref = TokenizerParityTest.djl(json)) {
            TokenizerParityTest.sameIds("gguf gpt2", ours, ref, corpus);
        }
    }

    @Test
    void ggufLlamaFactoryAddsBosAndSplitsControlTokens() throws IOException {
        Path bin = TestFiles.sharedData("llama2-tokenizer.bin");
        TestFiles.require(bin);
        Tokenizer t = Tokenizer.fromLlama2cBin(bin);
        int[] ids = t.encode("Hello</s>world");
        assertEquals(1, ids[0], "BOS");
        assertEquals(1, Arrays.stream(ids).filter(i -> i == 2).count(), "</s> in text is the EOS control token");
        // HuggingFace prefixes "▁" to every text segment, so the segment after </s> gains a space
        assertEquals("Hello world", t.decode(ids, true));
        TestFiles.require(TestFiles.MISTRAL_JSON);
        try (HuggingFaceTokenizer ref = TokenizerParityTest.djl(TestFiles.MISTRAL_JSON)) {
            Tokenizer hfJson = Tokenizer.fromHuggingFaceJson(TestFiles.MISTRAL_JSON);
            for (String s : List.of("Hello</s>world", "<s>", "a<s>b</s>", " <unk> x", "</s></s>"))
                assertArrayEquals(TokenizerParityTest.ids(ref.encode(s)), hfJson.encode(s), s);
        }
    }

    @Test
    void ggufArraysThatDisagreeAreRejected() {
        String[] tokens = {"<unk>", "<s>", "</s>", "a"};
        var e = assertThrows(
                TokenizerFormatException.class,
                () -> Tokenizer.fromGgufVocab("llama", tokens, new float[3], null, null, 1, 2));
        assertEquals("tokenizer.ggml.scores", e.field());
        e = assertThrows(
                TokenizerFormatException.class,
                () -> Tokenizer.fromGgufVocab("gpt2", tokens, null, null, new String[] {"a b"}, -1, -1));
        assertEquals("tokenizer.ggml.merges[0]", e.field().substring(0, "tokenizer.ggml.merges[0]".length()));
        e = assertThrows(
                TokenizerFormatException.class,
                () -> Tokenizer.fromGgufVocab("bert", tokens, null, null, null, -1, -1));
        assertEquals("tokenizer.ggml.model", e.field());
        e = assertThrows(
                TokenizerFormatException.class,
                () -> Tokenizer.fromGgufVocab("llama", tokens, new float[4], null, null, 9, 2));
        assertEquals("tokenizer.ggml.bos_token_id", e.field());
    }

    @Test
    void truncatedTokenizerBinNamesTheField() throws IOException {
        Path bin = TestFiles.sharedData("llama2-tokenizer.bin");
        TestFiles.require(bin);
        byte[] all = Files.readAllBytes(bin);
        byte[] cut = Arrays.copyOf(all, 4 + 8 + 3);
        var e = assertThrows(TokenizerFormatException.class, () -> VocabFiles.llama2c(new ByteArrayInputStream(cut)));
        assertEquals("tokenizer.bin:token[0].bytes", e.field());
    }
}
