package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.core.JsonFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SentencePiece models beyond Llama 2's: Gemma-style BPE without the dummy prefix (with user-defined symbols) and
 * unigram models with and without byte fallback. Expected ids are Google's sentencepiece library's own encodings,
 * written with the models by models/src/test/python/sentencepiece_variant_fixtures.py.
 */
class SentencePieceVariantsTest {
    @ParameterizedTest
    @ValueSource(strings = {"gemma-style", "unigram", "unigram-unk"})
    void encodesAsSentencePieceDoes(String name, @org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path model = dir.resolve(name + ".model");
        try (var in = getClass().getResourceAsStream("/sentencepiece/" + name + ".model")) {
            Files.write(model, in.readAllBytes());
        }
        Tokenizer t = Tokenizer.fromSentencePieceModel(model);
        List<String[]> fx = fixtures("/sentencepiece/" + name + "-ids.tsv");
        assertEquals(18, fx.size());
        for (String[] f : fx) {
            String text = f[0];
            int[] want = IntStream.concat(
                            IntStream.of(1),
                            f[1].isEmpty()
                                    ? IntStream.empty()
                                    : Arrays.stream(f[1].split(" ")).mapToInt(Integer::parseInt))
                    .toArray();
            assertArrayEquals(want, t.encode(text), name + ": ids of " + f[0]);
            // without byte fallback the unknown characters are lost, as in sentencepiece
            if (!name.equals("unigram-unk"))
                assertEquals(text, t.decode(t.encode(text), true), "round trip of " + text);
        }
    }

    static List<String[]> fixtures(String resource) throws IOException {
        try (var in = SentencePieceVariantsTest.class.getResourceAsStream(resource)) {
            String all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            JsonFactory json = new JsonFactory();
            return all.lines()
                    .map(l -> {
                        int tab = l.lastIndexOf('\t');
                        try (var p = json.createParser(l.substring(0, tab))) {
                            p.nextToken();
                            return new String[] {p.getText(), l.substring(tab + 1)};
                        } catch (IOException ex) {
                            throw new UncheckedIOException(ex);
                        }
                    })
                    .toList();
        }
    }
}
