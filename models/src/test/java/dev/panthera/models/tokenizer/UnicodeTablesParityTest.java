package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
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
 * Every code point of planes 0, 1 and 14 between two letters, through the real all-MiniLM-L6-v2 tokenizer.json
 * (BertNormalizer with accent stripping, BERT pre-tokenizer, WordPiece), ours against HuggingFace tokenizers
 * (DJL): the character classes of {@link HfCharTables} must give HuggingFace's ids for characters the JDK's newer
 * Unicode data classifies differently. The same with a Sequence [NFD, StripAccents, Lowercase] normalizer for the
 * StripAccents table.
 */
class UnicodeTablesParityTest {
    @TempDir
    Path dir;

    /** U+07FD (NKO DANTAYALAN, Mn only since Unicode 11) survives HuggingFace's accent stripping: [UNK]. */
    @Test
    void nkoDantayalanIsUnknownAsInHuggingFace() throws IOException {
        Path p = TestFiles.minilm(dir);
        Tokenizer ours = Tokenizer.fromHuggingFaceJson(p);
        int unk = ours.tokenToId("[UNK]"), cls = ours.tokenToId("[CLS]"), sep = ours.tokenToId("[SEP]");
        try (HuggingFaceTokenizer ref = TokenizerParityTest.djl(p)) {
            assertArrayEquals(new int[] {cls, unk, sep}, TokenizerParityTest.ids(ref.encode("\u07fd")));
        }
        assertArrayEquals(new int[] {cls, unk, sep}, ours.encode("\u07fd"));
        // an accent HuggingFace's tables know is still stripped: "à" is "a"
        assertArrayEquals(ours.encode("a"), ours.encode("a\u0300"));
    }

    @Test
    void everyCodePointTokenizesAsHuggingFace() throws IOException {
        Path p = TestFiles.minilm(dir);
        compareAllCodePoints(p, "bert");
    }

    @Test
    void stripAccentsNormalizerMatchesHuggingFace() throws IOException {
        Path minilm = TestFiles.minilm(dir);
        String json = Files.readString(minilm, StandardCharsets.UTF_8);
        int at = json.indexOf("\"normalizer\"");
        int end = json.indexOf("\"pre_tokenizer\"");
        assertTrue(at > 0 && end > at, "layout of the MiniLM tokenizer.json");
        json = json.substring(0, at)
                + "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFD\"},"
                + " {\"type\": \"StripAccents\"}, {\"type\": \"Lowercase\"}]},\n  " + json.substring(end);
        Path p = dir.resolve("strip-accents.json");
        Files.writeString(p, json, StandardCharsets.UTF_8);
        compareAllCodePoints(p, "strip-accents");
    }

    private static void compareAllCodePoints(Path json, String what) throws IOException {
        Tokenizer ours = Tokenizer.fromHuggingFaceJson(json);
        List<String> bad = new ArrayList<>();
        int compared = 0;
        try (HuggingFaceTokenizer ref = TokenizerParityTest.djl(json)) {
            List<String> batch = new ArrayList<>();
            List<Integer> points = new ArrayList<>();
            for (int c = 0; c < 0xE0200; c++) {
                if (c == 0x20000) c = 0xE0000; // planes 2-13 hold only ideographs and unassigned code points
                if (Character.isSurrogate((char) c) && c < 0x10000) continue;
                batch.add("a" + Character.toString(c) + "b");
                points.add(c);
                if (batch.size() == 4096 || c == 0xE01FF) {
                    var enc = ref.batchEncode(batch);
                    for (int i = 0; i < batch.size(); i++) {
                        int[] want = TokenizerParityTest.ids(enc[i]), got = ours.encode(batch.get(i));
                        compared++;
                        if (!Arrays.equals(want, got) && bad.size() < 10)
                            bad.add(String.format(
                                    "U+%04X: ours %s, hf %s",
                                    points.get(i), Arrays.toString(got), Arrays.toString(want)));
                    }
                    batch.clear();
                    points.clear();
                }
            }
        }
        assertEquals(0x10000 - 0x800 + 0x10000 + 0x200, compared, what + ": planes 0 and 1 without surrogates, and 14");
        assertEquals(List.of(), bad, what + ": code points tokenized differently");
    }
}
