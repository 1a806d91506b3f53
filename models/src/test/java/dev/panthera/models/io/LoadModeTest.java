package dev.panthera.models.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.ResidentPages;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LoadMode#READ} gives the same tensors as {@link LoadMode#MAP} and is unaffected by later changes to the file;
 * a mapped file truncated while open is refused with an exception naming it instead of being read. No test here reads
 * a truncated mapping: that is what can crash the JVM (see {@link MappedTruncationRepro}).
 */
class LoadModeTest {
    @TempDir
    Path dir;

    /** The seed file of {@code f} written under a name {@link Weights#open} recognises. */
    Path write(FormatFuzz.Format f, String stem) throws IOException {
        String suffix = switch (f) {
            case SAFETENSORS -> ".safetensors";
            case GGUF -> ".gguf";
            case ONNX -> ".onnx";
            case LLAMA2C -> ".bin";
        };
        Path p = dir.resolve(stem + "-" + f.name().toLowerCase() + suffix);
        Files.write(p, FormatFuzz.seed(f));
        return p;
    }

    record Values(DType dtype, long[] shape, double[] values) {}

    static Map<String, Values> values(Weights w) {
        Map<String, Values> out = new LinkedHashMap<>();
        for (String n : w.names()) {
            Tensor t = w.tensor(n);
            out.put(n, new Values(t.dtype(), t.shape().toArray(), t.toDoubleArray()));
        }
        return out;
    }

    static void assertSame(Map<String, Values> want, Map<String, Values> got, String what) {
        assertEquals(List.copyOf(want.keySet()), List.copyOf(got.keySet()), what);
        for (String n : want.keySet()) {
            Values a = want.get(n), b = got.get(n);
            assertEquals(a.dtype(), b.dtype(), what + " " + n);
            assertArrayEquals(a.shape(), b.shape(), what + " " + n);
            assertArrayEquals(a.values(), b.values(), what + " " + n);
        }
    }

    static void truncate(Path p, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    @Test
    void readAndHeapModesGiveTheTensorsOfMapMode() throws Exception {
        for (LoadMode mode : new LoadMode[] {LoadMode.READ, LoadMode.HEAP}) {
            for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
                Path p = write(f, "model");
                try (Weights mapped = Weights.open(p, LoadMode.MAP);
                        Weights other = Weights.open(p, mode)) {
                    assertTrue(!mapped.names().isEmpty(), f.toString());
                    assertSame(values(mapped), values(other), mode + " " + f);
                }
            }
        }
    }

    @Test
    void heapF32TensorsOutliveTheFileAndTheirReaderOthersDoNot() throws Exception {
        int f32 = 0, other = 0;
        for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
            Path original = write(f, "original");
            Path victim = write(f, "victim");
            Map<String, Values> want;
            try (Weights w = Weights.open(original, LoadMode.READ)) {
                want = values(w);
            }
            Map<String, Tensor> kept = new LinkedHashMap<>();
            try (Weights heap = Weights.open(victim, LoadMode.HEAP)) {
                for (String n : heap.names()) kept.put(n, heap.tensor(n));
                truncate(victim, 0);
            }
            for (var e : kept.entrySet()) {
                Tensor t = e.getValue();
                if (t.dtype() == DType.F32) {
                    f32++;
                    assertTrue(t.isReadOnly(), f + " " + e.getKey() + " is read-only, as a mapping is");
                    Values v = new Values(t.dtype(), t.shape().toArray(), t.toDoubleArray());
                    assertSame(Map.of(e.getKey(), want.get(e.getKey())), Map.of(e.getKey(), v), f.toString());
                } else {
                    other++; // held as MAP holds it: gone with its reader
                    assertThrows(IllegalStateException.class, t::toDoubleArray, f + " " + e.getKey());
                }
            }
        }
        assertTrue(f32 > 0 && other > 0, "the seed files hold F32 tensors and others: " + f32 + ", " + other);
    }

    /**
     * A heap reader's F32 copy is what its tensor reads, so the mapped pages it was copied from go back to the system
     * ({@link MemorySegment#unload}): the process then holds one copy of the weights, not two. Residency is the
     * mapping's Rss in /proc/self/smaps ({@link ResidentPages}); the same file read in MAP mode stays resident.
     */
    @Test
    void heapModeGivesBackTheMappedPagesItCopied() throws Exception {
        assumeTrue(ResidentPages.available(), "no /proc/self/smaps here: a mapping's residency cannot be read");
        int rows = 256, cols = 1024; // 1 MiB of F32
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(i);
        Path p = dir.resolve("one-tensor.safetensors");
        SafetensorsWriter.write(
                p,
                Map.of(),
                List.of(new SafetensorsWriter.Item("w", DType.F32, new long[] {rows, cols}, MemorySegment.ofArray(v))));
        long tensorKb = 4L * v.length / 1024;
        try (Weights mapped = Weights.open(p, LoadMode.MAP)) {
            assertArrayEquals(v, mapped.tensor("w").toFloatArray());
            long kb = ResidentPages.kilobytesOf(p);
            assertTrue(kb >= tensorKb, "a mapped tensor that was read stays resident: " + kb + " kB");
        }
        try (Weights heap = Weights.open(p, LoadMode.HEAP)) {
            Tensor t = heap.tensor("w");
            assertTrue(t.storage().segment().heapBase().isPresent(), "the tensor is on the heap");
            long kb = ResidentPages.kilobytesOf(p);
            // what stays is the header's page or two, whatever the page size: far less than the tensor
            assertTrue(4 * kb < tensorKb, "at most the header's pages stay mapped in: " + kb + " kB of " + tensorKb);
            assertArrayEquals(v, t.toFloatArray());
        }
    }

    /**
     * A quantized GGUF tensor asked for as a tensor is dequantized to an F32 copy, which is what the tensor reads: the
     * mapped blocks' pages go back to the system as with a heap copy (read from /proc/self/smaps), and the blocks can
     * still be read ({@link GgufFile#rawBlocks}), faulted back in from the file.
     */
    @Test
    void aDequantizedGgufTensorGivesBackItsBlocksPages() throws Exception {
        assumeTrue(ResidentPages.available(), "no /proc/self/smaps here: a mapping's residency cannot be read");
        int rows = 512, cols = 2048; // Q8_0: 1.06 MiB of blocks
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.cos(0.37 * i);
        Path p = dir.resolve("one-tensor.gguf");
        new GgufWriter().tensor("w", GgmlType.Q8_0, new long[] {rows, cols}, v).write(p);
        long blocksKb = GgmlType.Q8_0.bytesFor((long) rows * cols) / 1024;
        try (GgufFile g = GgufFile.open(p)) {
            MemorySegment raw = g.rawBlocks("w");
            raw.load();
            byte[] blocks = raw.toArray(ValueLayout.JAVA_BYTE);
            assertTrue(ResidentPages.kilobytesOf(p) >= blocksKb, "the blocks read in");
            float[] want = g.dequantize("w");
            Tensor t = g.tensor("w");
            long kb = ResidentPages.kilobytesOf(p);
            assertTrue(4 * kb < blocksKb, "at most the header's pages stay mapped in: " + kb + " kB of " + blocksKb);
            assertArrayEquals(want, t.toFloatArray());
            assertArrayEquals(blocks, g.rawBlocks("w").toArray(ValueLayout.JAVA_BYTE), "the blocks read again");
        }
    }

    @Test
    void heapTensorsAreHeldInLongArrays() throws Exception {
        // the decode kernels take array loads only from long[]-backed rows (dev.panthera.simd.HeapRows)
        MemorySegment s = Mapped.onHeap(13);
        assertInstanceOf(long[].class, s.heapBase().orElseThrow());
        assertEquals(13, s.byteSize());
        assertEquals(2, ((long[]) s.heapBase().orElseThrow()).length);
        assertEquals(0, s.address());
        assertEquals(null, Mapped.onHeap(8L * Integer.MAX_VALUE), "more than one array holds");
    }

    @Test
    void aFileTruncatedAfterOpeningInReadModeStillReads() throws Exception {
        for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
            Path original = write(f, "original");
            Path victim = write(f, "victim");
            try (Weights want = Weights.open(original, LoadMode.READ);
                    Weights read = Weights.open(victim, LoadMode.READ)) {
                truncate(victim, 0);
                assertSame(values(want), values(read), f.toString());
            }
        }
    }

    @Test
    void aMappedFileTruncatedAfterOpeningIsRefusedNamingTheFile() throws Exception {
        for (FormatFuzz.Format f : FormatFuzz.Format.values()) {
            Path p = write(f, "model");
            long size = Files.size(p);
            try (Weights w = Weights.open(p, LoadMode.MAP)) {
                String first = w.names().get(0);
                w.tensor(first); // readable while the file is whole, and then cached
                truncate(p, size / 2);
                for (String n : w.names()) {
                    IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.tensor(n), f + " " + n);
                    assertTrue(
                            e.getMessage().contains(p.toString())
                                    && e.getMessage().contains("truncated from " + size + " to " + size / 2)
                                    && e.getMessage().contains("'" + n + "'")
                                    && e.getMessage().contains("LoadMode.READ"),
                            e.getMessage());
                }
            }
        }
    }

    @Test
    void aMappedFileReplacedUnderItsNameStillReads() throws Exception {
        // the mapping keeps the replaced file's pages, so a new, shorter file under the same name is no truncation
        Path p = write(FormatFuzz.Format.SAFETENSORS, "model");
        Path smaller = dir.resolve("smaller");
        Files.write(smaller, new byte[1]);
        try (Weights w = Weights.open(p, LoadMode.MAP)) {
            Map<String, Values> before = values(w);
            Files.move(smaller, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            assertSame(before, values(w), "replaced");
        }
    }

    @Test
    void shardedCheckpointsPassTheModeToEveryShard() throws Exception {
        Path a = dir.resolve("model-00001-of-00002.safetensors");
        Path b = dir.resolve("model-00002-of-00002.safetensors");
        SafetensorsWriter.write(
                a,
                Map.of(),
                List.of(new SafetensorsWriter.Item(
                        "a", DType.F32, new long[] {2}, MemorySegment.ofArray(new float[] {1, 2}))));
        SafetensorsWriter.write(
                b,
                Map.of(),
                List.of(new SafetensorsWriter.Item(
                        "b", DType.F32, new long[] {3}, MemorySegment.ofArray(new float[] {3, 4, 5}))));
        Files.writeString(dir.resolve("model.safetensors.index.json"), ShardedFuzzTest.INDEX);
        try (Weights read = Weights.open(dir, LoadMode.READ);
                Weights mapped = Weights.open(dir, LoadMode.MAP)) {
            truncate(b, 0);
            assertArrayEquals(new float[] {1, 2}, read.tensor("a").toFloatArray());
            assertArrayEquals(new float[] {3, 4, 5}, read.tensor("b").toFloatArray());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> mapped.tensor("b"));
            assertTrue(e.getMessage().contains(b.toString()), e.getMessage());
        }
    }

    @Test
    void aFaultInAReadersOwnCopyIsAnExceptionNamingTheFile() {
        // HotSpot reports a faulting read of a mapped page outside C2 vector code as this InternalError
        Mapped.Origin origin = new Mapped.Origin("gguf file /models/m.gguf", null, null, 64, false);
        InternalError fault = new InternalError("a fault occurred in an unsafe memory access operation");
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> origin.read("blk.0.attn_q.weight", () -> {
                    throw fault;
                }));
        assertTrue(
                e.getMessage().contains("gguf file /models/m.gguf")
                        && e.getMessage().contains("'blk.0.attn_q.weight'")
                        && e.getMessage().contains("LoadMode.READ"),
                e.getMessage());
        assertInstanceOf(InternalError.class, e.getCause());
    }
}
