package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.quant.gptq.GptqWeight;
import dev.panthera.quant.gptq.GwqWeight;
import dev.panthera.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The GWQ folder layout: written, read back equal; a damaged file is refused naming the tensor or field. */
class GwqCheckpointTest {
    @TempDir
    Path tmp;

    static final GwqCheckpoint.Config CONFIG =
            new GwqCheckpoint.Config(new GptqCheckpoint.QuantConfig(4, 32, true, true), 0.01, 0.01);

    static GwqWeight random(String name, int out, int in, int outliers, Random r) {
        int groups = GptqWeight.groups(in, 32);
        byte[] q = new byte[out * in];
        for (int i = 0; i < q.length; i++) q[i] = (byte) r.nextInt(16);
        float[] s = new float[groups * out];
        int[] z = new int[groups * out];
        for (int i = 0; i < s.length; i++) {
            s[i] = Float.float16ToFloat(Float.floatToFloat16((float) r.nextDouble() * 0.1f));
            z[i] = 1 + r.nextInt(16);
        }
        int[] g = new int[in];
        for (int k = 0; k < in; k++) g[k] = r.nextInt(groups);
        int[] idx = r.ints(0, out * in).distinct().limit(outliers).sorted().toArray();
        float[] v = new float[idx.length];
        for (int i = 0; i < v.length; i++) v[i] = Float.float16ToFloat(Float.floatToFloat16((float) r.nextGaussian()));
        return new GwqWeight(new GptqWeight(name, out, in, 4, 32, true, q, s, z, g), idx, v);
    }

    Path write(Map<String, GwqCheckpoint.Layer> layers) throws Exception {
        Path f = tmp.resolve("model.safetensors");
        GwqCheckpoint.write(f, CONFIG, layers, List.of());
        return f;
    }

    @Test
    void roundTrip() throws Exception {
        Random r = new Random(3);
        Map<String, GwqCheckpoint.Layer> layers = new LinkedHashMap<>();
        layers.put("a.q_proj", new GwqCheckpoint.Layer(random("a.q_proj", 16, 64, 9, r), null));
        layers.put(
                "a.o_proj",
                new GwqCheckpoint.Layer(random("a.o_proj", 8, 96, 0, r), new float[] {1, 2, 3, 4, 5, 6, 7, 8}));
        Path f = write(layers);
        Path cfg = Files.writeString(tmp.resolve("config.json"), "{\"quantization_config\": " + CONFIG.json() + "}");
        assertEquals(CONFIG, GwqCheckpoint.readConfig(cfg));
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertEquals("gwq", s.metadata().get("quant_method"));
            var back = GwqCheckpoint.read(s, CONFIG);
            assertEquals(layers.keySet(), back.keySet());
            for (var e : layers.entrySet()) {
                GwqWeight a = e.getValue().weight(), b = back.get(e.getKey()).weight();
                assertEquals(a.dense(), b.dense(), e.getKey()); // names, shapes, q, scales, zeros, g_idx
                assertArrayEquals(a.dense().q(), b.dense().q());
                assertArrayEquals(a.dense().zeros(), b.dense().zeros());
                assertArrayEquals(a.dense().gIdx(), b.dense().gIdx());
                assertArrayEquals(a.outlierIndex(), b.outlierIndex());
                assertArrayEquals(a.outlierValue(), b.outlierValue());
                assertArrayEquals(a.dequantize(), b.dequantize());
            }
            assertArrayEquals(
                    new float[] {1, 2, 3, 4, 5, 6, 7, 8}, back.get("a.o_proj").bias());
        }
    }

    /** A file with the dense tensors of one layer and the given outlier tensors. */
    Path damaged(List<SafetensorsWriter.Item> outlierItems) throws Exception {
        GwqWeight w = random("l", 8, 32, 0, new Random(5));
        List<SafetensorsWriter.Item> items =
                new ArrayList<>(GptqCheckpoint.items("l", new GptqCheckpoint.Linear(w.dense(), null), CONFIG.dense()));
        items.addAll(outlierItems);
        Path f = tmp.resolve("bad-" + System.nanoTime() + ".safetensors");
        SafetensorsWriter.write(f, Map.of("format", "pt"), items);
        return f;
    }

    static SafetensorsWriter.Item idx(int... v) {
        return new SafetensorsWriter.Item("l.outlier_idx", DType.I32, new long[] {v.length}, GptqCheckpoint.seg(v));
    }

    static SafetensorsWriter.Item val(float... v) {
        return new SafetensorsWriter.Item("l.outlier_val", DType.F16, new long[] {v.length}, GptqCheckpoint.halfSeg(v));
    }

    void assertRefused(Path f, String field, String why) throws Exception {
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            var e = assertThrows(ModelFormatException.class, () -> GwqCheckpoint.read(s, CONFIG));
            assertTrue(e.getMessage().contains(field) && e.getMessage().contains(why), e.getMessage());
        }
    }

    @Test
    void damagedFilesAreRefusedByName() throws Exception {
        assertRefused(damaged(List.of(idx(1, 2))), "l.outlier_val", "absent");
        assertRefused(damaged(List.of(idx(1, 2), val(1))), "l.outlier_val", "1 values for 2 positions");
        assertRefused(damaged(List.of(idx(3, 2), val(1, 2))), "l.outlier_idx", "ascending");
        assertRefused(damaged(List.of(idx(1, 256), val(1, 2))), "l.outlier_idx", "outside [0, 256)");
        assertRefused(damaged(List.of(idx(1), val(Float.POSITIVE_INFINITY))), "l.outlier_val", "value [0] is Infinity");
        var f32 = new SafetensorsWriter.Item(
                "l.outlier_val", DType.F32, new long[] {1}, MemorySegment.ofArray(new float[] {1}));
        assertRefused(damaged(List.of(idx(1), f32)), "l.outlier_val", "F16 [n] expected");
    }

    @Test
    void configFieldsAreChecked() throws Exception {
        Path c = tmp.resolve("config.json");
        Files.writeString(c, "{\"quantization_config\": {\"quant_method\": \"gptq\", \"bits\": 4}}");
        var e = assertThrows(ModelFormatException.class, () -> GwqCheckpoint.readConfig(c));
        assertTrue(e.getMessage().contains("quant_method"), e.getMessage());
        Files.writeString(
                c,
                CONFIG.json()
                        .replace("\"format_version\" : 1", "\"format_version\" : 2")
                        .transform(j -> "{\"quantization_config\": " + j + "}"));
        e = assertThrows(ModelFormatException.class, () -> GwqCheckpoint.readConfig(c));
        assertTrue(e.getMessage().contains("format_version"), e.getMessage());
        Files.writeString(
                c,
                CONFIG.json()
                        .replace("\"outlier_fraction\" : 0.01", "\"outlier_fraction\" : 2.0")
                        .transform(j -> "{\"quantization_config\": " + j + "}"));
        e = assertThrows(ModelFormatException.class, () -> GwqCheckpoint.readConfig(c));
        assertTrue(e.getMessage().contains("outlier_fraction"), e.getMessage());
    }
}
