package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.GptqCheckpoint;
import dev.panthera.models.io.Llama2cCheckpoint;
import dev.panthera.models.io.Llama2cToGguf;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.tokenizer.TestFiles;
import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.quant.gptq.GptqConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convert --type nf4|gptq|gwq} from a llama2.c checkpoint (stories260K) and from GGUF files written here from
 * it. Two independent checks: the float HuggingFace folder the input is first written as ({@link HfStaging}: q/k rows
 * back in half-split order) gives the logits the input itself gives when loaded directly (adjacent-pair RoPE over the
 * stored rows, a separate code path); and each written folder gives exactly the logits of the same quantization done
 * in memory on that float model, as {@link QuantizedConvertTest} checks for a HuggingFace input.
 */
class QuantizedConvertFromFilesTest {
    @TempDir
    Path tmp;

    static final int[] IDS = {1, 403, 261, 379, 263, 400, 302, 316, 259, 449, 275, 300, 263, 32, 2, 68, 511, 1};

    static Path stories() {
        Path bin = TestFiles.sharedData("stories260K.bin");
        TestFiles.require(bin);
        return bin;
    }

    /**
     * The staged folder and the input run the same weights; they differ only in float32 summation order (q/k output
     * rows permuted, the RoPE pairs and the q·k dot over the head taken in another order). The bound is that of
     * {@link LlamaCppLogitsCase} for a wholly independent F32 implementation, 2·((4L + 2)·K + L·P·r)·u relative to the
     * row's largest |logit| (L = 5 layers, K = 172 the longest dot, P = 17 the last position, r = d/2 = 4 products
     * per RoPE angle, u = 2⁻²⁴), which covers any reordering of these sums; a row in the wrong place moves logits by
     * far more (order 1).
     */
    static void assertSameModel(float[] want, float[] got, int vocab, String what) {
        assertEquals(want.length, got.length, what);
        double rel = 2.0 * ((4 * 5 + 2) * 172 + 5 * 17 * 4) * 0x1p-24;
        for (int r = 0; r < want.length / vocab; r++) {
            double max = 0, worst = 0;
            for (int i = r * vocab; i < (r + 1) * vocab; i++) {
                max = Math.max(max, Math.abs(want[i]));
                worst = Math.max(worst, Math.abs(want[i] - got[i]));
            }
            assertTrue(worst <= rel * max, what + ": row " + r + " differs by " + worst + " > " + rel * max);
        }
    }

    Path gguf(GgmlType type) throws Exception {
        Path out = tmp.resolve("stories260K-" + type + ".gguf");
        if (type == GgmlType.F32 || type == GgmlType.F16) {
            try (Llama2cCheckpoint c = Llama2cCheckpoint.open(stories())) {
                Llama2cToGguf.convert(c, type, out);
            }
        } else {
            GgufConvert.convert(stories(), null, type, out);
        }
        return out;
    }

    @Test
    void stagedFolderIsTheSameModelAsTheLlama2cFileAndItsGgufs() throws Exception {
        Path bin = stories();
        float[] want;
        int vocab;
        try (LlamaModel m = LlamaModel.load(bin)) {
            want = QuantizedConvertTest.logits(m, IDS);
            vocab = m.config().vocab();
        }
        Path staged = tmp.resolve("from-bin");
        HfStaging.write(bin, null, false, "test", staged);
        try (LlamaModel m = LlamaModel.load(staged)) {
            assertFalse(m.config().interleavedRope());
            assertEquals("LlamaForCausalLM", m.config().architecture());
            assertSameModel(want, QuantizedConvertTest.logits(m, IDS), vocab, "llama2.c");
        }
        for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.F16}) {
            Path g = gguf(t), s = tmp.resolve("from-" + t);
            HfStaging.write(g, null, false, "test", s);
            try (LlamaModel fromGguf = LlamaModel.load(g);
                    LlamaModel fromFolder = LlamaModel.load(s)) {
                assertSameModel(
                        QuantizedConvertTest.logits(fromGguf, IDS),
                        QuantizedConvertTest.logits(fromFolder, IDS),
                        vocab,
                        "GGUF " + t);
                // the GGUF's SentencePiece vocabulary came along as tokenizer.model
                assertNotNull(fromFolder.tokenizer(), t.toString());
                String text = "Once upon a time there was a cat.";
                assertArrayEquals(
                        fromGguf.tokenizer().encode(text),
                        fromFolder.tokenizer().encode(text));
            }
        }
    }

    @Test
    void nf4FromLlama2cRunsAsTheInMemoryNf4Model() throws Exception {
        Path bin = stories(), out = tmp.resolve("nf4"), staged = tmp.resolve("staged");
        String note =
                QuantizedConvert.convert(bin, null, false, out, QuantizedConvert.Options.of(QuantizedConvert.Kind.NF4));
        assertTrue(note.contains("no tokenizer"), note);
        HfStaging.write(bin, null, false, "test", staged);
        try (LlamaModel mem = LlamaModel.load(staged, null, LlamaQuantizers.nf4());
                LlamaModel file = QuantizedCheckpoint.load(out)) {
            // the same NF4 codes and absmax; the two runs may sum in another order (172-wide rows straddle the
            // 64-blocks, which the in-memory and the packed kernels walk differently): the reordering bound
            assertSameModel(
                    QuantizedConvertTest.logits(mem, IDS),
                    QuantizedConvertTest.logits(file, IDS),
                    mem.config().vocab(),
                    "NF4");
        }
        try (var s = Files.list(tmp)) { // the temporary float folder is gone
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".convert-")));
        }
    }

    /**
     * GPTQ (act-order) and GWQ from a llama-arch F32 GGUF of the llama-gqa fixture (written here by {@link GgufConvert},
     * q/k rows permuted to adjacent pairs): the file holds the in-memory layers and runs as them. stories260K cannot
     * take these layouts at 4 bits (see {@link #gptqRefusesStories260KWidthsNamingTheLayer}).
     */
    @Test
    void gptqAndGwqFromAGgufRunAsTheInMemoryModels() throws Exception {
        Path in = tmp.resolve("llama-gqa.gguf");
        GgufConvert.convert(QuantizedConvertTest.MODEL, null, GgmlType.F32, in);
        for (var kind : new QuantizedConvert.Kind[] {QuantizedConvert.Kind.GPTQ, QuantizedConvert.Kind.GWQ}) {
            boolean gptq = kind == QuantizedConvert.Kind.GPTQ;
            Path out = tmp.resolve(kind.name()), staged = tmp.resolve("staged-" + kind);
            int[] cal = QuantizedConvertTest.calibration(96);
            var o = new QuantizedConvert.Options(kind, 4, 32, gptq, 0.05, cal, 24);
            QuantizedConvert.convert(in, null, false, out, o);
            HfStaging.write(in, null, false, "test", staged);
            try (LlamaModel base = LlamaModel.load(staged);
                    LlamaModel direct = LlamaModel.load(in)) {
                int[] ids = {1, 5, 9, 33, 70, 2, 14, 40};
                // the staged float folder is the GGUF's model (same bound argument as assertSameModel; 2 layers)
                QuantizedConvertTest.assertClose(
                        QuantizedConvertTest.logits(direct, ids), QuantizedConvertTest.logits(base, ids), "staged");
                var layers = LlamaQuantizer.quantize(
                        base,
                        QuantizedConvert.sequences(cal, 24, base.config().maxSeq()),
                        gptq ? LlamaQuantizer.Method.GPTQ : LlamaQuantizer.Method.GWQ,
                        GptqConfig.of(4, 32, true, gptq),
                        gptq ? 0 : 0.05);
                Map<String, float[]> deq = new HashMap<>();
                layers.forEach((k, v) -> deq.put(k, v.dequantize()));
                if (gptq) {
                    var qc = GptqCheckpoint.readConfig(out.resolve("config.json"));
                    try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
                        var back = GptqCheckpoint.read(f, qc);
                        assertEquals(layers.size(), back.size());
                        layers.forEach((k, v) -> assertArrayEquals(
                                v.dense().q(),
                                back.get(k.substring(0, k.length() - 7))
                                        .weight()
                                        .q(),
                                k));
                    }
                }
                try (LlamaModel mem = LlamaQuantizer.withWeights(base, deq);
                        LlamaModel file = QuantizedCheckpoint.load(out)) {
                    QuantizedConvertTest.assertClose(
                            QuantizedConvertTest.logits(mem, ids), QuantizedConvertTest.logits(file, ids), kind.name());
                }
            }
        }
    }

    /** transformers' GPTQ packing needs features·bits to fill int32 words; stories260K's FFN width 172 does not. */
    @Test
    void gptqRefusesStories260KWidthsNamingTheLayer() throws Exception {
        var o = new QuantizedConvert.Options(QuantizedConvert.Kind.GPTQ, 4, -1, false, 0, null, 32);
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizedConvert.convert(stories(), null, false, tmp.resolve("g"), o));
        assertTrue(e.getMessage().contains("mlp.gate_proj has 172 output features"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("g")));
    }

    @Test
    void quantizedGgufIsRefusedUnlessRequantizingIsAsked() throws Exception {
        Path q8 = gguf(GgmlType.Q8_0);
        var gptq = new QuantizedConvert.Options(QuantizedConvert.Kind.GPTQ, 4, 32, false, 0, null, 32);
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizedConvert.convert(q8, null, false, tmp.resolve("refused"), gptq));
        assertTrue(e.getMessage().contains("is Q8_0") && e.getMessage().contains("--allow-requantize"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("refused")));
        // allowed: the folder holds the Q8_0 weights dequantized (exactly what the GGUF reader gives)
        Path staged = tmp.resolve("requant");
        HfStaging.write(q8, null, true, "test", staged);
        try (LlamaModel g = LlamaModel.load(q8, null, QuantizedWeights.DEQUANTIZE);
                LlamaModel f = LlamaModel.load(staged)) {
            assertSameModel(
                    QuantizedConvertTest.logits(g, IDS),
                    QuantizedConvertTest.logits(f, IDS),
                    g.config().vocab(),
                    "Q8_0 dequantized");
        }
    }

    /**
     * Llama 2's tokenizer.bin written as a tokenizer.model tokenizes as Llama 2's own tokenizer.model (the independent
     * oracle, from Meta's release): same vocabulary, same ids for text with spaces, digits, unicode and byte fallback.
     */
    @Test
    void llama2cTokenizerBinBecomesTheSentencePieceModel() throws Exception {
        Path bin = TestFiles.sharedData("llama2-tokenizer.bin"), real = TestFiles.sharedData("llama2-tokenizer.model");
        TestFiles.require(bin);
        TestFiles.require(real);
        Path out = tmp.resolve("tokenizer.model");
        HfStaging.llama2cTokenizerModel(bin, 32000, out);
        var want = dev.panthera.models.tokenizer.Tokenizer.fromSentencePieceModel(real);
        var got = dev.panthera.models.tokenizer.Tokenizer.fromSentencePieceModel(out);
        assertEquals(want.vocabSize(), got.vocabSize());
        for (String text : new String[] {
            "Once upon a time, there was a little girl named Lily.",
            "  two  spaces\tand a tab\n",
            "3.14159 × 2 = 6.28318; naïve café 日本語 🦙",
            "<s> is text here, not a control token"
        }) assertArrayEquals(want.encode(text), got.encode(text), text);
    }

    @Test
    void badInputIsNamed() throws Exception {
        var nf4 = QuantizedConvert.Options.of(QuantizedConvert.Kind.NF4);
        Path f32 = gguf(GgmlType.F32);
        var e = assertThrows(
                IllegalArgumentException.class, () -> QuantizedConvert.convert(f32, f32, false, tmp.resolve("a"), nf4));
        assertTrue(e.getMessage().contains("--tokenizer applies to a llama2.c input"), e.getMessage());
        Path big = TestFiles.sharedData("llama2-tokenizer.bin");
        TestFiles.require(big);
        e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizedConvert.convert(stories(), big, false, tmp.resolve("b"), nf4));
        assertTrue(e.getMessage().contains("32000 tokens") && e.getMessage().contains("512"), e.getMessage());
        Path txt = Files.writeString(tmp.resolve("m.txt"), "x");
        e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizedConvert.convert(txt, null, false, tmp.resolve("c"), nf4));
        assertTrue(e.getMessage().contains("is not a model"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizedConvert.convert(QuantizedConvertTest.MODEL, big, false, tmp.resolve("d"), nf4));
        assertTrue(e.getMessage().contains("carries its own tokenizer"), e.getMessage());
    }
}
