package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;

/**
 * encodeBatch against encode: each row is encode's content ids truncated to maxLength minus the special tokens,
 * then post-processed; padded rows carry the file's pad id with mask 0 (the DJL comparison with truncation and
 * padding is in {@link TokenizerParityTest}).
 */
class EncodeBatchTest {
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
