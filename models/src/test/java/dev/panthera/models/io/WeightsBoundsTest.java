package dev.panthera.models.io;

import static dev.panthera.models.io.FormatFuzz.len;
import static dev.panthera.models.io.FormatFuzz.num;
import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Work and memory a reader spends are bounded by what the file holds, and repeated calls do not repeat work. */
class WeightsBoundsTest {
    @TempDir
    Path dir;

    /**
     * Heap bytes still reachable from what {@code make} returns, measured as used heap after a full collection
     * (System.gc) before and after: coarse, but the cases here differ by hundreds of MiB.
     */
    static long retained(ThrowingSupplier make) throws Exception {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        Object kept = make.get();
        System.gc();
        long after = rt.totalMemory() - rt.freeMemory();
        java.lang.ref.Reference.reachabilityFence(kept);
        return after - before;
    }

    interface ThrowingSupplier {
        Object get() throws Exception;
    }

    @Test
    void packedDimsStopAtTheDimensionLimit() {
        // 400,000 one-byte dims: appending each to a copied array before checking the limit is quadratic (minutes)
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        byte[] ones = new byte[400_000];
        java.util.Arrays.fill(ones, (byte) 1);
        len(t, 1, ones);
        num(t, 2, 1);
        len(t, 8, "many".getBytes(StandardCharsets.UTF_8));
        byte[] file = OnnxWireTest.model(t.toByteArray());
        var e = assertTimeoutPreemptively(
                Duration.ofSeconds(3), () -> assertThrows(ModelFormatException.class, () -> OnnxWireTest.parse(file)));
        assertTrue(e.getMessage().contains("more than 16 dimensions"), e.getMessage());
    }

    @Test
    void emptyOnnxNodesCostNoHeapPerNode() throws Exception {
        byte[] nodes = new byte[8 << 20]; // 4M empty NodeProto fields (tag 0x0A, length 0)
        for (int i = 0; i < nodes.length; i += 2) nodes[i] = 0x0A;
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        num(m, 1, 7);
        len(m, 7, nodes);
        byte[] file = m.toByteArray();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(file.length);
            s.copyFrom(MemorySegment.ofArray(file));
            OnnxWeights[] w = new OnnxWeights[1];
            long bytes = retained(() -> w[0] = OnnxWeights.parse(s, Arena.ofConfined()));
            try (OnnxWeights onnx = w[0]) {
                assertTrue(bytes < 32 << 20, "8 MiB of empty nodes hold " + (bytes >> 20) + " MiB of heap");
                assertEquals(4 << 20, onnx.nodes().size());
                assertEquals("", onnx.nodes().get(123).name());
            }
        }
    }

    @Test
    void llama2cLayerCountCostsNoHeapPerLayer() throws Exception {
        // dim 2, hidden 1, 1 head: 104 bytes per layer, so a 312 MB (sparse) file holds 3M layers, 27M tensors
        int layers = 3_000_000;
        long bytes = 4L * (7 + 2 + 26L * layers + 2 + 2);
        Path p = dir.resolve("deep.bin");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            ByteBuffer h = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(2).putInt(1).putInt(layers).putInt(1).putInt(1).putInt(1).putInt(1);
            f.write(h.array());
            f.setLength(bytes);
        }
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            Llama2cCheckpoint[] kept = new Llama2cCheckpoint[1];
            long heap = retained(() -> kept[0] = Llama2cCheckpoint.open(p));
            assertTrue(heap < 32 << 20, "the open checkpoint holds " + (heap >> 20) + " MiB of heap");
            try (Llama2cCheckpoint c = kept[0]) {
                assertEquals(2 + 9L * layers + 1, c.names().size());
                String last = "model.layers." + (layers - 1) + ".mlp.up_proj.weight";
                assertEquals(last, c.names().get(1 + 9 * layers - 1));
                assertArrayEquals(new long[] {1, 2}, c.shape(last));
                assertArrayEquals(new float[] {0, 0}, c.tensor(last).toFloatArray());
                assertFalse(c.contains("model.layers." + layers + ".mlp.up_proj.weight"));
                assertFalse(c.contains("model.layers.01.mlp.up_proj.weight"));
            }
        });
    }

    @Test
    void llama2cNamesAndOffsetsFollowRunCOrder() throws Exception {
        byte[] file = FormatFuzz.seed(FormatFuzz.Format.LLAMA2C); // dim 8, hidden 12, 2 layers, 2 heads, 1 kv
        try (Llama2cCheckpoint c = Llama2cCheckpoint.parse(MemorySegment.ofArray(file), Arena.ofConfined())) {
            List<String> want = new java.util.ArrayList<>(List.of("model.embed_tokens.weight"));
            for (String w : List.of(
                    "input_layernorm",
                    "self_attn.q_proj",
                    "self_attn.k_proj",
                    "self_attn.v_proj",
                    "self_attn.o_proj",
                    "post_attention_layernorm",
                    "mlp.gate_proj",
                    "mlp.down_proj",
                    "mlp.up_proj")) for (int l = 0; l < 2; l++) want.add("model.layers." + l + "." + w + ".weight");
            want.addAll(List.of("model.norm.weight", "lm_head.weight"));
            assertEquals(want, c.names());
            // floats are i * 0.01 in file order: each tensor starts where the previous ended
            long at = 0;
            for (String n : want.subList(0, want.size() - 1)) {
                float[] v = c.tensor(n).toFloatArray();
                assertEquals(at * 0.01f, v[0], 1e-4f, n);
                at += v.length;
            }
            float[] head = c.tensor("lm_head.weight").toFloatArray();
            assertEquals((at + 16) * 0.01f, head[0], 1e-4f, "classifier after the freq_cis tables");
        }
    }

    @Test
    void unalignedTensorsAreConvertedOnce() throws Exception {
        String json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"; // data at offset 61
        Path p = dir.resolve("u.safetensors");
        Files.write(p, SafetensorsTest.handMade(json, SafetensorsTest.floats(1.5f, -2f)));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            long first = f.tensor("w").storage().segment().address();
            assertNotEquals(f.bytes("w").address(), first, "an unaligned F32 is copied");
            assertEquals(first, f.tensor("w").storage().segment().address(), "and copied once");
        }
        ByteArrayOutputStream t = new ByteArrayOutputStream(); // int32_data is decoded, also once
        num(t, 1, 2);
        num(t, 2, 6);
        len(t, 5, new byte[] {3, 4});
        len(t, 8, "ints".getBytes(StandardCharsets.UTF_8));
        try (OnnxWeights w = OnnxWireTest.parse(OnnxWireTest.model(t.toByteArray()))) {
            assertEquals(
                    w.tensor("ints").storage().segment().address(),
                    w.tensor("ints").storage().segment().address());
        }
    }

    @Test
    void closeTwiceIsANoOp() throws Exception {
        for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
            byte[] file = FormatFuzz.seed(f);
            Arena a = Arena.ofConfined(); // owned by the reader, which closes it
            MemorySegment s = a.allocate(file.length);
            s.copyFrom(MemorySegment.ofArray(file));
            Weights w = switch (f) {
                case SAFETENSORS -> SafetensorsFile.parse(s, a);
                case GGUF -> GgufFile.parse(s, a);
                case ONNX -> OnnxWeights.parse(s, a);
                case LLAMA2C -> Llama2cCheckpoint.parse(s, a);
            };
            w.close();
            assertDoesNotThrow(w::close, f.toString());
            assertFalse(a.scope().isAlive());
        }
    }
}
