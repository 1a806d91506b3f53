package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.CharRange;
import net.jqwik.api.constraints.Chars;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * encodeBatch against HuggingFace tokenizers (DJL, the Rust implementation) on the MiniLM tokenizer.json, for random
 * texts, maximum lengths and padding: ids and attention masks row by row. Then the structure on a small hand-written
 * BERT file: each row is [CLS] content [SEP] with the file's pad id (0) and mask 0 after it.
 */
class EncodeBatchTest {
    private static final Map<String, HuggingFaceTokenizer> REFERENCES = new ConcurrentHashMap<>();

    private static Path minilmDir, json;
    private static Tokenizer minilm;

    /** The MiniLM tokenizer.json (30522 WordPiece ids) from the langchain4j jar, ours and DJL's on the same file. */
    private static synchronized Tokenizer minilm() throws IOException {
        if (minilm == null) {
            minilmDir = Files.createTempDirectory("encode-batch");
            json = TestFiles.minilm(minilmDir);
            minilm = Tokenizer.fromHuggingFaceJson(json);
        }
        return minilm;
    }

    /** DJL's MiniLM tokenizer with truncation to maxLength (0: none) and padding to the longest row. */
    static HuggingFaceTokenizer reference(int maxLength, boolean padding) {
        return REFERENCES.computeIfAbsent(maxLength + "/" + padding, k -> {
            try {
                var b = HuggingFaceTokenizer.builder()
                        .optTokenizerPath(json)
                        .optAddSpecialTokens(true)
                        .optTruncation(maxLength > 0)
                        .optPadding(padding);
                if (maxLength > 0) b.optMaxLength(maxLength);
                return b.build();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @AfterContainer
    static void closeReferences() throws IOException {
        REFERENCES.values().forEach(HuggingFaceTokenizer::close);
        REFERENCES.clear();
        if (json != null) Files.deleteIfExists(json);
        if (minilmDir != null) Files.deleteIfExists(minilmDir);
    }

    /**
     * Texts draw from the whole Basic Multilingual Plane except the surrogates (a lone surrogate has no UTF-8 form
     * to hand to the reference), plus extra spaces, tabs and newlines, so marks, controls and punctuation whose
     * classes differ between Unicode versions (U+07FD) are in.
     */
    @Property(tries = 200)
    void rowsMatchHuggingFace(
            @ForAll @Size(min = 1, max = 6)
                    List<
                                    @StringLength(max = 30) @CharRange(from = '\u0000', to = '\ud7ff')
                                    @CharRange(from = '\ue000', to = '\uffff') @Chars({' ', ' ', '\t', '\n'}) String>
                            texts,
            @ForAll @IntRange(min = 2, max = 12) int maxLength,
            @ForAll boolean truncate,
            @ForAll boolean padding)
            throws IOException {
        Tokenizer t = minilm();
        int max = truncate ? maxLength : 0;
        BatchEncoding b = t.encodeBatch(texts, padding, max);
        Encoding[] ref = reference(max, padding).batchEncode(texts);
        for (int r = 0; r < texts.size(); r++) {
            String what = "row " + r + " of " + texts + ", maxLength " + max + ", padding " + padding;
            assertArrayEquals(TokenizerParityTest.ids(ref[r]), b.ids()[r], "ids, " + what);
            assertArrayEquals(
                    Arrays.stream(ref[r].getAttentionMask())
                            .mapToInt(Math::toIntExact)
                            .toArray(),
                    b.attentionMask()[r],
                    "mask, " + what);
        }
    }

    static Tokenizer bert() throws IOException {
        return Tokenizer.fromHuggingFaceJson(
                new ByteArrayInputStream(TokenizerFuzzTest.BERT.getBytes(StandardCharsets.UTF_8)));
    }

    @Property(tries = 200)
    void rowsAreTruncatedEncodesWithMasks(
            @ForAll @Size(max = 6) List<@StringLength(max = 30) String> texts,
            @ForAll @IntRange(min = 0, max = 12) int maxLength,
            @ForAll boolean padding)
            throws IOException {
        Tokenizer t = bert();
        if (maxLength == 1) maxLength = 2; // one id cannot hold [CLS] and [SEP]: checked below
        BatchEncoding b = t.encodeBatch(texts, padding, maxLength);
        int longest = 0;
        for (int r = 0; r < texts.size(); r++) {
            int[] content = t.encode(texts.get(r), false);
            if (maxLength > 0) content = Arrays.copyOf(content, Math.min(content.length, maxLength - 2));
            int[] expected = new int[content.length + 2];
            expected[0] = 2;
            System.arraycopy(content, 0, expected, 1, content.length);
            expected[expected.length - 1] = 3;
            assertArrayEquals(expected, Arrays.copyOf(b.ids()[r], expected.length));
            longest = Math.max(longest, expected.length);
            for (int i = 0; i < b.ids()[r].length; i++) {
                assertEquals(i < expected.length ? 1 : 0, b.attentionMask()[r][i]);
                if (i >= expected.length) assertEquals(0, b.ids()[r][i], "pad id from the file");
            }
            if (!padding) assertEquals(expected.length, b.ids()[r].length);
        }
        if (padding) for (int[] row : b.ids()) assertEquals(longest, row.length);
    }

    @Property(tries = 1)
    void maxLengthBelowTheSpecialTokensIsRejected() throws IOException {
        Tokenizer t = bert();
        var e = assertThrows(IllegalArgumentException.class, () -> t.encodeBatch(List.of("hello"), true, 1));
        assertEquals("encodeBatch: maxLength 1 < 2 special tokens", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {99}, false));
    }
}
