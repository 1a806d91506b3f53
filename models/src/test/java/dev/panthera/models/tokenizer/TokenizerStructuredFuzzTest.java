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
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
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

    /** The folder of the GPT-2 files property (jqwik does not fill JUnit's {@code @TempDir}). */
    private static Path gpt2Dir;

    @BeforeContainer
    static void makeGpt2Dir() throws Exception {
        gpt2Dir = Files.createTempDirectory("gpt2-fuzz");
    }

    @AfterContainer
    static void removeGpt2Dir() throws Exception {
        try (var files = Files.list(gpt2Dir)) {
            for (Path p : files.toList()) Files.delete(p);
        }
        Files.delete(gpt2Dir);
    }

    /** Loads GPT-2's two files; true when they load (then encode and decode), false when rejected naming a file. */
    static boolean tryGpt2(Path dir, byte[] e, byte[] m, String what) throws Exception {
        Path enc = dir.resolve("encoder.json"), bpe = dir.resolve("vocab.bpe");
        Files.write(enc, e);
        Files.write(bpe, m);
        Tokenizer t;
        try {
            t = Tokenizer.fromGpt2Files(enc, bpe);
        } catch (TokenizerFormatException x) {
            assertTrue(x.field().startsWith("encoder.json") || x.field().startsWith("vocab.bpe"), x.getMessage());
            return false;
        } catch (Throwable x) {
            throw new AssertionError(what + ": " + x, x);
        }
        TokenizerFuzzTest.exercise(t, e);
        return true;
    }

    @Test
    void unmutatedGpt2FilesLoad() throws Exception {
        assertTrue(tryGpt2(
                dir, ENCODER.getBytes(StandardCharsets.UTF_8), MERGES.getBytes(StandardCharsets.UTF_8), "unmutated"));
    }

    @Provide
    Arbitrary<List<TokenizerFuzzTest.Edit>> mutations() {
        return TokenizerFuzzTest.edits();
    }

    /**
     * One of the two files (encoder.json or vocab.bpe) mutated by the drawn edits. Only about 3% of these load, so
     * among 150 tries none may (about a 1% chance): the tries are required to reach a rejection, and a mutation that
     * loads is {@link #aMutatedMergesFileThatStillLoadsIsExercised}.
     */
    @Property(tries = 150)
    void mutatedGpt2FilesLoadOrThrowTheFormatError(
            @ForAll boolean encoder, @ForAll("mutations") List<TokenizerFuzzTest.Edit> edits) throws Exception {
        byte[] e = ENCODER.getBytes(StandardCharsets.UTF_8), m = MERGES.getBytes(StandardCharsets.UTF_8);
        if (encoder) e = TokenizerFuzzTest.mutate(e, edits);
        else m = TokenizerFuzzTest.mutate(m, edits);
        String what = (encoder ? "encoder.json" : "vocab.bpe") + " edits " + edits;
        boolean loaded = tryGpt2(gpt2Dir, e, m, what);
        Statistics.label("GPT-2 files").collect(loaded ? "loaded" : "rejected");
        Statistics.label("GPT-2 files")
                .coverage(c -> c.check("rejected").count((Integer n) -> {
                    assertTrue(n > 0, "every mutated pair of GPT-2 files loaded");
                }));
    }

    /** vocab.bpe's last merge ("he ll", bytes 22 to 27) deleted: the files load and the tokenizer is exercised. */
    @Test
    void aMutatedMergesFileThatStillLoadsIsExercised() throws Exception {
        byte[] m = TokenizerFuzzTest.mutate(
                MERGES.getBytes(StandardCharsets.UTF_8),
                List.of(new TokenizerFuzzTest.Edit(TokenizerFuzzTest.Kind.DELETE, 22, 6, 0)));
        assertEquals("#version: 0.2\nh e\nl l\n", new String(m, StandardCharsets.UTF_8));
        assertTrue(tryGpt2(dir, ENCODER.getBytes(StandardCharsets.UTF_8), m, "without the last merge"));
    }

    /** The kinds of {@link VocabEdit}. */
    enum VocabKind {
        /** Token {@code at} set to null ({@code flag}) or "". */
        EMPTY_TOKEN,
        /** Score {@code at} set to NaN ({@code flag}) or −Inf, if there are scores. */
        BAD_SCORE,
        /** Token type {@code at} set to {@code value} clamped to [−2, 8]. */
        TOKEN_TYPE,
        /** The BOS id set to {@code value} (in [−3, 11]). */
        BOS,
        /** The EOS id set to {@code value}. */
        EOS,
        /** Merge {@code at} set to "ab" ({@code flag}), null ({@code flag2}) or "a  b". */
        BAD_MERGE,
        /** The scores cut to {@code max(value, 0)} entries. */
        SCORES_LENGTH,
        /** Token {@code at} set to token {@code from}: a duplicated token. */
        DUPLICATE_TOKEN
    }

    /** One edit of a GGUF vocabulary's arrays; {@code at} and {@code from} are taken modulo the array's length. */
    record VocabEdit(VocabKind kind, int at, int from, int value, boolean flag, boolean flag2) {}

    /** A GGUF vocabulary's arrays and special ids, mutated. */
    static final class Vocab {
        String[] tokens = {"<unk>", "<s>", "</s>", "<0x41>", "\u2581", "a", "b", "ab", "\u2581ab"};
        float[] scores = {0, 0, 0, 0, -1, -2, -3, -4, -5};
        int[] types = {2, 3, 3, 6, 1, 1, 1, 1, 1};
        String[] merges = {"a b", "\u2581 ab"};
        int bos = 1, eos = 2;

        Vocab apply(VocabEdit e) {
            int t = e.at() % tokens.length;
            switch (e.kind()) {
                case EMPTY_TOKEN -> tokens[t] = e.flag() ? null : "";
                case BAD_SCORE -> {
                    if (scores.length > 0)
                        scores[e.at() % scores.length] = e.flag() ? Float.NaN : Float.NEGATIVE_INFINITY;
                }
                case TOKEN_TYPE -> types[e.at() % types.length] = Math.max(-2, Math.min(8, e.value()));
                case BOS -> bos = e.value();
                case EOS -> eos = e.value();
                case BAD_MERGE -> merges[e.at() % merges.length] = e.flag() ? "ab" : e.flag2() ? null : "a  b";
                case SCORES_LENGTH -> scores = Arrays.copyOf(scores, Math.max(0, e.value()));
                case DUPLICATE_TOKEN -> tokens[t] = tokens[e.from() % tokens.length];
            }
            return this;
        }

        /** Builds the tokenizer: true when it loads (then encodes and decodes), false when rejected naming a field. */
        boolean load(String model, String what) {
            Tokenizer tok;
            try {
                tok = Tokenizer.fromGgufVocab(model, tokens, scores, types, merges, bos, eos);
            } catch (TokenizerFormatException x) {
                assertTrue(x.field().startsWith("tokenizer.ggml"), x.getMessage());
                return false;
            } catch (Throwable x) {
                throw new AssertionError(what + " (" + model + "): " + x, x);
            }
            TokenizerFuzzTest.exercise(tok, Arrays.toString(tokens).getBytes(StandardCharsets.UTF_8));
            return true;
        }
    }

    @Test
    void unmutatedGgufVocabulariesLoad() {
        for (String model : new String[] {"llama", "gpt2"}) assertTrue(new Vocab().load(model, "unmutated"), model);
    }

    @Provide
    Arbitrary<List<VocabEdit>> vocabEdits() {
        Arbitrary<Integer> index = Arbitraries.integers().between(0, 63);
        return Combinators.combine(
                        Arbitraries.of(VocabKind.class),
                        index,
                        index,
                        Arbitraries.integers().between(-3, 11),
                        Arbitraries.of(false, true),
                        Arbitraries.of(false, true))
                .as(VocabEdit::new)
                .list()
                .ofMinSize(1)
                .ofMaxSize(3);
    }

    /** One to three edits of the arrays and ids, for a Llama (SentencePiece) or GPT-2 (byte-level BPE) vocabulary. */
    @Property(tries = 800)
    void mutatedGgufVocabulariesLoadOrThrowTheFormatError(
            @ForAll("vocabEdits") List<VocabEdit> edits, @ForAll boolean llama) {
        Vocab v = new Vocab();
        for (VocabEdit e : edits) v.apply(e);
        TokenizerFuzzTest.outcome("GGUF vocabulary", v.load(llama ? "llama" : "gpt2", "edits " + edits));
    }

    @Test
    void jsonFromAStreamIsNotReadPastItsLimits() {
        // a long run of nested arrays is rejected by the nesting limit, not by the stack
        byte[] deep = ("{\"model\":" + "[".repeat(100_000)).getBytes(StandardCharsets.UTF_8);
        assertThrows(
                TokenizerFormatException.class, () -> Tokenizer.fromHuggingFaceJson(new ByteArrayInputStream(deep)));
    }
}
