package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.tokenizer.TestFiles;
import dev.panthera.models.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The incremental text equals the whole sequence decoded at once, after every token, for a SentencePiece tokenizer
 * (leading-space strip, byte fallback: the Llama 2 vocabulary from ../shared/data), byte-level BPE (GPT-2's files)
 * and WordPiece (MiniLM's tokenizer.json), over random token sequences including partial UTF-8 bytes and specials.
 */
class DetokenizerTest {
    @Property(tries = 60)
    void incrementalEqualsWholeDecode(@ForAll long seed, @ForAll @IntRange(min = 1, max = 80) int length)
            throws Exception {
        for (Tokenizer t : tokenizers()) {
            SplittableRandom r = new SplittableRandom(seed);
            int[] ids = new int[length];
            for (int i = 0; i < length; i++) {
                // a third of the draws from the first 300 ids: specials and <0xNN> byte pieces in SentencePiece
                ids[i] = r.nextInt(3) == 0 ? r.nextInt(300) : r.nextInt(t.vocabSize());
            }
            Detokenizer d = new Detokenizer(t);
            for (int n = 1; n <= length; n++) {
                String whole = t.decode(Arrays.copyOf(ids, n), true);
                assertEquals(whole, d.append(ids, n), "after " + n + " tokens of " + Arrays.toString(ids));
            }
        }
    }

    /**
     * Llama 2's vocabulary: "Repub" then the byte pieces {@code <0x20>} and {@code <0x9A>}. The run of two bytes is not
     * valid UTF-8, so the whole decoding (HuggingFace's byte fallback) gives two U+FFFD and no space; the space the
     * first byte gave on its own must not have been released. Found by the property above (seed 229032, length 22).
     */
    @Example
    void aByteRunThatTurnsInvalidReplacesTheTextItGaveBefore() throws Exception {
        Tokenizer t = tokenizers()[0];
        int[] ids = {12804, 35, 157};
        assertEquals("<0x20>", t.idToToken(35));
        assertEquals("<0x9A>", t.idToToken(157));
        Detokenizer d = new Detokenizer(t);
        for (int n = 1; n <= ids.length; n++)
            assertEquals(t.decode(Arrays.copyOf(ids, n), true), d.append(ids, n), "after " + n + " tokens");
        assertEquals("Repub\uFFFD\uFFFD", d.append(ids, ids.length).stripLeading());
    }

    private static Tokenizer[] loaded;

    private static synchronized Tokenizer[] tokenizers() throws Exception {
        if (loaded != null) return loaded;
        Path spm = TestFiles.sharedData("llama2-tokenizer.model");
        TestFiles.require(spm);
        Path dir = Files.createTempDirectory("detok");
        return loaded = new Tokenizer[] {
            Tokenizer.fromSentencePieceModel(spm),
            Tokenizer.fromHuggingFaceJson(TestFiles.gpt2Json(dir)),
            Tokenizer.fromHuggingFaceJson(TestFiles.minilm(dir))
        };
    }
}
