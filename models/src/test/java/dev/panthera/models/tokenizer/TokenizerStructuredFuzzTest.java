package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutations with a known answer, one family per loader: truncations, duplicated keys and huge lengths or ids must be
 * rejected with {@link TokenizerFormatException}; GPT-2's two files and GGUF vocabulary arrays, mutated at random,
 * must load (and then encode and decode) or be rejected, nothing else.
 */
class TokenizerStructuredFuzzTest {
    @TempDir
    Path dir;

    @Test
    void everyTruncatedJsonDocumentIsRejected() {
        for (String d : TokenizerFuzzTest.DOCS) {
            byte[] b = d.getBytes(StandardCharsets.UTF_8);
            for (int n = 0; n < b.length; n++)
                assertFalse(TokenizerFuzzTest.tryJson(Arrays.copyOf(b, n)), "the first " + n + " bytes loaded");
        }
    }

    @Test
    void duplicatedKeysAndHugeIdsAreRejected() {
        for (String d : TokenizerFuzzTest.DOCS) {
            int v = d.indexOf("\"vocab\":{") + 9;
            String firstVocabMember = d.substring(v, d.indexOf(',', v));
            for (String bad : List.of(
                    d.replace("\"model\":{", "\"model\":{\"type\":\"BPE\","),
                    d.substring(0, v) + firstVocabMember + "," + d.substring(v),
                    d.replaceFirst("\"vocab\":\\{(\"[^\"]*\"):\\d+", "\"vocab\":{$1:2147483648"),
                    d.replaceFirst("\"vocab\":\\{(\"[^\"]*\"):\\d+", "\"vocab\":{$1:1e300"),
                    d.replaceFirst("\"vocab\":\\{(\"[^\"]*\"):\\d+", "\"vocab\":{$1:-1"))) {
                assertNotEquals(d, bad);
                assertFalse(TokenizerFuzzTest.tryJson(bad.getBytes(StandardCharsets.UTF_8)), bad);
            }
        }
    }

    /** Offsets in {@link TokenizerFuzzTest#smallBin()} where a token record starts, and its end. */
    static List<Integer> binBoundaries(byte[] b) {
        List<Integer> at = new ArrayList<>();
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        for (int p = 4; p < b.length; p += 8 + bb.getInt(p + 4)) at.add(p);
        at.add(b.length);
        return at;
    }

    @Test
    void tokenizerBinTruncationsAndHugeLengths() {
        byte[] bin = TokenizerFuzzTest.smallBin();
        List<Integer> records = binBoundaries(bin);
        for (int n = 0; n < bin.length; n++) {
            // a cut between two records leaves a shorter valid file once <unk>, <s>, </s> are in
            boolean whole = records.indexOf(n) >= 3;
            assertEquals(whole, TokenizerFuzzTest.tryBin(Arrays.copyOf(bin, n)), "the first " + n + " bytes");
        }
        for (int k = 0; k < records.size() - 1; k++) {
            for (int huge : new int[] {Integer.MAX_VALUE, -1, 1 << 16, 9}) {
                byte[] b = bin.clone();
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(records.get(k) + 4, huge);
                assertFalse(TokenizerFuzzTest.tryBin(b), "token " + k + " length " + huge);
            }
        }
        for (int huge : new int[] {0, -1, Integer.MAX_VALUE, (1 << 16) + 1}) {
            byte[] b = bin.clone();
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(0, huge);
            assertFalse(TokenizerFuzzTest.tryBin(b), "max_token_length " + huge);
        }
    }

    static final String ENCODER =
            "{\"h\":0,\"e\":1,\"l\":2,\"o\":3,\"\\u0120\":4,\"he\":5,\"ll\":6,\"hell\":7," + "\"<|endoftext|>\":8}";
    static final String MERGES = "#version: 0.2\nh e\nl l\nhe ll\n";

    @Test
    void mutatedGpt2FilesLoadOrThrowTheFormatError() throws Exception {
        Path enc = dir.resolve("encoder.json"), bpe = dir.resolve("vocab.bpe");
        int loaded = 0, rejected = 0;
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 150; i++) {
            byte[] e = ENCODER.getBytes(StandardCharsets.UTF_8), m = MERGES.getBytes(StandardCharsets.UTF_8);
            if (i > 0 && r.nextBoolean()) e = TokenizerFuzzTest.mutate(e, r);
            else if (i > 0) m = TokenizerFuzzTest.mutate(m, r);
            Files.write(enc, e);
            Files.write(bpe, m);
            Tokenizer t;
            try {
                t = Tokenizer.fromGpt2Files(enc, bpe);
            } catch (TokenizerFormatException x) {
                assertTrue(x.field().startsWith("encoder.json") || x.field().startsWith("vocab.bpe"), x.getMessage());
                rejected++;
                continue;
            } catch (Throwable x) {
                throw new AssertionError("iteration " + i + ": " + x, x);
            }
            TokenizerFuzzTest.exercise(t, e);
            loaded++;
        }
        assertTrue(loaded > 1 && rejected > 0, loaded + " loaded, " + rejected + " rejected");
    }

    @Test
    void mutatedGgufVocabulariesLoadOrThrowTheFormatError() {
        String[] tokens = {"<unk>", "<s>", "</s>", "<0x41>", "\u2581", "a", "b", "ab", "\u2581ab"};
        float[] scores = {0, 0, 0, 0, -1, -2, -3, -4, -5};
        int[] types = {2, 3, 3, 6, 1, 1, 1, 1, 1};
        String[] merges = {"a b", "\u2581 ab"};
        SplittableRandom r = new SplittableRandom(9);
        int loaded = 0, rejected = 0;
        for (int i = 0; i < 800; i++) {
            String[] t = tokens.clone(), mg = merges.clone();
            float[] s = scores.clone();
            int[] ty = types.clone();
            int bos = 1, eos = 2;
            for (int k = 0, n = i == 0 ? 0 : 1 + r.nextInt(3); k < n; k++) {
                switch (r.nextInt(8)) {
                    case 0 -> t[r.nextInt(t.length)] = r.nextBoolean() ? null : "";
                    case 1 -> {
                        if (s.length > 0)
                            s[r.nextInt(s.length)] = r.nextBoolean() ? Float.NaN : Float.NEGATIVE_INFINITY;
                    }
                    case 2 -> ty[r.nextInt(ty.length)] = r.nextInt(-2, 9);
                    case 3 -> bos = r.nextInt(-3, 12);
                    case 4 -> eos = r.nextInt(-3, 12);
                    case 5 -> mg[r.nextInt(mg.length)] = r.nextBoolean() ? "ab" : r.nextBoolean() ? null : "a  b";
                    case 6 -> s = Arrays.copyOf(s, r.nextInt(12));
                    default -> t[r.nextInt(t.length)] = t[r.nextInt(t.length)]; // a duplicated token
                }
            }
            String model = r.nextBoolean() ? "llama" : "gpt2";
            Tokenizer tok;
            try {
                tok = Tokenizer.fromGgufVocab(model, t, s, ty, mg, bos, eos);
            } catch (TokenizerFormatException x) {
                assertTrue(x.field().startsWith("tokenizer.ggml"), x.getMessage());
                rejected++;
                continue;
            } catch (Throwable x) {
                throw new AssertionError("iteration " + i + " (" + model + "): " + x, x);
            }
            TokenizerFuzzTest.exercise(tok, Arrays.toString(t).getBytes(StandardCharsets.UTF_8));
            loaded++;
        }
        assertTrue(loaded > 0 && rejected > 0, loaded + " loaded, " + rejected + " rejected");
    }

    @Test
    void jsonFromAStreamIsNotReadPastItsLimits() {
        // a long run of nested arrays is rejected by the nesting limit, not by the stack
        byte[] deep = ("{\"model\":" + "[".repeat(100_000)).getBytes(StandardCharsets.UTF_8);
        assertThrows(
                TokenizerFormatException.class, () -> Tokenizer.fromHuggingFaceJson(new ByteArrayInputStream(deep)));
    }
}
