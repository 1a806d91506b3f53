package dev.panthera.models.qlora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.nn.layers.CausalLm;
import dev.panthera.nn.lora.LoraConfig;
import dev.panthera.quant.qlora.Linear4bit;
import dev.panthera.quant.qlora.QLora;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * QLoRA checkpoints in transformers' bitsandbytes 4-bit layout, from two sources: an independent implementation of the
 * layout ({@code nf4-dq}, {@code fp4}: {@code src/test/python/qlora_fixtures.py write src/test/resources/qlora}) and
 * bitsandbytes with transformers themselves ({@code bnb-nf4-dq}, {@code bnb-fp4}: {@code bnb_fixtures.py write},
 * quantized by bitsandbytes' {@code quantize_4bit} on load and saved by {@code save_pretrained}). Each decodes here to
 * the source's floats bit for bit (for bnb-*, bitsandbytes' own {@code dequantize_4bit}), gives its logits (for
 * bnb-*, bitsandbytes' Linear4bit forward; peft for the adapter), and what we write back has the same tensors byte
 * for byte; {@code qlora_fixtures.py check} and {@code bnb_fixtures.py check target/qlora-written} load our files in
 * Python.
 */
class QLoraCheckpointTest {
    static final Path FIXTURES = Path.of("src/test/resources/qlora");
    static final Path WRITTEN = Path.of("target/qlora-written");

    static Map<String, Tensor> expected(String variant) throws IOException {
        Map<String, Tensor> out = new HashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURES.resolve(variant).resolve("expected.safetensors"))) {
            for (String k : f.names()) {
                Tensor t = f.tensor(k);
                out.put(
                        k,
                        k.equals("ids") ? Tensor.of(t.toLongArray(), t.dims()) : Tensor.of(t.toFloatArray(), t.dims()));
            }
        }
        return out;
    }

    /**
     * The logits of two float32 implementations of the same model over the same weights differ only in summation
     * order: the tolerance is the one the peft fixture tests use for this model family, 2e-5 + 1e-5·|x|, since
     * logits of a 2-layer model of width 64 are sums of at most a few hundred products of O(1) terms each.
     */
    static void close(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++)
            assertEquals(expected[i], actual[i], 2e-5 + 1e-5 * Math.abs(expected[i]), what + " element " + i);
    }

    @ParameterizedTest
    @ValueSource(strings = {"nf4-dq", "fp4", "bnb-nf4-dq", "bnb-fp4"})
    void aCheckpointFromPythonDecodesExactlyAndGivesItsLogits(String variant) throws IOException {
        Path dir = FIXTURES.resolve(variant);
        Map<String, Tensor> want = expected(variant);
        CausalLm m = QLoraCheckpoint.loadBase(dir);
        Map<String, Linear4bit> q = QLora.fourBitLayers(m);
        assertEquals(14, q.size(), "q, k, v, o, gate, up, down in two layers");
        for (String name : List.of("model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj"))
            assertArrayEquals(
                    want.get(name + ".dequantized").toFloatArray(),
                    q.get(name).weight().dequantize(),
                    variant + " " + name + " decodes to the script's floats");
        Tensor ids = want.get("ids");
        close(want.get("base").toFloatArray(), m.forward(ids).toFloatArray(), variant + " base logits");

        LoraConfig c = QLoraCheckpoint.loadAdapter(dir.resolve("adapter"), m, "default", false);
        float[] adapted = m.forward(ids).toFloatArray();
        assertFalse(java.util.Arrays.equals(want.get("base").toFloatArray(), adapted), "the adapter moves logits");
        close(want.get("adapter").toFloatArray(), adapted, variant + " adapter logits vs peft");

        // write base and adapter back; every tensor must equal the fixture's byte for byte
        Path out = WRITTEN.resolve(variant);
        BnbConfigJson.Config cfg = BnbConfigJson.read(dir.resolve("config.json"));
        QLoraCheckpoint.saveBase(out, m, cfg.quantization());
        QLoraCheckpoint.saveAdapter(out.resolve("adapter"), m, "default", c);
        try (SafetensorsFile a = SafetensorsFile.open(dir.resolve("model.safetensors"));
                SafetensorsFile b = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertEquals(new java.util.TreeSet<>(a.names()), new java.util.TreeSet<>(b.names()), "same tensor names");
            for (String k : a.names()) {
                assertEquals(a.entry(k).dtype(), b.entry(k).dtype(), k);
                assertArrayEquals(a.shape(k), b.shape(k), k);
                byte[] x = a.bytes(k).toArray(ValueLayout.JAVA_BYTE),
                        y = b.bytes(k).toArray(ValueLayout.JAVA_BYTE);
                assertArrayEquals(x, y, k); // the quant-state JSON too: json.dumps' separators and float repr
            }
        }
        CausalLm again = QLoraCheckpoint.loadBase(out);
        QLoraCheckpoint.loadAdapter(out.resolve("adapter"), again, "default", false);
        // the reloaded model holds the same bytes; its logits are compared with the same float32 tolerance, as the
        // simd backend's vector reductions may associate differently before and after the JIT compiles them
        close(adapted, again.forward(ids).toFloatArray(), variant + " reloaded");
        List<SafetensorsWriter.Item> ours = new ArrayList<>();
        ours.add(SafetensorsWriter.Item.of("ids", ids));
        ours.add(SafetensorsWriter.Item.of(
                "logits", Tensor.of(adapted, want.get("adapter").dims())));
        for (var e : QLora.fourBitLayers(again).entrySet())
            ours.add(SafetensorsWriter.Item.of(
                    e.getKey().replace(".base_layer", "") + ".dequantized",
                    e.getValue().dequantizedWeight()));
        SafetensorsWriter.write(out.resolve("panthera.safetensors"), Map.of("format", "pt"), ours);
    }
}
