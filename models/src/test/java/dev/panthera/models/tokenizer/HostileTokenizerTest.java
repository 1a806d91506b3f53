package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
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
}
