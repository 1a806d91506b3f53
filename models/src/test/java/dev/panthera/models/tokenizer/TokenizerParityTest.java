package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Token ids identical to HuggingFace tokenizers (Rust, through DJL 0.35.1) on a deterministic corpus of 10,000
 * varied lines ({@link Corpus}), for GPT-2 byte-level BPE, Llama 2 SentencePiece BPE and BERT WordPiece (MiniLM);
 * decode agreeing with HuggingFace's decode, and decode(encode(x)) == x where the tokenizer is lossless.
 */
class TokenizerParityTest {
    static final int LINES = 10_000;
    static List<String> corpus;

    @TempDir
    static Path dir;

    @BeforeAll
    static void corpus() {
        corpus = Corpus.lines(LINES, 20261123L);
    }

    static HuggingFaceTokenizer djl(Path json) throws IOException {
        return HuggingFaceTokenizer.builder()
                .optTokenizerPath(json)
                .optTruncation(false)
                .optPadding(false)
                .optAddSpecialTokens(true)
                .build();
    }

    static int[] ids(ai.djl.huggingface.tokenizers.Encoding e) {
        return Arrays.stream(e.getIds()).mapToInt(Math::toIntExact).toArray();
    }

    /** Compares ids line by line; fails listing the first few mismatches. */
    static void sameIds(String family, Tokenizer ours, HuggingFaceTokenizer ref, List<String> lines) {
        List<String> bad = new ArrayList<>();
        int mismatches = 0;
        for (String line : lines) {
            int[] a = ours.encode(line);
            int[] b = ids(ref.encode(line));
            if (!Arrays.equals(a, b)) {
                mismatches++;
                if (bad.size() < 5)
                    bad.add(escape(line) + "\n  ours " + Arrays.toString(a) + "\n  hf   " + Arrays.toString(b));
            }
        }
        assertEquals(
                0,
                mismatches,
                family + ": " + mismatches + " of " + lines.size() + " lines differ, e.g.\n" + String.join("\n", bad));
    }

    static void sameDecode(String family, Tokenizer ours, HuggingFaceTokenizer ref, List<String> lines) {
        int mismatches = 0;
        String first = "";
        for (String line : lines) {
            int[] ids = ours.encode(line);
            long[] lids = Arrays.stream(ids).asLongStream().toArray();
            for (boolean skip : new boolean[] {true, false}) {
                String a = ours.decode(ids, skip), b = ref.decode(lids, skip);
                if (!a.equals(b)) {
                    if (mismatches++ == 0)
                        first = escape(line) + " skip=" + skip + "\n  ours " + escape(a) + "\n  hf   " + escape(b);
                }
            }
        }
        assertEquals(0, mismatches, family + " decode: " + mismatches + " differ, first:\n" + first);
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(c -> {
            if (c < 0x20 || (c >= 0x7f && c < 0xa1) || c == 0x3000 || c == 0xa0) b.append(String.format("\\u%04x", c));
            else b.appendCodePoint(c);
        });
        return b.append('"').toString();
    }

    @Test
    void corpusIsVaried() {
        assertTrue(corpus.size() >= 10_000);
        assertTrue(corpus.stream().anyMatch(String::isEmpty), "empty lines");
        assertTrue(corpus.stream().anyMatch(l -> l.codePoints().anyMatch(c -> c >= 0x4e00 && c <= 0x9fff)), "CJK");
        assertTrue(corpus.stream().anyMatch(l -> l.codePoints().anyMatch(c -> c >= 0x1f600)), "emoji");
        assertTrue(corpus.stream().anyMatch(l -> l.contains("  ") || l.contains("\t")), "white-space runs");
    }

    @Test
    void gpt2MatchesHuggingFace() throws IOException {
        Path json = TestFiles.gpt2Json(dir);
        Tokenizer fromFiles = Tokenizer.fromGpt2Files(TestFiles.GPT2_ENCODER, TestFiles.GPT2_MERGES);
        Tokenizer fromJson = Tokenizer.fromHuggingFaceJson(json);
        try (HuggingFaceTokenizer ref = djl(json)) {
            sameIds("gpt2 (encoder.json + vocab.bpe)", fromFiles, ref, corpus);
            sameIds("gpt2 (tokenizer.json)", fromJson, ref, corpus);
            sameDecode("gpt2", fromFiles, ref, corpus.subList(0, 2000));
        }
        for (String line : corpus) assertEquals(line, fromFiles.decode(fromFiles.encode(line), false), "round trip");
    }

    @Test
    void mistralMatchesHuggingFace() throws IOException {
        TestFiles.require(TestFiles.MISTRAL_JSON);
        Tokenizer ours = Tokenizer.fromHuggingFaceJson(TestFiles.MISTRAL_JSON);
        try (HuggingFaceTokenizer ref = djl(TestFiles.MISTRAL_JSON)) {
            sameIds("mistral (npm tokenizer-llama2)", ours, ref, corpus);
            sameDecode("mistral (npm tokenizer-llama2)", ours, ref, corpus.subList(0, 2000));
        }
        // lossless: the Prepend "▁" normalizer is undone by the decoder's Strip of one leading space
        for (String line : corpus) assertEquals(line, ours.decode(ours.encode(line), true), "round trip");
    }

    @Test
    void bertMatchesHuggingFace() throws IOException {
        Path json = TestFiles.minilm(dir);
        Tokenizer ours = Tokenizer.fromHuggingFaceJson(json);
        try (HuggingFaceTokenizer ref = djl(json)) {
            sameIds("bert (all-MiniLM-L6-v2)", ours, ref, corpus);
            sameDecode("bert", ours, ref, corpus.subList(0, 2000));
        }
        // golden from REFERENCES.md (agreed by ONNX Runtime, onnxruntime-node and transformers.js)
        assertArrayEquals(new int[] {101, 7592, 2088, 102}, ours.encode("hello world"));
    }

    @Test
    void bertTruncationAndPaddingMatchHuggingFace() throws IOException {
        Path json = TestFiles.minilm(dir);
        Tokenizer ours = Tokenizer.fromHuggingFaceJson(json);
        List<String> batch = corpus.subList(0, 64);
        BatchEncoding enc = ours.encodeBatch(batch, true, 16);
        try (HuggingFaceTokenizer ref = HuggingFaceTokenizer.builder()
                .optTokenizerPath(json)
                .optTruncation(true)
                .optMaxLength(16)
                .optPadding(true)
                .build()) {
            var refEnc = ref.batchEncode(batch);
            for (int i = 0; i < batch.size(); i++) {
                assertArrayEquals(ids(refEnc[i]), enc.ids()[i], "ids of " + escape(batch.get(i)));
                assertArrayEquals(
                        Arrays.stream(refEnc[i].getAttentionMask())
                                .mapToInt(Math::toIntExact)
                                .toArray(),
                        enc.attentionMask()[i],
                        "mask of " + escape(batch.get(i)));
            }
        }
    }
}
