package dev.panthera.models.bert;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.models.io.OnnxWeights;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The config of an ONNX BERT export read from a hand-written graph: sizes from initializer shapes, the head count
 * from the Constant (value_float) dividing the attention scores before Softmax, the LayerNorm epsilon from the
 * Constant (a nameless scalar TensorProto) added to the variance; and a missing tensor named in the error.
 */
class OnnxBertConfigTest {
    @TempDir
    Path dir;

    static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7FL) != 0) {
            o.write((int) (v & 0x7F) | 0x80);
            v >>>= 7;
        }
        o.write((int) v);
    }

    static void bytes(ByteArrayOutputStream o, int field, byte[] b) {
        varint(o, (long) field << 3 | 2);
        varint(o, b.length);
        o.writeBytes(b);
    }

    static void str(ByteArrayOutputStream o, int field, String s) {
        bytes(o, field, s.getBytes(StandardCharsets.UTF_8));
    }

    /** A float TensorProto of {@code dims}, zeros, with an optional name. */
    static byte[] tensor(String name, float[] values, long... dims) {
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        for (long d : dims) {
            varint(t, 1 << 3);
            varint(t, d);
        }
        varint(t, 2 << 3);
        varint(t, 1); // FLOAT
        if (name != null) str(t, 8, name);
        ByteBuffer raw = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) raw.putFloat(v);
        bytes(t, 9, raw.array());
        return t.toByteArray();
    }

    static byte[] zeros(String name, long... dims) {
        long n = 1;
        for (long d : dims) n *= d;
        return tensor(name, new float[(int) n], dims);
    }

    static byte[] node(String op, String name, String[] in, String out, byte[] attribute) {
        ByteArrayOutputStream n = new ByteArrayOutputStream();
        for (String i : in) str(n, 1, i);
        str(n, 2, out);
        str(n, 3, name);
        str(n, 4, op);
        if (attribute != null) bytes(n, 5, attribute);
        return n.toByteArray();
    }

    static byte[] floatAttr(String name, float v) {
        ByteArrayOutputStream a = new ByteArrayOutputStream();
        str(a, 1, name);
        varint(a, 2 << 3 | 5);
        a.writeBytes(ByteBuffer.allocate(4)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(v)
                .array());
        return a.toByteArray();
    }

    static byte[] tensorAttr(String name, byte[] tensor) {
        ByteArrayOutputStream a = new ByteArrayOutputStream();
        str(a, 1, name);
        bytes(a, 5, tensor);
        return a.toByteArray();
    }

    Path write(boolean withPositions) throws Exception {
        ByteArrayOutputStream g = new ByteArrayOutputStream();
        bytes(g, 1, node("Sub", "/embeddings/LayerNorm/Sub", new String[] {"x", "mean"}, "xc", null));
        bytes(
                g,
                1,
                node(
                        "Constant",
                        "/embeddings/LayerNorm/Constant_1",
                        new String[0],
                        "eps",
                        tensorAttr("value", tensor(null, new float[] {1e-5f})))); // a nameless scalar value
        bytes(g, 1, node("Add", "/embeddings/LayerNorm/Add", new String[] {"var", "eps"}, "var_eps", null));
        bytes(g, 1, node("Sqrt", "/embeddings/LayerNorm/Sqrt", new String[] {"var_eps"}, "std", null));
        bytes(g, 1, node("Div", "/embeddings/LayerNorm/Div", new String[] {"xc", "std"}, "xn", null));
        bytes(
                g,
                1,
                node(
                        "Mul",
                        "/embeddings/LayerNorm/Mul",
                        new String[] {"xn", "embeddings.LayerNorm.weight"},
                        "y",
                        null));
        bytes(g, 1, node("MatMul", "/encoder/layer.0/attention/self/MatMul", new String[] {"q", "k"}, "s", null));
        bytes(
                g,
                1,
                node(
                        "Constant",
                        "/encoder/layer.0/attention/self/Constant",
                        new String[0],
                        "scale",
                        floatAttr("value_float", 2f))); // sqrt(head size 4)
        bytes(g, 1, node("Div", "/encoder/layer.0/attention/self/Div", new String[] {"s", "scale"}, "d", null));
        bytes(g, 1, node("Add", "/encoder/layer.0/attention/self/Add", new String[] {"d", "mask"}, "a", null));
        bytes(g, 1, node("Softmax", "/encoder/layer.0/attention/self/Softmax", new String[] {"a"}, "p", null));
        bytes(
                g,
                1,
                node("Erf", "/encoder/layer.0/intermediate/intermediate_act_fn/Erf", new String[] {"h"}, "e", null));
        bytes(g, 5, zeros("embeddings.word_embeddings.weight", 10, 8));
        if (withPositions) bytes(g, 5, zeros("embeddings.position_embeddings.weight", 16, 8));
        bytes(g, 5, zeros("embeddings.token_type_embeddings.weight", 2, 8));
        bytes(g, 5, zeros("embeddings.LayerNorm.weight", 8));
        bytes(g, 5, zeros("encoder.layer.0.attention.self.query.weight", 8, 8));
        bytes(g, 5, zeros("encoder.layer.0.intermediate.dense.weight", 24, 8));
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        bytes(m, 7, g.toByteArray());
        Path p = dir.resolve(withPositions ? "tiny.onnx" : "no-positions.onnx");
        Files.write(p, m.toByteArray());
        return p;
    }

    @Test
    void configComesFromShapesAndGraphConstants() throws Exception {
        try (OnnxWeights w = OnnxWeights.open(write(true))) {
            assertEquals(2.0, w.constant("scale").item(), "value_float constant");
            assertNull(w.constant("no-such-value"));
            BertConfig c = OnnxBertConfig.read(w);
            assertEquals(new BertConfig(10, 8, 1, 2, 24, 16, 2, 1e-5f, "gelu"), c);
        }
    }

    @Test
    void aMissingTensorIsNamed() throws Exception {
        Path p = write(false);
        var e = assertThrows(IllegalArgumentException.class, () -> BertModel.load(p));
        assertTrue(e.getMessage().contains("embeddings.position_embeddings.weight"), e.getMessage());
    }
}
