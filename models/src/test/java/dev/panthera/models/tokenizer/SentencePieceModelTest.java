package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.core.JsonFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Llama 2 vocabulary read from its SentencePiece {@code tokenizer.model}: the pieces and scores against
 * llama2.c's {@code tokenizer.bin} of the same vocabulary (read here with plain little-endian reads), and encodings
 * against Google's sentencepiece library (models/src/test/python/llama2_sentencepiece_fixtures.py wrote
 * resources/sentencepiece/llama2-ids.tsv; the ids there have no BOS, which our encode adds).
 */
class SentencePieceModelTest {
    static final Path MODEL = TestFiles.sharedData("llama2-tokenizer.model");
    static final Path BIN = TestFiles.sharedData("llama2-tokenizer.bin");

    @Test
    void piecesAndScoresAreThoseOfLlama2cTokenizerBin() throws Exception {
        TestFiles.require(MODEL);
        TestFiles.require(BIN);
        Tokenizer t = Tokenizer.fromSentencePieceModel(MODEL);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(BIN)).order(ByteOrder.LITTLE_ENDIAN);
        b.getInt();
        int id = 0;
        while (b.hasRemaining()) {
            b.getFloat(); // scores: compared through the merges below, which follow them
            byte[] s = new byte[b.getInt()];
            b.get(s);
            String piece = new String(s, StandardCharsets.UTF_8).replace(" ", "\u2581");
            if (id >= 3) assertEquals(piece, t.idToToken(id), "piece " + id);
            id++;
        }
        assertEquals(32000, id);
        assertEquals(id, t.vocabSize());
        assertEquals("<unk>", t.idToToken(0));
        assertEquals("<s>", t.idToToken(1));
        assertEquals("</s>", t.idToToken(2));
        // the same vocabulary through llama2.c's file encodes every fixture text the same way: scores agree
        Tokenizer fromBin = Tokenizer.fromLlama2cBin(BIN);
        for (String[] f : fixtures()) assertArrayEquals(fromBin.encode(f[0]), t.encode(f[0]), f[0]);
    }

    @Test
    void encodesAsSentencePieceDoes() throws Exception {
        TestFiles.require(MODEL);
        Tokenizer t = Tokenizer.fromSentencePieceModel(MODEL);
        List<String[]> fx = fixtures();
        assertEquals(22, fx.size());
        for (String[] f : fx) {
            String text = f[0];
            int[] want = f[1].isEmpty()
                    ? new int[] {1}
                    : java.util.stream.IntStream.concat(
                                    java.util.stream.IntStream.of(1),
                                    Arrays.stream(f[1].split(" ")).mapToInt(Integer::parseInt))
                            .toArray();
            assertArrayEquals(want, t.encode(text), "ids of " + f[0]);
            assertEquals(text, t.decode(t.encode(text), true), "round trip of " + f[0]);
        }
    }

    @Test
    void malformedFilesAreRejectedNamingTheField(@TempDir Path dir) throws Exception {
        TestFiles.require(MODEL);
        byte[] all = Files.readAllBytes(MODEL);
        Path cut = dir.resolve("cut.model");
        Files.write(cut, Arrays.copyOf(all, all.length / 2));
        TokenizerFormatException e =
                assertThrows(TokenizerFormatException.class, () -> Tokenizer.fromSentencePieceModel(cut));
        assertEquals(true, e.field().startsWith("tokenizer.model"), e.field());
        Path empty = dir.resolve("empty.model");
        Files.write(empty, new byte[0]);
        assertEquals(
                "tokenizer.model:pieces",
                assertThrows(TokenizerFormatException.class, () -> Tokenizer.fromSentencePieceModel(empty))
                        .field());
        // a piece whose length runs past the file: tag 1 (pieces), length 100, 3 bytes
        Path overrun = dir.resolve("overrun.model");
        Files.write(overrun, new byte[] {0x0a, 100, 1, 2, 3});
        assertThrows(TokenizerFormatException.class, () -> Tokenizer.fromSentencePieceModel(overrun));
    }

    /** {text, ids without BOS} per line of the fixture written by the sentencepiece script. */
    static List<String[]> fixtures() throws Exception {
        try (var in = SentencePieceModelTest.class.getResourceAsStream("/sentencepiece/llama2-ids.tsv")) {
            String all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            JsonFactory json = new JsonFactory();
            return all.lines()
                    .map(l -> {
                        int tab = l.lastIndexOf('\t');
                        try (var p = json.createParser(l.substring(0, tab))) {
                            p.nextToken();
                            return new String[] {p.getText(), l.substring(tab + 1)};
                        } catch (java.io.IOException ex) {
                            throw new java.io.UncheckedIOException(ex);
                        }
                    })
                    .toList();
        }
    }
}
