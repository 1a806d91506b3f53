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
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
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

    /** The folder of the jqwik property (jqwik does not fill JUnit's {@code @TempDir}). */
    private static Path fuzzDir;

    @BeforeContainer
    static void makeFuzzDir() throws Exception {
        fuzzDir = Files.createTempDirectory("sharded-fuzz");
        shards(fuzzDir);
    }

    @AfterContainer
    static void removeFuzzDir() throws Exception {
        try (var files = Files.list(fuzzDir)) {
            for (Path p : files.toList()) Files.delete(p);
        }
        Files.delete(fuzzDir);
    }

    void shards() throws Exception {
        shards(dir);
    }

    static void shards(Path dir) throws Exception {
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
        return check(dir, index, what);
    }

    static boolean check(Path dir, byte[] index, String what) throws Exception {
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

    /**
     * Half the mutations are {@link ByteEdit} lists, half one byte set to a printable character (often still JSON, so
     * the index's own checks are reached); both shrink (fewer edits, earlier positions, simpler values).
     */
    @Provide
    Arbitrary<List<ByteEdit>> mutations() {
        Arbitrary<List<ByteEdit>> printable = Combinators.combine(
                        Arbitraries.integers()
                                .between(0, ByteEdit.POSITIONS - 1)
                                .withDistribution(RandomDistribution.uniform()),
                        Arbitraries.integers().between(' ', '~'))
                .as((at, c) -> List.of(new ByteEdit.SetByte(at, c)));
        return Arbitraries.oneOf(ByteEdit.edits(), printable);
    }

    @Property(tries = 300)
    void mutatedIndexesLoadOrThrowTheFormatError(@ForAll("mutations") List<ByteEdit> edits) throws Exception {
        byte[] index = ByteEdit.apply(INDEX.getBytes(StandardCharsets.UTF_8), edits);
        boolean accepted = check(fuzzDir, index, "edits " + edits);
        Statistics.label("outcome").collect(accepted ? "accepted" : "rejected");
        Statistics.label("outcome").coverage(c -> {
            c.check("accepted").count((Integer n) -> {
                assertTrue(n > 0, "no mutated index was accepted");
            });
            c.check("rejected").count((Integer n) -> {
                assertTrue(n > 0, "no mutated index was rejected");
            });
        });
    }

    @Test
    void truncatedAndHostileIndexesAreRejected() throws Exception {
        shards();
        byte[] seed = INDEX.getBytes(StandardCharsets.UTF_8);
        assertTrue(check(seed, "seed"));
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
