package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real all-MiniLM-L6-v2 ONNX weights (langchain4j jar) read by {@link OnnxWeights}, checked tensor by tensor
 * against ONNX Runtime. ORT's Java API does not list initializers, so the test appends to the model file a second
 * GraphProto fragment (protobuf merges repeated fields of a message that appears twice) holding one Identity node
 * and one graph output per initializer; ORT then parses the original file itself and returns every initializer's
 * shape and values, which must equal ours bit for bit.
 */
class OnnxWeightsTest {
    @TempDir
    Path dir;

    static Path resource(String name, Path dir) throws Exception {
        try (InputStream in = OnnxWeightsTest.class.getClassLoader().getResourceAsStream(name)) {
            Assumptions.assumeTrue(
                    in != null, "skipped: classpath resource " + name + " (langchain4j model jar) is absent");
            Path p = dir.resolve(name);
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
            return p;
        }
    }

    static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7FL) != 0) {
            o.write((int) (v & 0x7F) | 0x80);
            v >>>= 7;
        }
        o.write((int) v);
    }

    static void field(ByteArrayOutputStream o, int field, byte[] bytes) {
        varint(o, (long) field << 3 | 2);
        varint(o, bytes.length);
        o.writeBytes(bytes);
    }

    static byte[] str(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void miniLmInitializersEqualOnnxRuntime() throws Exception {
        Path model = resource("all-minilm-l6-v2.onnx", dir);
        try (OnnxWeights w = OnnxWeights.open(model)) {
            assertEquals(
                    36,
                    w.hfNames().size(),
                    "6 layers × (q, k, v, attention output, intermediate, output) MatMul weights");
            assertArrayEquals(new long[] {384, 384}, w.shape("encoder.layer.0.attention.self.query.weight"));
            assertTrue(w.isTransposed("encoder.layer.5.intermediate.dense.weight"));
            assertArrayEquals(
                    new long[] {384, 1536}, w.shape("encoder.layer.5.intermediate.dense.weight"), "stored [in, out]");
            assertArrayEquals(new long[] {30522, 384}, w.shape("embeddings.word_embeddings.weight"));
            assertTrue(w.contains("encoder.layer.3.output.LayerNorm.bias"));

            ByteArrayOutputStream graph = new ByteArrayOutputStream();
            Map<String, String> probe = new HashMap<>();
            int k = 0;
            for (var init : w.initializers().values()) {
                if (init.dataType() != 1 && init.dataType() != 7) continue;
                String out = "probe_" + k++;
                probe.put(out, init.name());
                ByteArrayOutputStream node = new ByteArrayOutputStream();
                field(node, 1, str(init.name()));
                field(node, 2, str(out));
                field(node, 3, str(out + "_node"));
                field(node, 4, str("Identity"));
                field(graph, 1, node.toByteArray());
                ByteArrayOutputStream elem = new ByteArrayOutputStream();
                varint(elem, 1 << 3);
                varint(elem, init.dataType());
                ByteArrayOutputStream type = new ByteArrayOutputStream();
                field(type, 1, elem.toByteArray());
                ByteArrayOutputStream vi = new ByteArrayOutputStream();
                field(vi, 1, str(out));
                field(vi, 2, type.toByteArray());
                field(graph, 12, vi.toByteArray());
            }
            assertEquals(w.initializers().size(), probe.size(), "every initializer is float or int64");
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            bytes.writeBytes(Files.readAllBytes(model));
            field(bytes, 7, graph.toByteArray());

            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
                opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
                opts.setIntraOpNumThreads(1);
                try (OrtSession s = env.createSession(bytes.toByteArray(), opts);
                        OnnxTensor ids = OnnxTensor.createTensor(env, new long[][] {{101, 7592, 102}});
                        OnnxTensor mask = OnnxTensor.createTensor(env, new long[][] {{1, 1, 1}});
                        OnnxTensor types = OnnxTensor.createTensor(env, new long[][] {{0, 0, 0}})) {
                    Map<String, OnnxTensor> in = new HashMap<>();
                    for (String name : s.getInputNames()) {
                        in.put(name, name.contains("mask") ? mask : name.contains("type") ? types : ids);
                    }
                    Set<String> outs = new LinkedHashSet<>(probe.keySet());
                    int compared = 0;
                    long values = 0;
                    try (OrtSession.Result r = s.run(in, outs)) {
                        for (Map.Entry<String, OnnxValue> e : r) {
                            String name = probe.get(e.getKey());
                            OnnxTensor t = (OnnxTensor) e.getValue();
                            assertArrayEquals(t.getInfo().getShape(), w.shape(name), name);
                            var ours = w.tensor(name);
                            if (w.initializers().get(name).dataType() == 1) {
                                FloatBuffer fb = t.getFloatBuffer();
                                float[] want = new float[fb.remaining()];
                                fb.get(want);
                                assertArrayEquals(want, ours.toFloatArray(), name);
                                values += want.length;
                            } else {
                                LongBuffer lb = t.getLongBuffer();
                                for (long i = 0; i < lb.remaining(); i++) {
                                    assertEquals(
                                            lb.get((int) i),
                                            ours.storage()
                                                    .segment()
                                                    .getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i),
                                            name);
                                }
                            }
                            compared++;
                        }
                    }
                    assertEquals(probe.size(), compared);
                    assertTrue(values > 22_000_000, "all ~22.7M MiniLM parameters compared, got " + values);
                }
            }
        }
    }

    @Test
    void bgeSmallLoadsThroughWeightsOpen() throws Exception {
        Path model = resource("bge-small-en-v1.5.onnx", dir);
        try (Weights w = Weights.open(model)) {
            OnnxWeights o = (OnnxWeights) w;
            assertEquals(72, o.hfNames().size(), "12 layers × 6 MatMul weights");
            for (int l = 0; l < 12; l++) {
                for (String m : new String[] {
                    "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"
                }) {
                    assertArrayEquals(new long[] {384, 384}, w.shape("encoder.layer." + l + "." + m + ".weight"), m);
                }
                assertArrayEquals(new long[] {384, 1536}, w.shape("encoder.layer." + l + ".intermediate.dense.weight"));
                assertArrayEquals(new long[] {1536, 384}, w.shape("encoder.layer." + l + ".output.dense.weight"));
                assertArrayEquals(new long[] {384}, w.shape("encoder.layer." + l + ".output.LayerNorm.weight"));
            }
            assertEquals(
                    384 * 1536, w.tensor("encoder.layer.11.output.dense.weight").numel());
            assertFalse(
                    w.names().stream().anyMatch(n -> n.startsWith("onnx::MatMul")),
                    "every MatMul weight got a HuggingFace name");
        }
    }
}
