package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutated {@code model.safetensors.index.json} files over two valid shards: {@link ShardedSafetensors#open} either
 * throws {@link ModelFormatException} naming the index or a shard, or opens a checkpoint whose every tensor reads.
 */
class ShardedFuzzTest {
    static final String INDEX = "{\"metadata\":{\"total_size\":20},\"weight_map\":"
            + "{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}";

    @TempDir
    Path dir;

    void shards() throws Exception {
        SafetensorsWriter.write(
                dir.resolve("model-00001-of-00002.safetensors"),
                Map.of(),
                List.of(new SafetensorsWriter.Item(
                        "a", DType.F32, new long[] {2}, MemorySegment.ofArray(new float[] {1, 2}))));
        SafetensorsWriter.write(
                dir.resolve("model-00002-of-00002.safetensors"),
                Map.of(),
                List.of(new SafetensorsWriter.Item(
                        "b", DType.F32, new long[] {3}, MemorySegment.ofArray(new float[] {3, 4, 5}))));
    }

    /** Opens {@code index}: true when accepted (every tensor read), false when rejected with the format error. */
    boolean check(byte[] index, String what) throws Exception {
        Path p = dir.resolve("model.safetensors.index.json");
        Files.write(p, index);
        try (ShardedSafetensors w = ShardedSafetensors.open(p)) {
            for (String n : w.names()) {
                Tensor t = w.tensor(n);
                assertEquals(t.numel(), t.toFloatArray().length);
            }
            return true;
        } catch (ModelFormatException e) {
            assertTrue(e.format().startsWith("safetensors") && !e.field().isEmpty(), e.toString());
            return false;
        } catch (Throwable t) {
            throw new AssertionError(what + ": " + t + " for index " + new String(index, StandardCharsets.UTF_8), t);
        }
    }

    @Test
    void missingShardIsAFormatErrorNamingTheEntry() throws Exception {
        shards();
        Files.writeString(dir.resolve("model.safetensors.index.json"), INDEX.replace("00002-of", "00003-of"));
        var e = assertThrows(
                ModelFormatException.class, () -> ShardedSafetensors.open(dir.resolve("model.safetensors.index.json")));
        assertTrue(e.getMessage().contains("weight_map.b"), e.getMessage());
    }

    @Test
    void mutatedIndexesLoadOrThrowTheFormatError() throws Exception {
        shards();
        byte[] seed = INDEX.getBytes(StandardCharsets.UTF_8);
        assertTrue(check(seed, "seed"));
        int accepted = 0, rejected = 0;
        for (int i = 0; i < 300; i++) {
            Random r = new Random(i);
            byte[] m = seed.clone();
            if (r.nextBoolean()) m = FormatFuzz.mutate(seed, r);
            else m[r.nextInt(m.length)] = (byte) (' ' + r.nextInt(95)); // one printable character: often still JSON
            if (check(m, "seed " + i)) accepted++;
            else rejected++;
        }
        assertTrue(accepted > 0 && rejected > 0, accepted + " accepted, " + rejected + " rejected");
        for (int n = 0; n < seed.length; n++) {
            assertFalse(check(java.util.Arrays.copyOf(seed, n), "truncated"), "the first " + n + " bytes");
        }
        for (String bad : new String[] {
            INDEX.replace("{\"a\":", "{\"a\":\"model-00001-of-00002.safetensors\",\"a\":"), // duplicated key
            INDEX.replace("\"b\":\"model-00002", "\"a\":\"model-00002"), // a tensor in the wrong shard
            INDEX.replace("model-00001-of-00002.safetensors", "x\\u0000y"),
            INDEX.replace("model-00001-of-00002.safetensors", ".."),
            INDEX.replace("model-00001-of-00002.safetensors", "sub/../model-00001-of-00002.safetensors"),
            INDEX.replace("model-00001-of-00002.safetensors", "model.safetensors.index.json"),
            INDEX.replace("model-00001-of-00002.safetensors", "x".repeat(300)),
            INDEX.replace("20}", "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}"),
        }) {
            assertFalse(check(bad.getBytes(StandardCharsets.UTF_8), bad), bad);
        }
    }
}
