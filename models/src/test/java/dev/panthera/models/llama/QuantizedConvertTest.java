package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.GptqCheckpoint;
import dev.panthera.models.io.GwqCheckpoint;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.qlora.QLoraCheckpoint;
import dev.panthera.quant.gptq.GptqConfig;
import dev.panthera.tensor.Autograd;
import dev.panthera.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convert --type nf4|gptq|gwq} on the llama-gqa fixture: each written folder loads back through
 * {@link QuantizedCheckpoint} (its layers kept packed) and gives the logits of the same quantization done in memory.
 */
class QuantizedConvertTest {
    @TempDir
    Path tmp;

    static final Path MODEL = HuggingFaceReferenceTest.fixture("llama-gqa");

    static float[] logits(LlamaModel m, int[] ids) {
        try (var ng = Autograd.noGrad()) {
            return m.forward(Tensor.of(ids, 1, ids.length)).toFloatArray();
        }
    }

    static int[] calibration(int vocab) {
        int[][] s = LlamaQuantizerTest.seqs(2, 24, vocab, 21);
        int[] flat = new int[48];
        System.arraycopy(s[0], 0, flat, 0, 24);
        System.arraycopy(s[1], 0, flat, 24, 24);
        return flat;
    }

    /**
     * The weights of both sides are the same float32 numbers (scale·(q − zero) of a float16 scale and an integer below
     * 2⁵ is exact in float32); only the order of the float32 sums differs (blocked GEMM vs the GPTQ kernel's lanes).
     * Each dot of K ≤ 64 terms then differs by at most 2·64·2⁻²⁴·Σ|terms| ≈ 8e-6 relative; through two layers and
     * the head with logits of magnitude below 10, 1e-4 absolute holds with room and is far below a wrong group or a
     * wrong zero point (which move logits by more than 1e-2).
     */
    static final double SUM_ORDER_TOL = 1e-4;

    static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length);
        double worst = 0;
        for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
        assertTrue(worst <= SUM_ORDER_TOL, what + ": logits differ by " + worst);
    }

    @Test
    void nf4FolderRunsAsTheInMemoryNf4Model() throws Exception {
        Path out = tmp.resolve("nf4");
        QuantizedConvert.convert(MODEL, out, QuantizedConvert.Options.of(QuantizedConvert.Kind.NF4));
        int[] ids = {1, 5, 9, 33, 70, 2, 14};
        try (LlamaModel mem = LlamaModel.load(MODEL, null, LlamaQuantizers.nf4());
                LlamaModel file = QuantizedCheckpoint.load(out)) {
            // same packed bytes, same kernel: bit for bit
            assertArrayEquals(logits(mem, ids), logits(file, ids));
        }
        // and the folder is a transformers bitsandbytes 4-bit checkpoint as the QLoRA reader takes it
        assertNotNull(QLoraCheckpoint.loadBase(out));
    }

    @Test
    void gptqFolderRunsAsTheInMemoryGptqModel() throws Exception {
        Path out = tmp.resolve("gptq");
        try (LlamaModel base = LlamaModel.load(MODEL)) {
            int[] cal = calibration(base.config().vocab());
            var o = new QuantizedConvert.Options(QuantizedConvert.Kind.GPTQ, 4, 32, true, 0.01, cal, 24);
            QuantizedConvert.convert(MODEL, out, o);
            var layers = LlamaQuantizer.quantize(
                    base,
                    QuantizedConvert.sequences(cal, 24, base.config().maxSeq()),
                    LlamaQuantizer.Method.GPTQ,
                    GptqConfig.of(4, 32, true, true),
                    0);
            Map<String, float[]> deq = new HashMap<>();
            layers.forEach((k, v) -> deq.put(k, v.dequantize()));
            // the file holds exactly the in-memory layers
            var qc = GptqCheckpoint.readConfig(out.resolve("config.json"));
            assertEquals(new GptqCheckpoint.QuantConfig(4, 32, true, true), qc);
            try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
                var back = GptqCheckpoint.read(f, qc);
                assertEquals(layers.size(), back.size());
                layers.forEach((k, v) -> assertArrayEquals(
                        v.dense().q(),
                        back.get(k.substring(0, k.length() - 7)).weight().q(),
                        k));
            }
            int[] ids = {1, 5, 9, 33, 70, 2, 14, 40};
            try (LlamaModel mem = LlamaQuantizer.withWeights(base, deq);
                    LlamaModel file = QuantizedCheckpoint.load(out)) {
                assertClose(logits(mem, ids), logits(file, ids), "GPTQ");
            }
        }
    }

    @Test
    void gwqFolderRunsAsTheInMemoryGwqModel() throws Exception {
        Path out = tmp.resolve("gwq");
        try (LlamaModel base = LlamaModel.load(MODEL)) {
            int[] cal = calibration(base.config().vocab());
            var o = new QuantizedConvert.Options(QuantizedConvert.Kind.GWQ, 4, 32, false, 0.05, cal, 24);
            QuantizedConvert.convert(MODEL, out, o);
            var layers = LlamaQuantizer.quantize(
                    base,
                    QuantizedConvert.sequences(cal, 24, base.config().maxSeq()),
                    LlamaQuantizer.Method.GWQ,
                    GptqConfig.of(4, 32, true, false),
                    0.05);
            Map<String, float[]> deq = new HashMap<>();
            layers.forEach((k, v) -> deq.put(k, v.dequantize()));
            var c = GwqCheckpoint.readConfig(out.resolve("config.json"));
            assertEquals(0.05, c.outlierFraction());
            try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
                var back = GwqCheckpoint.read(f, c);
                layers.forEach((k, v) -> {
                    var w = back.get(k.substring(0, k.length() - 7)).weight();
                    assertArrayEquals(v.withOutliers().outlierIndex(), w.outlierIndex(), k);
                    assertArrayEquals(v.withOutliers().outlierValue(), w.outlierValue(), k);
                    assertTrue(w.outlierIndex().length > 0, k);
                });
            }
            int[] ids = {1, 5, 9, 33, 70, 2, 14, 40};
            try (LlamaModel mem = LlamaQuantizer.withWeights(base, deq);
                    LlamaModel file = QuantizedCheckpoint.load(out)) {
                assertClose(logits(mem, ids), logits(file, ids), "GWQ");
            }
        }
    }

    @Test
    void defaultCalibrationIsSampledFromTheModel() throws Exception {
        try (LlamaModel base = LlamaModel.load(MODEL)) {
            int[][] a = QuantizedConvert.selfGenerated(base);
            assertEquals(QuantizedConvert.DEFAULT_SEQUENCES, a.length);
            assertEquals(Math.min(QuantizedConvert.DEFAULT_LENGTH, base.config().maxSeq()), a[0].length);
            assertFalse(java.util.Arrays.equals(a[0], a[1])); // a seed per sequence
        }
        Path out = tmp.resolve("gptq-default");
        QuantizedConvert.convert(MODEL, out, QuantizedConvert.Options.of(QuantizedConvert.Kind.GPTQ));
        try (LlamaModel file = QuantizedCheckpoint.load(out)) {
            assertEquals(8 * 96, logits(file, new int[] {1, 2, 3, 4, 5, 6, 7, 8}).length);
        }
    }

    @Test
    void badInputIsNamed() throws Exception {
        var nf4 = QuantizedConvert.Options.of(QuantizedConvert.Kind.NF4);
        Path notAModel = Files.writeString(tmp.resolve("m.txt"), "x");
        var e = assertThrows(
                IllegalArgumentException.class, () -> QuantizedConvert.convert(notAModel, tmp.resolve("o"), nf4));
        assertTrue(e.getMessage().contains("is not a model"), e.getMessage());
        Path noConfig = Files.createDirectories(tmp.resolve("empty-folder"));
        e = assertThrows(
                IllegalArgumentException.class, () -> QuantizedConvert.convert(noConfig, tmp.resolve("o"), nf4));
        assertTrue(e.getMessage().contains("is not a HuggingFace folder"), e.getMessage());
        Path full = Files.createDirectories(tmp.resolve("full"));
        Files.writeString(full.resolve("x"), "x");
        e = assertThrows(IllegalArgumentException.class, () -> QuantizedConvert.convert(MODEL, full, nf4));
        assertTrue(e.getMessage().contains("not empty"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizedConvert.convert(
                        MODEL,
                        tmp.resolve("g"),
                        new QuantizedConvert.Options(QuantizedConvert.Kind.GPTQ, 4, 48, false, 0, null, 128)));
        assertTrue(e.getMessage().contains("group size"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizedConvert.convert(
                        MODEL,
                        tmp.resolve("h"),
                        new QuantizedConvert.Options(
                                QuantizedConvert.Kind.GPTQ, 4, 32, false, 0, new int[] {1, 2, 500, 3}, 128)));
        assertTrue(e.getMessage().contains("calibration token 500"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new QuantizedConvert.Options(QuantizedConvert.Kind.GPTQ, 4, 32, false, 0, new int[] {1}, 128));
        assertTrue(e.getMessage().contains("holds 1 token"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> QuantizedConvert.convert(
                        MODEL,
                        tmp.resolve("w"),
                        new QuantizedConvert.Options(
                                QuantizedConvert.Kind.GWQ, 4, 32, false, 1.5, new int[] {1, 2}, 128)));
        assertTrue(e.getMessage().contains("outlier fraction"), e.getMessage());
    }
}
