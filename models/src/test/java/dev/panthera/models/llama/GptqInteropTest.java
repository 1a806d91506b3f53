package dev.panthera.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panthera.models.io.GptqCheckpoint;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GPTQ checkpoints beside transformers, optimum and GPT-QModel themselves ({@code src/test/python/gptqmodel_fixtures.py}).
 * GPTQ kernels (GPT-QModel's torch kernel as AutoGPTQ's and exllama's) multiply the float16 scale by q − zero in
 * float16; we multiply in float32, where that product is exact (an 11-bit significand times an integer below 2⁸),
 * so their weight is ours rounded once to float16, and that is what is compared, bit for bit:
 *
 * <ul>
 *   <li>{@code gptqmodel-*}: a tiny Llama ({@code gptqmodel-source}) quantized by GPT-QModel through transformers'
 *       GPTQConfig and saved by {@code save_pretrained} (layout "gptq_v2"). Our reader's weights rounded to float16
 *       are GPT-QModel's {@code dequantize_weight()}; the source model with those float16-rounded weights gives
 *       its logits within {@link QuantizedConvertTest#SUM_ORDER_TOL} (only the order of float32 sums differs); the
 *       folder runs through {@link QuantizedCheckpoint} as the model with our float32 weights.
 *   <li>The other way: {@code convert --type gptq} of the same source into {@code target/gptq-written}, with our
 *       dequantized weights and the logits of the float16-rounded model in {@code panthera.safetensors};
 *       {@code gptqmodel_fixtures.py check target/gptq-written} loads the folder with transformers + GPT-QModel and
 *       compares both.
 * </ul>
 */
class GptqInteropTest {
    static final Path FIXTURES = Path.of("src/test/resources/gptq");
    static final Path SOURCE = FIXTURES.resolve("gptqmodel-source");
    static final Path WRITTEN = Path.of("target/gptq-written");

    static float[] floats(SafetensorsFile f, String name) {
        return f.bytes(name).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
    }

    static int[] ids(SafetensorsFile f) {
        long[] v = f.tensor("ids").toLongArray();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Math.toIntExact(v[i]);
        return out;
    }

    /** Logits of a batch of token rows [rows, len], each row its own sequence, one after the other. */
    static float[] logits(LlamaModel m, int[] ids, int rows) {
        int len = ids.length / rows;
        float[] out = null;
        for (int r = 0; r < rows; r++) {
            float[] one = QuantizedConvertTest.logits(m, java.util.Arrays.copyOfRange(ids, r * len, (r + 1) * len));
            if (out == null) out = new float[rows * one.length];
            System.arraycopy(one, 0, out, r * one.length, one.length);
        }
        return out;
    }

    static float half(float x) {
        return Float.float16ToFloat(Float.floatToFloat16(x));
    }

    /** The dequantized weights of every layer (HF names with ".weight"), optionally rounded to float16. */
    static Map<String, float[]> weights(Map<String, GptqCheckpoint.Linear> layers, boolean toHalf) {
        Map<String, float[]> out = new java.util.HashMap<>();
        layers.forEach((name, l) -> {
            float[] w = l.weight().dequantize();
            if (toHalf) for (int i = 0; i < w.length; i++) w[i] = half(w[i]);
            out.put(name + ".weight", w);
        });
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gptqmodel-4bit-g16-act", "gptqmodel-4bit-g32-sym"})
    void aCheckpointGptqModelSavedDequantizesExactlyAndGivesItsLogits(String variant) throws IOException {
        Path dir = FIXTURES.resolve(variant);
        GptqCheckpoint.QuantConfig qc = GptqCheckpoint.readConfig(dir.resolve("config.json"));
        assertEquals(GptqCheckpoint.V2, qc.format(), "transformers saves GPT-QModel's layout");
        try (SafetensorsFile expected = SafetensorsFile.open(dir.resolve("expected.safetensors"));
                SafetensorsFile model = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            Map<String, GptqCheckpoint.Linear> layers = GptqCheckpoint.read(model, qc);
            assertEquals(14, layers.size(), "q, k, v, o, gate, up, down in two layers");
            Map<String, float[]> halves = weights(layers, true);
            int checked = 0;
            for (String name : expected.names()) {
                if (!name.endsWith(".dequantized")) continue;
                String layer = name.substring(0, name.length() - ".dequantized".length());
                assertArrayEquals(
                        floats(expected, name),
                        halves.get(layer + ".weight"),
                        variant + " " + layer + " rounded to float16 against GPT-QModel's dequantize_weight()");
                checked++;
            }
            assertEquals(3, checked);
            int[] ids = ids(expected);
            int rows = Math.toIntExact(expected.shape("ids")[0]);
            try (LlamaModel base = LlamaModel.load(SOURCE);
                    LlamaModel theirs = LlamaQuantizer.withWeights(base, halves);
                    LlamaModel ours = LlamaQuantizer.withWeights(base, weights(layers, false));
                    LlamaModel file = QuantizedCheckpoint.load(dir)) {
                QuantizedConvertTest.assertClose(floats(expected, "logits"), logits(theirs, ids, rows), variant);
                QuantizedConvertTest.assertClose(logits(ours, ids, rows), logits(file, ids, rows), variant + " file");
            }
        }
    }

    @Test
    void convertWritesACheckpointForGptqModel() throws Exception {
        Path out = WRITTEN.resolve("panthera-4bit-g32-act");
        if (Files.exists(out)) {
            try (var s = Files.walk(out)) {
                s.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            }
        }
        int[] cal = QuantizedConvertTest.calibration(96);
        QuantizedConvert.convert(
                SOURCE, out, new QuantizedConvert.Options(QuantizedConvert.Kind.GPTQ, 4, 32, true, 0.01, cal, 24));
        int[] ids = {1, 5, 9, 33, 70, 2, 14, 40, 3, 90, 17, 60, 8, 25, 44, 71};
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        items.add(SafetensorsWriter.Item.of(
                "ids", Tensor.of(java.util.Arrays.stream(ids).asLongStream().toArray(), 2, 8)));
        GptqCheckpoint.QuantConfig qc = GptqCheckpoint.readConfig(out.resolve("config.json"));
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"));
                LlamaModel base = LlamaModel.load(SOURCE)) {
            Map<String, GptqCheckpoint.Linear> layers = GptqCheckpoint.read(f, qc);
            for (var e : layers.entrySet()) {
                var w = e.getValue().weight();
                items.add(SafetensorsWriter.Item.of(
                        e.getKey() + ".dequantized", Tensor.of(w.dequantize(), w.out(), w.in())));
            }
            try (LlamaModel m = LlamaQuantizer.withWeights(base, weights(layers, true))) {
                float[] lg = logits(m, ids, 2);
                items.add(SafetensorsWriter.Item.of("logits", Tensor.of(lg, 2, 8, lg.length / 16)));
            }
        }
        SafetensorsWriter.write(out.resolve("panthera.safetensors"), Map.of("format", "pt"), items);
    }
}
