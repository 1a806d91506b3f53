package dev.panthera.models.qlora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panthera.models.io.ModelFormatException;
import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.tensor.DType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** A 4-bit checkpoint with one field wrong is refused with that tensor named, never decoded into wrong numbers. */
class Bnb4SafetensorsBadInputTest {
    static final Path SOURCE = QLoraCheckpointTest.FIXTURES.resolve("nf4-dq");
    static final String Q = "model.layers.0.self_attn.q_proj.weight";

    /** The fixture with tensor {@code key} replaced by {@code edit} of it, in a fresh directory. */
    static Path variant(String name, String key, UnaryOperator<SafetensorsWriter.Item> edit) throws IOException {
        Path dir = Path.of("target/qlora-bad").resolve(name);
        Files.createDirectories(dir);
        List<SafetensorsWriter.Item> items = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(SOURCE.resolve("model.safetensors"))) {
            for (var e : f.entries()) {
                byte[] bytes = f.bytes(e.name()).toArray(ValueLayout.JAVA_BYTE);
                var item = new SafetensorsWriter.Item(e.name(), e.dtype(), e.shape(), MemorySegment.ofArray(bytes));
                if (e.name().equals(key)) item = edit.apply(item);
                if (item != null) items.add(item);
            }
        }
        SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of("format", "pt"), items);
        Files.copy(
                SOURCE.resolve("config.json"),
                dir.resolve("config.json"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return dir;
    }

    static void refused(Path dir, String field) {
        var e = assertThrows(ModelFormatException.class, () -> QLoraCheckpoint.loadBase(dir));
        assertTrue(e.getMessage().contains(field), e.getMessage());
    }

    static SafetensorsWriter.Item bytes(SafetensorsWriter.Item it, DType t, long[] shape, byte[] b) {
        return new SafetensorsWriter.Item(it.name(), t, shape, MemorySegment.ofArray(b));
    }

    @Test
    void aQuantMapThatIsNotBitsandbytesIsRefused() throws IOException {
        refused(
                variant("quant-map", Q + ".quant_map", it -> {
                    byte[] b = it.bytes().toArray(ValueLayout.JAVA_BYTE);
                    b[4 * 3] ^= 1; // the low mantissa bit of entry 3
                    return bytes(it, it.dtype(), it.shape(), b);
                }),
                Q + ".quant_map");
    }

    @Test
    void countsThatDisagreeWithTheQuantStateAreRefused() throws IOException {
        refused(
                variant("absmax", Q + ".absmax", it -> bytes(it, DType.U8, new long[] {63}, new byte[63])),
                Q + ".absmax");
        refused(variant("packed", Q, it -> bytes(it, DType.U8, new long[] {2047, 1}, new byte[2047])), Q);
        refused(
                variant("nested", Q + ".nested_absmax", it -> bytes(it, DType.F32, new long[] {2}, new byte[8])),
                Q + ".nested_absmax");
        refused(variant("missing", Q + ".nested_quant_map", it -> null), Q + ".nested_quant_map");
        refused(
                variant(
                        "dtype",
                        Q + ".absmax",
                        it -> bytes(it, DType.I8, it.shape(), it.bytes().toArray(ValueLayout.JAVA_BYTE))),
                Q + ".absmax");
    }

    @Test
    void aQuantStateThatDoesNotParseOrFitIsRefused() throws IOException {
        String key = Q + ".quant_state.bitsandbytes__nf4";
        for (String[] c : new String[][] {
            {
                "unknown-key",
                "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [64, 64], \"x\": 1}"
            },
            {"wrong-type", "{\"quant_type\": \"fp4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [64, 64]}"},
            {
                "shape",
                "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [64, 65],"
                        + " \"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": 0.1}"
            },
            {
                "half-nested",
                "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [64, 64],"
                        + " \"nested_blocksize\": 256}"
            },
            {"not-json", "{\"quant_type\": "},
        }) {
            byte[] json = c[1].getBytes(StandardCharsets.UTF_8);
            refused(variant("state-" + c[0], key, it -> bytes(it, DType.U8, new long[] {json.length}, json)), Q);
        }
    }

    @Test
    void aConfigThatDisagreesWithTheTensorsIsRefused() throws IOException {
        Path dir = variant("config", "none", it -> it);
        String cfg = Files.readString(dir.resolve("config.json"));
        Files.writeString(
                dir.resolve("config.json"),
                cfg.replace("\"bnb_4bit_quant_type\": \"nf4\"", "\"bnb_4bit_quant_type\": \"fp4\""));
        refused(dir, "disagrees with quantization_config");
        Files.writeString(dir.resolve("config.json"), cfg.replace("\"load_in_4bit\": true", "\"load_in_4bit\": false"));
        refused(dir, "quantization_config");
    }

    /** Python's repr of each value, from {@code python3 -c 'print(repr(x))'}. */
    @Test
    void offsetsAreWrittenAsPythonsRepr() {
        double[] v = {1e-05, 0.05168965086340904, 1.5e16, 123.0, -0.0001, 1e16, 9.999999747378752e-06, 0.1};
        String[] py = {
            "1e-05", "0.05168965086340904", "1.5e+16", "123.0", "-0.0001", "1e+16", "9.999999747378752e-06", "0.1"
        };
        for (int i = 0; i < v.length; i++) assertEquals(py[i], QuantStateJson.pythonRepr(v[i]), "repr of " + v[i]);
    }
}
