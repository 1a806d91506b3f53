package dev.panthera.models.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Hostile tokenizer files: mutated tokenizer.json documents (the three families' component types, in small
 * hand-written files) and mutated llama2.c tokenizer.bin files either load or throw {@link TokenizerFormatException};
 * nothing else escapes, and whatever loads can encode and decode. The suite runs 2,300 drawn mutations of each; for a
 * long run:
 * {@code ./panthera mvn -q -pl models test -Dtest=TokenizerFuzzTest -Dtokenizer.fuzz.iterations=100000}.
 */
class TokenizerFuzzTest {
    static final String BPE = """
            {"version":"1.0","added_tokens":[{"id":9,"content":"<s>","special":true}],
             "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"\u2581"},
               {"type":"Replace","pattern":{"String":" "},"content":"\u2581"},{"type":"NFC"}]},
             "pre_tokenizer":null,
             "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},
               {"Sequence":{"id":"A","type_id":0}}],"special_tokens":{"<s>":{"id":"<s>","ids":[9],"tokens":["<s>"]}}},
             "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"\u2581"},"content":" "},
               {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
             "model":{"type":"BPE","dropout":null,"unk_token":"<unk>","fuse_unk":true,"byte_fallback":true,
               "vocab":{"<unk>":0,"\u2581":1,"a":2,"b":3,"ab":4,"\u2581ab":5,"<0x41>":6,"<0xC3>":7,"<0xA9>":8,"<s>":9},
               "merges":["a b",["\u2581","ab"]]}}""";
    static final String GPT2 = """
            {"added_tokens":[],"normalizer":null,
             "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\\\s+"},
               "behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}]},
             "post_processor":{"type":"ByteLevel"},"decoder":{"type":"ByteLevel"},
             "model":{"type":"BPE","vocab":{"h":0,"e":1,"l":2,"o":3,"\u0120":4,"he":5,"ll":6,"hell":7,"\u0120h":8},
               "merges":["h e","l l","he ll","\u0120 h"],"ignore_merges":false}}""";
    static final String BERT = """
            {"added_tokens":[{"id":0,"content":"[PAD]","special":true},{"id":1,"content":"[UNK]","special":true},
               {"id":2,"content":"[CLS]","special":true},{"id":3,"content":"[SEP]","special":true}],
             "padding":{"pad_id":0},
             "normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
             "pre_tokenizer":{"type":"BertPreTokenizer"},
             "post_processor":{"type":"BertProcessing","sep":["[SEP]",3],"cls":["[CLS]",2]},
             "decoder":{"type":"WordPiece","prefix":"##","cleanup":true},
             "model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,
               "vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"hello":4,"world":5,"##s":6,"un":7,"##able":8,"!":9,"\u4e2d":10}}}""";
    static final List<String> DOCS = List.of(BPE, GPT2, BERT);
    static final String[] SAMPLES = {
        "", "ab ab", "hello worlds!", "Hello, 中文 \u00e9A", "unable<s>ab", "\u0000\uFFFD\t x"
    };
    static final String[] SNIPPETS = {
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "null",
        "true",
        "-1",
        "1e999",
        "99999999999",
        "0.5",
        "\"type\"",
        "\"Sequence\"",
        "\"\\ud800\"",
        "[[[[[[[[",
        "\"\u2581\"",
        "{\"type\":\"BPE\"}",
        "\\",
        "\u00ff"
    };

    /** The kinds of {@link Edit}. */
    enum Kind {
        /** The byte at {@code at} set to {@code value}. */
        SET_BYTE,
        /** The {@code span} bytes from {@code at} deleted. */
        DELETE,
        /** A snippet inserted before {@code at}. */
        INSERT,
        /** The bytes from {@code at} on dropped. */
        TRUNCATE,
        /** The {@code span} bytes from {@code at} repeated. */
        DUPLICATE,
        /** The {@code span} bytes from {@code at} replaced by a snippet. */
        REPLACE
    }

    /**
     * One edit of a document: {@code at} is taken modulo the current length (a document's length changes as earlier
     * edits apply), {@code span} bytes (1 to 16, fewer at the end) are affected, and {@code value} is the new byte or
     * (modulo their count) the index of the {@link #SNIPPETS snippet} inserted.
     */
    record Edit(Kind kind, int at, int span, int value) {
        byte[] apply(byte[] cur) {
            int len = cur.length;
            int a = len == 0 ? 0 : at % len, b = Math.min(len, a + span);
            byte[] snippet = SNIPPETS[value % SNIPPETS.length].getBytes(StandardCharsets.UTF_8);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            switch (kind) {
                case SET_BYTE -> {
                    byte[] c = cur.clone();
                    if (len > 0) c[a] = (byte) value;
                    return c;
                }
                case DELETE -> {
                    out.write(cur, 0, a);
                    out.write(cur, b, len - b);
                }
                case INSERT -> {
                    out.write(cur, 0, a);
                    out.writeBytes(snippet);
                    out.write(cur, a, len - a);
                }
                case TRUNCATE -> out.write(cur, 0, a);
                case DUPLICATE -> {
                    out.write(cur, 0, b);
                    out.write(cur, a, len - a);
                }
                case REPLACE -> {
                    out.write(cur, 0, a);
                    out.writeBytes(snippet);
                    out.write(cur, b, len - b);
                }
            }
            return out.toByteArray();
        }
    }

    /**
     * One to four edits, the kinds equally likely, positions uniform over [0, 2^16) (beyond every document's
     * length); a failing list shrinks toward fewer edits, earlier positions, shorter spans and the first snippet.
     */
    static Arbitrary<List<Edit>> edits() {
        Arbitrary<Edit> edit = Combinators.combine(
                        Arbitraries.of(Kind.class),
                        Arbitraries.integers().between(0, (1 << 16) - 1).withDistribution(RandomDistribution.uniform()),
                        Arbitraries.integers().between(1, 16),
                        Arbitraries.integers().between(0, 255))
                .as(Edit::new);
        return edit.list().ofMinSize(1).ofMaxSize(4);
    }

    /** {@code edits} applied in order to {@code doc}. */
    static byte[] mutate(byte[] doc, List<Edit> edits) {
        byte[] cur = doc;
        for (Edit e : edits) cur = e.apply(cur);
        return cur;
    }

    /** Loads a mutated document; returns whether it loaded. Anything but TokenizerFormatException fails the test. */
    static boolean tryJson(byte[] bytes) {
        Tokenizer t;
        try {
            t = Tokenizer.fromHuggingFaceJson(new ByteArrayInputStream(bytes));
        } catch (TokenizerFormatException e) {
            assertTrue(e.field() != null && e.field().startsWith("tokenizer.json"), "field named: " + e.getMessage());
            return false;
        } catch (Throwable e) {
            throw new AssertionError(
                    "unexpected " + e + " for input:\n" + new String(bytes, StandardCharsets.UTF_8), e);
        }
        exercise(t, bytes);
        return true;
    }

    /**
     * Encodes and decodes the samples. The only failure allowed is the documented one: a component of the file
     * exceeding its bound on a text, an UncheckedIOException wrapping a TokenizerFormatException that names it.
     */
    static void exercise(Tokenizer t, byte[] bytes) {
        try {
            for (String s : SAMPLES) {
                int[] ids = t.encode(s);
                for (int id : ids) assertTrue(id >= 0 && id < t.vocabSize(), "id in range");
                t.decode(ids, true);
                t.decode(ids, false);
            }
            t.encodeBatch(Arrays.asList(SAMPLES), true, 0);
        } catch (java.io.UncheckedIOException e) {
            if (!(e.getCause() instanceof TokenizerFormatException f)
                    || f.field().isEmpty()) throw new AssertionError("undocumented failure on use: " + e, e);
        } catch (Throwable e) {
            throw new AssertionError(
                    "loaded tokenizer failed on use: " + e + "\n" + new String(bytes, StandardCharsets.UTF_8), e);
        }
    }

    @Provide
    Arbitrary<List<Edit>> mutations() {
        return edits();
    }

    /** Counts an outcome and requires both among the tries: else the fuzzer misses the checks or the tokenizer. */
    static void outcome(String what, boolean loaded) {
        Statistics.label(what).collect(loaded ? "loaded" : "rejected");
        Statistics.label(what).coverage(c -> {
            c.check("loaded").count((Integer n) -> {
                assertTrue(n > 0, "no mutated " + what + " loaded");
            });
            c.check("rejected").count((Integer n) -> {
                assertTrue(n > 0, "every mutated " + what + " loaded");
            });
        });
    }

    /**
     * 2,300 tries, the suite's whole JSON budget (300 here and 2,000 in the loop this replaced); {@code doc} is
     * tokenizer.json of the BPE, GPT-2 or BERT family.
     */
    @Property(tries = 2300)
    void mutatedJsonLoadsOrThrowsTheFormatException(
            @ForAll @IntRange(min = 0, max = 2) int doc, @ForAll("mutations") List<Edit> edits) {
        outcome("tokenizer.json", tryJson(mutate(DOCS.get(doc).getBytes(StandardCharsets.UTF_8), edits)));
    }

    static byte[] smallBin() {
        String[] toks = {"<unk>", "\n<s>\n", "\n</s>\n", "<0x41>", "<0xC3>", "<0xA9>", " ", "a", "b", "ab", " ab", "  "
        };
        ByteBuffer b = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(8);
        for (int i = 0; i < toks.length; i++) {
            byte[] s = toks[i].getBytes(StandardCharsets.UTF_8);
            b.putFloat(i < 6 ? 0f : -i).putInt(s.length).put(s);
        }
        return Arrays.copyOf(b.array(), b.position());
    }

    static boolean tryBin(byte[] bytes) {
        Tokenizer t;
        try {
            t = VocabFiles.llama2c(new ByteArrayInputStream(bytes));
        } catch (TokenizerFormatException e) {
            assertTrue(e.field().startsWith("tokenizer.bin"), "field named: " + e.getMessage());
            return false;
        } catch (Throwable e) {
            throw new AssertionError("unexpected " + e + " for tokenizer.bin " + Arrays.toString(bytes), e);
        }
        exercise(t, bytes);
        return true;
    }

    /** 2,300 tries, as for the JSON documents. */
    @Property(tries = 2300)
    void mutatedTokenizerBinLoadsOrThrowsTheFormatException(@ForAll("mutations") List<Edit> edits) {
        outcome("tokenizer.bin", tryBin(mutate(smallBin(), edits)));
    }

    @Test
    void validBaseFilesLoadAndEncode() throws Exception {
        for (String d : DOCS) assertTrue(tryJson(d.getBytes(StandardCharsets.UTF_8)), d);
        assertTrue(tryBin(smallBin()));
        Tokenizer bpe = Tokenizer.fromHuggingFaceJson(new ByteArrayInputStream(BPE.getBytes(StandardCharsets.UTF_8)));
        // worked by hand from HF's BPE rules: <s>; "▁ab" via merges a+b then ▁+ab; "é" has no token, so byte
        // fallback <0xC3><0xA9>; "▁"; "cc" has no token and no byte tokens, so one fused <unk>
        assertEquals(
                List.of(9, 5, 7, 8, 1, 0),
                Arrays.stream(bpe.encode("abé cc")).boxed().toList());
    }

    @Test
    void namedFieldsForTypicalMistakes() {
        record Case(String doc, String field) {}
        for (Case c : List.of(
                new Case(
                        BERT.replace("\"unk_token\":\"[UNK]\",\"continuing", "\"unk_token\":\"[NOPE]\",\"continuing"),
                        "tokenizer.json.model.unk_token"),
                new Case(GPT2.replace("\"he ll\"", "\"he zz\""), "tokenizer.json.model.merges[2]"),
                new Case(GPT2.replace("\"type\":\"BPE\"", "\"type\":\"Unigram\""), "tokenizer.json.model.type"),
                new Case(BERT.replace("\"hello\":4", "\"hello\":-4"), "tokenizer.json.model.vocab.hello"),
                new Case(
                        BERT.replace("\"sep\":[\"[SEP]\",3]", "\"sep\":[\"[SEP]\",3000000]"),
                        "tokenizer.json.post_processor.sep[1]"),
                new Case(
                        BPE.replace("{\"type\":\"NFC\"}", "{\"type\":\"NFX\"}"),
                        "tokenizer.json.normalizer.normalizers[2].type"),
                new Case("[".repeat(100) + "]".repeat(100), "tokenizer.json"),
                new Case("{\"model\":{}} trailing", "tokenizer.json"))) {
            var e = assertThrows(
                    TokenizerFormatException.class,
                    () -> Tokenizer.fromHuggingFaceJson(
                            new ByteArrayInputStream(c.doc().getBytes(StandardCharsets.UTF_8))));
            assertTrue(e.field().startsWith(c.field()), "expected field " + c.field() + ", got " + e.getMessage());
        }
    }

    /**
     * The long run, skipped unless {@code -Dtokenizer.fuzz.iterations=100000} is given: that many JSON documents and
     * tokenizer.bin files per format, their edits sampled from the properties' arbitrary (a failure prints the input).
     */
    @Test
    void fuzzLoop() {
        String iterations = System.getProperty("tokenizer.fuzz.iterations");
        Assumptions.assumeTrue(iterations != null, "skipped: the long run needs -Dtokenizer.fuzz.iterations=100000");
        int n = Integer.parseInt(iterations);
        List<List<Edit>> samples = edits().sampleStream().limit(2L * n).toList();
        int json = 0, bin = 0;
        for (int i = 0; i < n; i++) {
            if (tryJson(mutate(DOCS.get(i % DOCS.size()).getBytes(StandardCharsets.UTF_8), samples.get(2 * i)))) json++;
            if (tryBin(mutate(smallBin(), samples.get(2 * i + 1)))) bin++;
        }
        assertTrue(json > 0 && json < n, json + " of " + n + " mutated tokenizer.json loaded: both outcomes expected");
        assertTrue(bin > 0 && bin < n, bin + " of " + n + " mutated tokenizer.bin loaded: both outcomes expected");
        System.out.println("tokenizer fuzz: " + n + " mutated tokenizer.json + " + n + " mutated tokenizer.bin inputs, "
                + (json + bin) + " loaded and were exercised, the rest threw TokenizerFormatException");
    }
}
