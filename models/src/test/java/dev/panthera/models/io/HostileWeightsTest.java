package dev.panthera.models.io;

import static dev.panthera.models.io.FormatFuzz.len;
import static dev.panthera.models.io.FormatFuzz.num;
import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hand-made hostile weight files, each a case a reader once mishandled: the reader must throw the format error. */
class HostileWeightsTest {
    @TempDir
    Path dir;

    static final long HUGE = 1L << 62;

    /** A MatMul node {@code name} reading {@code x} and {@code weight}. */
    static byte[] matMul(String name, String weight) {
        ByteArrayOutputStream node = new ByteArrayOutputStream();
        len(node, 1, "x".getBytes(StandardCharsets.UTF_8));
        len(node, 1, weight.getBytes(StandardCharsets.UTF_8));
        len(node, 2, "y".getBytes(StandardCharsets.UTF_8));
        len(node, 3, name.getBytes(StandardCharsets.UTF_8));
        len(node, 4, "MatMul".getBytes(StandardCharsets.UTF_8));
        return node.toByteArray();
    }

    /** A float32 initializer [2] with raw_data. */
    static byte[] floats2(String name) {
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        num(t, 1, 2);
        num(t, 2, 1);
        len(t, 8, name.getBytes(StandardCharsets.UTF_8));
        len(t, 9, new byte[8]);
        return t.toByteArray();
    }

    /** A ModelProto whose graph holds {@code nodes} then {@code inits}. */
    static byte[] graph(byte[][] nodes, byte[]... inits) {
        ByteArrayOutputStream g = new ByteArrayOutputStream();
        for (byte[] n : nodes) len(g, 1, n);
        for (byte[] t : inits) len(g, 5, t);
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        num(m, 1, 7);
        len(m, 7, g.toByteArray());
        return m.toByteArray();
    }

    @Test
    void onnxNodeNamedOnlyMatMulKeepsTheOnnxName() throws Exception {
        for (String name : new String[] {"/MatMul", "//MatMul"}) {
            try (OnnxWeights w = OnnxWireTest.parse(
                    graph(new byte[][] {matMul(name, "onnx::MatMul_1")}, floats2("onnx::MatMul_1")))) {
                assertEquals(java.util.List.of("onnx::MatMul_1"), w.names(), name);
            }
        }
    }

    @Test
    void shardNameWithNulIsAFormatError() throws Exception {
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"weight_map\":{\"a\":\"x\\u0000y.safetensors\"}}");
        var e = assertThrows(ModelFormatException.class, () -> ShardedSafetensors.open(index));
        assertTrue(e.getMessage().contains("weight_map.a"), e.getMessage());
    }
}
