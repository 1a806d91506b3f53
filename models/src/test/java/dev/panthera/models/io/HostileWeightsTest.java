package dev.panthera.models.io;

import static dev.panthera.models.io.FormatFuzz.len;
import static dev.panthera.models.io.FormatFuzz.num;
import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.ggml.GgmlType;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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

    @Test
    void shapesWhoseElementCountOverflowAreRejectedAtOpen() throws Exception {
        String json = "{\"t\":{\"dtype\":\"F32\",\"shape\":[0," + HUGE + "," + HUGE + "],\"data_offsets\":[0,0]}}";
        var e = SafetensorsTest.reject(SafetensorsTest.handMade(json, new byte[0]));
        assertTrue(e.getMessage().contains("t.shape"), e.getMessage());

        ByteArrayOutputStream t = new ByteArrayOutputStream();
        num(t, 1, 0);
        num(t, 1, HUGE);
        num(t, 1, HUGE);
        num(t, 2, 1);
        len(t, 8, "t".getBytes(StandardCharsets.UTF_8));
        len(t, 9, new byte[0]);
        var o = assertThrows(ModelFormatException.class, () -> OnnxWireTest.parse(OnnxWireTest.model(t.toByteArray())));
        assertTrue(o.getMessage().contains("t.dims"), o.getMessage());

        ByteArrayOutputStream g = new ByteArrayOutputStream();
        new GgufWriter()
                .rawTensor("t", GgmlType.F32, new long[] {1, 1, 1}, new byte[4])
                .write(g);
        byte[] b = g.toByteArray();
        // the writer refuses such a shape, so the three dims (ne[0..2]) are patched in place
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int at = indexOfDims(b);
        bb.putLong(at, 0).putLong(at + 8, HUGE).putLong(at + 16, HUGE);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(b.length);
            s.copyFrom(MemorySegment.ofArray(b));
            var gg = assertThrows(ModelFormatException.class, () -> GgufFile.parse(s, Arena.ofConfined()));
            assertTrue(gg.getMessage().contains("'t'"), gg.getMessage());
        }
    }

    /** Offset of ne[0] of the tensor named "t" with three dims in a GGUF image. */
    private static int indexOfDims(byte[] b) {
        for (int i = 0; i + 13 < b.length; i++) {
            if (b[i] == 1 && b[i + 1] == 0 && b[i + 8] == 't' && b[i + 9] == 3 && b[i + 10] == 0) return i + 13;
        }
        throw new AssertionError("tensor info not found");
    }

    @Test
    void int32DataOutOfRangeForItsTypeIsRejected() throws Exception {
        record Case(int dataType, long value) {}
        for (Case c : new Case[] {
            new Case(10, 70_000),
            new Case(10, -1),
            new Case(2, 300),
            new Case(3, 200),
            new Case(9, 2),
            new Case(16, 1 << 16)
        }) {
            ByteArrayOutputStream t = new ByteArrayOutputStream();
            num(t, 1, 1);
            num(t, 2, c.dataType());
            ByteArrayOutputStream v = new ByteArrayOutputStream();
            FormatFuzz.varint(v, c.value());
            len(t, 5, v.toByteArray());
            len(t, 8, "small".getBytes(StandardCharsets.UTF_8));
            var e = assertThrows(
                    ModelFormatException.class,
                    () -> OnnxWireTest.parse(OnnxWireTest.model(t.toByteArray())),
                    c.toString());
            assertTrue(e.getMessage().contains("small"), e.getMessage());
        }
        ByteArrayOutputStream ok = new ByteArrayOutputStream();
        num(ok, 1, 2);
        num(ok, 2, 10);
        len(ok, 5, new byte[] {(byte) 0x80, 0x78, (byte) 0xFF, (byte) 0xFF, 0x03}); // 15360 (1.0), 65535
        len(ok, 8, "half".getBytes(StandardCharsets.UTF_8));
        try (OnnxWeights w = OnnxWireTest.parse(OnnxWireTest.model(ok.toByteArray()))) {
            assertEquals(1.0f, w.tensor("half").toFloatArray()[0]);
        }
    }

    @Test
    void packedVarintMayNotRunPastItsField() {
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        // packed dims holding the single byte 0x80: its varint continues into the next byte, outside the field
        t.writeBytes(new byte[] {0x0A, 0x01, (byte) 0x80, 0x01});
        num(t, 2, 2);
        len(t, 8, "d".getBytes(StandardCharsets.UTF_8));
        len(t, 9, new byte[128]);
        var e = assertThrows(ModelFormatException.class, () -> OnnxWireTest.parse(OnnxWireTest.model(t.toByteArray())));
        assertTrue(e.getMessage().contains("dims"), e.getMessage());
    }

    @Test
    void renamedMatMulWeightMayNotShadowAnInitializer() {
        String hf = "encoder.layer.0.attention.self.query.weight";
        String node = "/encoder/layer.0/attention/self/query/MatMul";
        var e = assertThrows(
                ModelFormatException.class,
                () -> OnnxWireTest.parse(
                        graph(new byte[][] {matMul(node, "onnx::MatMul_1")}, floats2(hf), floats2("onnx::MatMul_1"))));
        assertTrue(e.getMessage().contains(hf) && e.getMessage().contains("onnx::MatMul_1"), e.getMessage());
        var two = assertThrows(
                ModelFormatException.class,
                () -> OnnxWireTest.parse(graph(
                        new byte[][] {matMul(node, "onnx::MatMul_1"), matMul(node, "onnx::MatMul_2")},
                        floats2("onnx::MatMul_1"),
                        floats2("onnx::MatMul_2"))));
        assertTrue(
                two.getMessage().contains("onnx::MatMul_1") && two.getMessage().contains("onnx::MatMul_2"),
                two.getMessage());
    }
}
