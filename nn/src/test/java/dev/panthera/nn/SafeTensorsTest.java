package dev.panthera.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.nn.io.SafeTensors;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import net.jqwik.api.*;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class SafeTensorsTest {

    /** A file written by hand from the format description: header length, JSON, data. */
    static byte[] handMade(String json, byte[] data) {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    @Test
    void readsAHandWrittenFile() throws IOException {
        ByteBuffer d = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        d.putFloat(1).putFloat(-2).putFloat(3.5f).putFloat(4).putDouble(0.25);
        String json =
                "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                        + "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[16,24]}}";
        var c = SafeTensors.parse(handMade(json, d.array()), "hand");
        assertEquals(Map.of("format", "pt"), c.metadata());
        assertArrayEquals(new float[] {1, -2, 3.5f, 4}, c.tensors().get("w").toFloatArray());
        assertEquals(Shape.of(2, 2), c.tensors().get("w").shape());
        assertEquals(DType.F64, c.tensors().get("s").dtype());
        assertEquals(0.25, c.tensors().get("s").item());
    }

    /**
     * Written by the reference implementation (Python safetensors 0.8.0, numpy 2.4.6):
     * {@code save_file({"w": np.arange(6, dtype=np.float32).reshape(2,3)/3, "d": np.array([1.25, -3.5]),
     * "h": np.array([0.1, 2.0], dtype=np.float16)}, "p.safetensors", metadata={"format": "pt"})}, then base64.
     * (The other direction was checked by hand: that package's {@code safe_open} reads files written by
     * {@link SafeTensors#write} with the same keys, dtypes, shapes, values and metadata.)
     */
    static final String REFERENCE_FILE =
            "yAAAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJwdCJ9LCJkIjp7ImR0eXBlIjoiRjY0Iiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbMCwxNl19LCJ3Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyLDNdLCJkYXRhX29mZnNldHMiOlsxNiw0MF19LCJoIjp7ImR0eXBlIjoiRjE2Iiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbNDAsNDRdfX0gIAAAAAAAAPQ/AAAAAAAADMAAAAAAq6qqPquqKj8AAIA/q6qqP1VV1T9mLgBA";

    @Test
    void readsAFileWrittenByTheReferenceImplementation() throws IOException {
        var c = SafeTensors.parse(java.util.Base64.getDecoder().decode(REFERENCE_FILE), "python-safetensors");
        assertEquals(Map.of("format", "pt"), c.metadata());
        assertEquals(Shape.of(2, 3), c.tensors().get("w").shape());
        assertArrayEquals(
                new float[] {0, 1 / 3f, 2 / 3f, 1, 4 / 3f, 5 / 3f},
                c.tensors().get("w").toFloatArray());
        assertArrayEquals(new double[] {1.25, -3.5}, c.tensors().get("d").toDoubleArray());
        assertEquals(DType.F16, c.tensors().get("h").dtype());
        assertArrayEquals(
                new float[] {(float) Float.float16ToFloat(Float.floatToFloat16(0.1f)), 2f},
                c.tensors().get("h").toFloatArray());
    }

    @Test
    void roundTripsDtypesAndViews() throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("a", Tensor.randn(Shape.of(3, 5), 1).t()); // non-contiguous view
        m.put("b", Tensor.randn(Shape.of(7), 2).to(DType.BF16));
        m.put("c", Tensor.randn(Shape.of(2, 1, 3), 3).to(DType.F16));
        m.put("e", Tensor.zeros(0, 4));
        Path f = Files.createTempFile("st", ".safetensors");
        try {
            SafeTensors.write(f, m, Map.of("k", "v"));
            byte[] bytes = Files.readAllBytes(f);
            long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, (8 + n) % 8, "data starts 8-byte aligned");
            var back = SafeTensors.read(f);
            assertEquals(m.keySet(), back.tensors().keySet());
            for (String k : m.keySet()) {
                assertEquals(m.get(k).shape(), back.tensors().get(k).shape(), k);
                assertEquals(m.get(k).dtype(), back.tensors().get(k).dtype(), k);
                assertArrayEquals(m.get(k).toFloatArray(), back.tensors().get(k).toFloatArray(), k);
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void rejectsInconsistentHeaders() {
        byte[] data = new byte[16];
        String[] bad = {
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", // too few bytes for the shape
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[4,20]}}", // past the end
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", // overlap
            "{\"w\":{\"dtype\":\"I4\",\"shape\":[2],\"data_offsets\":[0,1]}}", // unknown dtype
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", // negative dimension
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4]}}", // no offsets
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}", // overflowing
            // numel
            "{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,16]}}", // numel fits, bytes
            // overflow
            "{\"w\":", // truncated JSON
        };
        for (String json : bad) {
            assertThrows(IOException.class, () -> SafeTensors.parse(handMade(json, data), "bad"), json);
        }
        byte[] lying = handMade("{}", data);
        ByteBuffer.wrap(lying).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        var e = assertThrows(IOException.class, () -> SafeTensors.parse(lying, "lying"));
        assertTrue(e.getMessage().contains("header length"), e.getMessage());
        assertThrows(IOException.class, () -> SafeTensors.parse(new byte[5], "short"));
    }

    /** Random corruption of a valid file: the reader returns or throws IOException, never anything else. */
    @Property(tries = 300)
    void survivesFuzzedInput(
            @ForAll @IntRange(min = 0, max = 400) int pos,
            @ForAll byte value,
            @ForAll @IntRange(min = 0, max = 300) int cut)
            throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("base_model.model.x.lora_A.weight", Tensor.randn(Shape.of(2, 3), 1));
        m.put("base_model.model.x.lora_B.weight", Tensor.zeros(4, 2));
        Path f = Files.createTempFile("fz", ".safetensors");
        byte[] bytes;
        try {
            SafeTensors.write(f, m, Map.of("format", "pt"));
            bytes = Files.readAllBytes(f);
        } finally {
            Files.deleteIfExists(f);
        }
        byte[] mutated = java.util.Arrays.copyOf(bytes, Math.max(0, bytes.length - cut % 40));
        if (pos < mutated.length) mutated[pos] = value;
        try {
            SafeTensors.parse(mutated, "fuzz");
        } catch (IOException expected) {
            // a clear rejection is fine
        }
    }
}
