package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.core.JsonFactory;
import de.kherud.llama.ModelParameters;
import dev.panthera.models.gpt2.Gpt2Model;
import dev.panthera.models.io.GgufFile;
import dev.panthera.models.io.GgufValue;
import dev.panthera.models.io.GgufVocab;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.models.io.Weights;
import dev.panthera.models.tokenizer.TestFiles;
import dev.panthera.models.tokenizer.Tokenizer;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code convert} of HuggingFace folders carries the tokenizer into the GGUF: our GGUF reader and llama.cpp
 * (de.kherud:llama 4.2.0) both tokenize the converted file exactly as the folder's HuggingFace tokenizer does.
 *
 * <ul>
 *   <li>bytelevel-bpe, spm-bpe-json and gpt2-bytelevel (resources/convert, written with transformers and tokenizers
 *       by models/src/test/python/convert_vocab_fixtures.py): a GPT-2-style byte-level BPE tokenizer.json, a
 *       Llama-2-style byte-fallback BPE given only as tokenizer.json, a Llama-3-style byte-level BPE (its split regex,
 *       ignore_merges; GGUF pre "llama-bpe"), all beside Llama weights, and the GPT-2-style one beside GPT-2 weights;
 *       ids.tsv there holds HuggingFace tokenizers' ids.
 *   <li>the real Llama 2 tokenizer.model (../shared/data) in a folder assembled here with Llama 2's
 *       tokenizer_config.json and random weights; the expected ids are Google sentencepiece's
 *       (resources/sentencepiece/llama2-ids.tsv, llama2_sentencepiece_fixtures.py), which the tokenizer.json
 *       published with Llama 2 reproduces, plus BOS as that tokenizer_config adds it.
 * </ul>
 */
class HfConvertVocabTest {
    @TempDir
    Path tmp;

    static Path fixture(String name) {
        return Path.of("src", "test", "resources", "convert", name).toAbsolutePath();
    }

    @ParameterizedTest
    @ValueSource(strings = {"bytelevel-bpe", "spm-bpe-json", "llama3-bpe", "gpt2-bytelevel"})
    void trainedTokenizersSurviveConversion(String name) throws Exception {
        Path out = tmp.resolve(name + ".gguf");
        GgufConvert.convert(fixture(name), null, GgmlType.F32, out);
        List<Case> cases = cases(Files.readString(fixture(name).resolve("ids.tsv")), -1);
        String model = name.equals("spm-bpe-json") ? "llama" : "gpt2";
        // BOS: <s> (id 1) added by spm-bpe-json's template, <|begin_of_text|> (id 0) by llama3-bpe's
        int bos = name.equals("spm-bpe-json") ? 1 : name.equals("llama3-bpe") ? 0 : -1;
        check(out, model, cases, bos);
        if (name.equals("llama3-bpe"))
            try (GgufFile g = GgufFile.open(out)) {
                assertEquals(new GgufValue.Str("llama-bpe"), g.metadata().get("tokenizer.ggml.pre"));
            }
    }

    /**
     * tokenizer_config.json's add_eos_token reaches the GGUF and our reader appends EOS as HuggingFace's Llama
     * tokenizers do with it set (expected: the fixture's ids, then &lt;/s&gt;, id 2); add_bos_token false drops BOS.
     */
    @Test
    void addEosAndAddBosFlagsTravel() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("eos"));
        try (var files = Files.list(fixture("spm-bpe-json"))) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                 "add_bos_token": false, "add_eos_token": true}""");
        Path out = tmp.resolve("eos.gguf");
        GgufConvert.convert(dir, null, GgmlType.F32, out);
        Tokenizer ours;
        try (GgufFile g = GgufFile.open(out)) {
            assertEquals(new GgufValue.Bool(true), g.metadata().get("tokenizer.ggml.add_eos_token"));
            assertEquals(new GgufValue.Bool(false), g.metadata().get("tokenizer.ggml.add_bos_token"));
            ours = GgufVocab.tokenizer(g);
        }
        for (Case c : cases(Files.readString(dir.resolve("ids.tsv")), -1)) {
            int[] want = IntStream.concat(Arrays.stream(c.ids(), 1, c.ids().length), IntStream.of(2))
                    .toArray();
            assertArrayEquals(want, ours.encode(c.text()), c.text());
        }
    }

    /** A byte-level split the GGUF readers do not know is refused naming the key, not tokenized as GPT-2's. */
    @Test
    void unknownPreTokenizerIsRefused() throws Exception {
        Path out = tmp.resolve("bpe.gguf");
        GgufConvert.convert(fixture("bytelevel-bpe"), null, GgmlType.F32, out);
        Map<String, GgufValue> kv;
        try (GgufFile g = GgufFile.open(out)) {
            kv = new java.util.HashMap<>(g.metadata());
        }
        assertEquals(new GgufValue.Str("gpt-2"), kv.get("tokenizer.ggml.pre"));
        kv.put("tokenizer.ggml.pre", new GgufValue.Str("falcon"));
        var e = assertThrows(
                dev.panthera.models.tokenizer.TokenizerFormatException.class, () -> GgufVocab.tokenizer(kv));
        assertEquals("tokenizer.ggml.pre", e.field());
    }

    /**
     * A GPT-2 folder converts to arch gpt2 (Conv1D weights transposed, the head written out) and gives transformers'
     * logits over the tokenized second text within 2e-3, the bound Gpt2HuggingFaceTest and
     * {@link HuggingFaceReferenceTest#TOL} derive for F32 arithmetic in another summation order on 2-layer, 32-wide
     * models (the same sizes here), on the same weight values.
     */
    @Test
    void gpt2FolderGivesTransformersLogitsAfterConversion() throws Exception {
        Path dir = fixture("gpt2-bytelevel"), out = tmp.resolve("gpt2.gguf");
        GgufConvert.convert(dir, null, GgmlType.F32, out);
        try (Weights ref = SafetensorsFile.open(dir.resolve("reference.safetensors"));
                Gpt2Model m = Gpt2Model.load(out)) {
            int[] ids = HuggingFaceReferenceTest.ints(ref.tensor("ids"));
            assertArrayEquals(
                    ids,
                    m.tokenizer()
                            .encode(cases(Files.readString(dir.resolve("ids.tsv")), -1)
                                    .get(1)
                                    .text()));
            float[] want = ref.tensor("logits").toFloatArray();
            float[] got = m.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
            assertEquals(want.length, got.length);
            double worst = 0;
            for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
            System.out.println("gpt2 via GGUF: max |logit diff| vs transformers " + worst);
            assertTrue(worst <= HuggingFaceReferenceTest.TOL, "max |logit diff| " + worst);
        }
    }

    @Test
    void llama2TokenizerModelSurvivesConversion() throws Exception {
        Path spm = TestFiles.sharedData("llama2-tokenizer.model");
        TestFiles.require(spm);
        Path dir = Files.createDirectory(tmp.resolve("llama2-vocab"));
        Files.copy(spm, dir.resolve("tokenizer.model"));
        writeTinyLlama(dir, 32000, 1, 2);
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"add_bos_token": true, "add_eos_token": false, "bos_token": "<s>", "eos_token": "</s>",
                 "unk_token": "<unk>", "pad_token": null, "legacy": false,
                 "added_tokens_decoder": {
                   "0": {"content": "<unk>", "special": true}, "1": {"content": "<s>", "special": true},
                   "2": {"content": "</s>", "special": true}}}""");
        Path out = tmp.resolve("llama2-vocab.gguf");
        GgufConvert.convert(dir, null, GgmlType.F16, out);
        String tsv;
        try (var in = HfConvertVocabTest.class.getResourceAsStream("/sentencepiece/llama2-ids.tsv")) {
            tsv = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        check(out, "llama", cases(tsv, 1), 1);
        // the folder itself, loaded without converting, takes its tokenizer from tokenizer.model
        try (LlamaModel m = LlamaModel.load(dir)) {
            for (Case c : cases(tsv, 1))
                assertArrayEquals(c.ids(), m.tokenizer().encode(c.text()), c.text());
        }
        try (GgufFile g = GgufFile.open(out)) {
            List<GgufValue> scores = ((GgufValue.Array) g.metadata().get("tokenizer.ggml.scores")).values();
            // the SentencePiece scores themselves, e.g. "▁t" (id 260) scores -1 in Llama 2's tokenizer.model
            assertEquals(-1f, ((GgufValue.F32) scores.get(260)).value());
            assertEquals(32000, scores.size());
        }
    }

    /** A text and the ids HuggingFace (or sentencepiece, with {@code bos} prepended when ≥ 0) gives for it. */
    record Case(String text, int[] ids) {}

    static List<Case> cases(String tsv, int bos) {
        JsonFactory json = new JsonFactory();
        return tsv.lines()
                .map(l -> {
                    int tab = l.lastIndexOf('\t');
                    String text;
                    try (var p = json.createParser(l.substring(0, tab))) {
                        p.nextToken();
                        text = p.getText();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    String ids = l.substring(tab + 1);
                    IntStream s = ids.isEmpty()
                            ? IntStream.empty()
                            : Arrays.stream(ids.split(" ")).mapToInt(Integer::parseInt);
                    if (bos >= 0) s = IntStream.concat(IntStream.of(bos), s);
                    return new Case(text, s.toArray());
                })
                .toList();
    }

    /** Our GGUF reader and llama.cpp on {@code gguf} give each case's ids; {@code bos} ≥ 0 is added at the front. */
    static void check(Path gguf, String model, List<Case> cases, int bos) throws Exception {
        assertFalse(cases.isEmpty());
        Tokenizer ours;
        try (GgufFile g = GgufFile.open(gguf)) {
            assertEquals(new GgufValue.Str(model), g.metadata().get("tokenizer.ggml.model"));
            ours = GgufVocab.tokenizer(g);
        }
        List<String> wrong = new ArrayList<>();
        for (Case c : cases) {
            int[] got = ours.encode(c.text());
            if (!Arrays.equals(c.ids(), got))
                wrong.add("ours " + quote(c.text()) + ": " + Arrays.toString(got) + " != " + Arrays.toString(c.ids()));
            String back = ours.decode(c.ids(), true);
            if (!c.text().equals(back)) wrong.add("ours decode " + quote(c.text()) + " gave " + quote(back));
        }
        try (var ll = new de.kherud.llama.LlamaModel(new ModelParameters()
                .setModel(gguf.toString())
                .setCtxSize(64)
                .setThreads(1)
                .skipWarmup())) {
            for (Case c : cases) {
                // de.kherud's encode adds no BOS
                int[] want = bos >= 0 ? Arrays.copyOfRange(c.ids(), 1, c.ids().length) : c.ids();
                if (bos >= 0) assertEquals(bos, c.ids()[0], "the oracle adds BOS");
                int[] got = ll.encode(c.text());
                if (!Arrays.equals(want, got))
                    wrong.add("llama.cpp " + quote(c.text()) + ": " + Arrays.toString(got) + " != "
                            + Arrays.toString(want));
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(cp -> b.append(cp < 0x20 ? String.format("\\x%02x", cp) : Character.toString(cp)));
        return b.append('"').toString();
    }

    /** A random one-layer LlamaForCausalLM folder (config.json, model.safetensors) with tied embeddings. */
    static void writeTinyLlama(Path dir, int vocab, int bos, int eos) throws IOException {
        int dim = 16, hidden = 32, heads = 2, kv = 1, hd = dim / heads;
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": %d,
                 "intermediate_size": %d, "num_hidden_layers": 1, "num_attention_heads": %d,
                 "num_key_value_heads": %d, "vocab_size": %d, "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
                 "rope_theta": 10000.0, "tie_word_embeddings": true, "bos_token_id": %d, "eos_token_id": %d}""".formatted(dim, hidden, heads, kv, vocab, bos, eos));
        Random r = new Random(11);
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {vocab, dim});
        shapes.put("model.norm.weight", new long[] {dim});
        String p = "model.layers.0.";
        shapes.put(p + "input_layernorm.weight", new long[] {dim});
        shapes.put(p + "post_attention_layernorm.weight", new long[] {dim});
        shapes.put(p + "self_attn.q_proj.weight", new long[] {dim, dim});
        shapes.put(p + "self_attn.k_proj.weight", new long[] {kv * hd, dim});
        shapes.put(p + "self_attn.v_proj.weight", new long[] {kv * hd, dim});
        shapes.put(p + "self_attn.o_proj.weight", new long[] {dim, dim});
        shapes.put(p + "mlp.gate_proj.weight", new long[] {hidden, dim});
        shapes.put(p + "mlp.up_proj.weight", new long[] {hidden, dim});
        shapes.put(p + "mlp.down_proj.weight", new long[] {dim, hidden});
        for (var e : shapes.entrySet()) {
            long n = Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
            float[] v = new float[Math.toIntExact(n)];
            boolean norm = e.getKey().endsWith("norm.weight");
            for (int i = 0; i < v.length; i++) v[i] = norm ? 1 : (float) (0.1 * r.nextGaussian());
            items.add(SafetensorsWriter.Item.of(e.getKey(), Tensor.of(v, e.getValue())));
        }
        SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of(), items);
    }
}
