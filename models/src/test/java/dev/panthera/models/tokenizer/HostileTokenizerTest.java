package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tokenizer files whose components would hang, blow the stack or the heap on an ordinary text. */
class HostileTokenizerTest {
    @TempDir
    Path dir;

    static Tokenizer load(String json) throws Exception {
        return Tokenizer.fromHuggingFaceJson(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)));
    }

    /** A WordPiece tokenizer (vocabulary [UNK], a, b, ##a, ##b) with the given extra top-level members. */
    static String wordPiece(String extra) {
        return "{\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\","
                + "\"vocab\":{\"[UNK]\":0,\"a\":1,\"b\":2,\"##a\":3,\"##b\":4}}" + extra + "}";
    }

    /** The format error an encode call reports for a misbehaving component, checked to name {@code field}. */
    static TokenizerFormatException failsNaming(String field, Runnable encode) {
        var e = assertThrows(UncheckedIOException.class, encode::run);
        var cause = assertInstanceOf(TokenizerFormatException.class, e.getCause());
        assertTrue(cause.field().startsWith(field), cause.getMessage());
        return cause;
    }

    /**
     * A post-processor id that names no token (here [SEP] = 3 removed from the added tokens and left a hole in the
     * vocabulary) is refused at load: encode would emit it and decode could not map it back. Found by
     * TokenizerFuzzTest.mutatedJsonLoadsOrThrowsTheFormatException (jqwik seed -1959372445743867457).
     */
    @Test
    void postProcessorIdsMustNameTokens() {
        String doc = TokenizerFuzzTest.BERT
                .replace(",{\"id\":3,\"content\":\"[SEP]\",\"special\":true}", "")
                .replace("\"[SEP]\":3,", "");
        assertFalse(doc.contains("\"[SEP]\":3,"), "the mutation must apply");
        var e = assertThrows(
                TokenizerFormatException.class,
                () -> Tokenizer.fromHuggingFaceJson(new ByteArrayInputStream(doc.getBytes(StandardCharsets.UTF_8))));
        assertTrue(e.getMessage().contains("special token id 3"), e.getMessage());
        assertTrue(e.field().contains("post_processor"), e.field());
    }

    @Test
    void addedTokenMatchingIsLinearInTheText() throws Exception {
        // 100,000 added tokens starting with 'x': trying each at each position is 10^9 comparisons for this text
        StringBuilder added = new StringBuilder(",\"added_tokens\":[");
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            if (i > 0) added.append(',');
            added.append("{\"id\":")
                    .append(5 + i)
                    .append(",\"content\":\"x")
                    .append(i)
                    .append("\"}");
        }
        added.append(",{\"id\":").append(5 + n).append(",\"content\":\"yab\"}");
        added.append(",{\"id\":").append(6 + n).append(",\"content\":\"ya\"}]");
        Tokenizer t = load(wordPiece(added.toString()));
        String text = "x".repeat(10_000) + "x99999";
        int[] ids = assertTimeoutPreemptively(Duration.ofSeconds(3), () -> t.encode(text, false));
        assertArrayEquals(new int[] {0, 5 + 99_999}, ids, "the longest added token wins: x99999, not x9999 or x9");
        // leftmost-longest: "yab" over "ya", then "b" from the vocabulary
        assertArrayEquals(new int[] {5 + n, 2}, t.encode("yabb", false));
        assertArrayEquals(new int[] {6 + n, 5 + n}, t.encode("yayab", false));
    }

    @Test
    void catastrophicSplitPatternIsStoppedByTheStepBudget() throws Exception {
        // (.*a){12}x needs about n^12 steps on n 'a's without an x: minutes for 40 characters
        Tokenizer t = load(wordPiece(",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(.*a){12}x\"},"
                + "\"behavior\":\"Isolated\",\"invert\":false}"));
        assertArrayEquals(new int[] {1, 3}, t.encode("aa", false));
        var e = assertTimeoutPreemptively(
                Duration.ofSeconds(3),
                () -> failsNaming("tokenizer.json.pre_tokenizer.pattern.Regex", () -> t.encode("a".repeat(40), false)));
        assertTrue(e.getMessage().contains("(.*a){12}x"), e.getMessage());
    }

    @Test
    void regexStackOverflowNamesThePattern() throws Exception {
        Tokenizer t = load(wordPiece(",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(a|b)*\"},"
                + "\"behavior\":\"Isolated\",\"invert\":false}"));
        assertArrayEquals(new int[] {1, 4}, t.encode("ab", false));
        // the engine recurses once per repetition: 300,000 repetitions overflow any default stack
        failsNaming("tokenizer.json.pre_tokenizer.pattern.Regex", () -> t.encode("ab".repeat(150_000), false));
        Tokenizer n = load(wordPiece(
                ",\"normalizer\":{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"(a|b)*c\"}," + "\"content\":\"\"}"));
        failsNaming("tokenizer.json.normalizer.pattern.Regex", () -> n.encode("ab".repeat(150_000), false));
    }

    @Test
    void normalizersMayNotGrowTheTextWithoutBound() throws Exception {
        // twelve Replace a -> aaaaaaaa would turn one 'a' into 8^12 (6.9e10) characters
        String eight = "{\"type\":\"Replace\",\"pattern\":{\"String\":\"a\"},\"content\":\"aaaaaaaa\"}";
        String chain = ",\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":["
                + String.join(",", java.util.Collections.nCopies(12, eight)) + "]}";
        Tokenizer t = load(wordPiece(chain));
        assertTimeoutPreemptively(
                Duration.ofSeconds(3),
                () -> failsNaming("tokenizer.json.normalizer.normalizers", () -> t.encode("a", false)));
        // one Replace with a 1M-character content on a text of 10,000 matches: 10^10 characters
        String big = ",\"normalizer\":{\"type\":\"Replace\",\"pattern\":{\"String\":\"a\"},\"content\":\""
                + "b".repeat(1_000_000) + "\"}";
        Tokenizer one = load(wordPiece(big));
        assertTimeoutPreemptively(
                Duration.ofSeconds(3),
                () -> failsNaming("tokenizer.json.normalizer.pattern", () -> one.encode("a".repeat(10_000), false)));
        // ordinary growth passes: two spaces around each CJK ideograph
        Tokenizer bert = load(wordPiece(",\"normalizer\":{\"type\":\"BertNormalizer\"}"));
        assertDoesNotThrow(() -> bert.encode("\u4e2d".repeat(1000), false));
    }

    @Test
    void llama2cUnknownTokenIsSpecial() throws Exception {
        Tokenizer t = VocabFiles.llama2c(new ByteArrayInputStream(TokenizerFuzzTest.smallBin()));
        assertArrayEquals(new int[] {0}, t.encode("<unk>", false), "<unk> in the text is the unknown token");
        assertEquals("", t.decode(new int[] {0}, true), "and is skipped as a special token");
        assertEquals("<unk>", t.decode(new int[] {0}, false));
    }

    /**
     * One U+FFFD per unpaired surrogate, as Rust's {@code String::from_utf16_lossy} and the WHATWG TextEncoder
     * (transformers.js) convert such text. DJL is no oracle here: its JNI bridge hands Rust modified UTF-8, which
     * turns a lone surrogate into three U+FFFD and even a valid pair into six.
     */
    @Test
    void loneSurrogatesEncodeAsReplacementCharacter() throws Exception {
        TestFiles.require(TestFiles.GPT2_ENCODER);
        Tokenizer gpt2 = Tokenizer.fromHuggingFaceJson(TestFiles.gpt2Json(dir));
        Path bin = TestFiles.sharedData("llama2-tokenizer.bin");
        TestFiles.require(bin);
        Tokenizer llama = Tokenizer.fromLlama2cBin(bin);
        String[][] cases = {
            {"a\uD800b", "a\uFFFDb"},
            {"\uDC00", "\uFFFD"},
            {"x \uD83D", "x \uFFFD"},
            {"\uD83D\uDE00\uDE00", "\uD83D\uDE00\uFFFD"}
        };
        for (String[] c : cases) {
            assertArrayEquals(gpt2.encode(c[1]), gpt2.encode(c[0]), "byte-level BPE of " + escape(c[0]));
            assertArrayEquals(llama.encode(c[1]), llama.encode(c[0]), "byte fallback of " + escape(c[0]));
        }
        assertFalse(Arrays.equals(gpt2.encode("a?b"), gpt2.encode("a\uD800b")), "not '?' as String.getBytes gives");
    }

    static String escape(String s) {
        return Arrays.toString(s.chars().mapToObj(Integer::toHexString).toArray());
    }
}
