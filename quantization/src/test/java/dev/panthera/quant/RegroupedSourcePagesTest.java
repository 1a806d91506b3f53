package dev.panthera.quant;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panthera.quant.ggml.GgmlType;
import dev.panthera.tensor.Tensor;
import dev.panthera.testing.ResidentPages;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A layer that multiplies a regrouped copy of its blocks ({@link QuantizedLinear#of}, {@link QuantizedLinear#stacked})
 * gives the pages of a read-only file mapping back to the system (residency read from {@code /proc/self/smaps},
 * {@link ResidentPages}), computes exactly what the same layer over the blocks in memory computes, and still decodes
 * rows from the mapping; a writable mapping keeps its pages and what was written to them. Where the layer does not
 * regroup (a setting such as {@code panthera.quant.decodeActivations=int8} keeps Q8_0 and Q4_K row-major) the mapping
 * must stay as resident as it was, since the kernel reads it.
 */
class RegroupedSourcePagesTest {
    @TempDir
    Path dir;

    private static final int OUT = 256, IN = 1024;

    private static void assumeSmaps() {
        assumeTrue(ResidentPages.available(), "no /proc/self/smaps here: a mapping's residency cannot be read");
    }

    private Path file(QuantizedWeight q, String name) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, q.blocks().toArray(ValueLayout.JAVA_BYTE));
        return p;
    }

    private static MemorySegment map(Path p, FileChannel.MapMode mode, Arena arena) throws IOException {
        // a private (copy-on-write) mapping needs a channel open for writing, though the file is never written
        try (FileChannel ch = mode == FileChannel.MapMode.PRIVATE
                ? FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(p, StandardOpenOption.READ)) {
            return ch.map(mode, 0, ch.size(), arena);
        }
    }

    /** Reads every page of {@code m} in and returns its resident kilobytes, checked to cover all its bytes. */
    private static long loaded(MemorySegment m, String what) throws IOException {
        m.load();
        long kb = ResidentPages.kilobytesAt(m.address());
        assertTrue(kb * 1024 >= m.byteSize(), what + ": " + kb + " kB resident of " + m.byteSize() + " bytes");
        return kb;
    }

    private static float[] randomRow(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    @Test
    void aRegroupedLayerGivesBackItsMappedBlocks() throws IOException {
        assumeSmaps();
        Random r = new Random(41);
        for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K}) {
            try (Arena arena = Arena.ofShared()) {
                QuantizedWeight q = QuantizedMatmulTest.randomWeight(type, OUT, IN, r, arena);
                MemorySegment m = map(file(q, type + ".bin"), FileChannel.MapMode.READ_ONLY, arena);
                long full = loaded(m, type + ": the whole mapping read in");

                QuantizedLinear layer = QuantizedLinear.of(new QuantizedWeight("w", type, OUT, IN, m), null);
                long after = ResidentPages.kilobytesAt(m.address());
                assertEquals(layer.regrouped() ? 0 : full, after, type + " regrouped: " + layer.regrouped());

                QuantizedLinear inMemory = QuantizedLinear.of(q, null);
                for (int rows : new int[] {1, 3, 9}) {
                    Tensor x = Tensor.of(randomRow(r, rows * IN), rows, IN);
                    assertArrayEquals(
                            inMemory.forward(x).toFloatArray(),
                            layer.forward(x).toFloatArray(),
                            type + ", " + rows + " rows: the same products as over blocks in memory");
                }
                for (int row : new int[] {0, 77, OUT - 1}) {
                    assertArrayEquals(inMemory.dequantizeRow(row), layer.dequantizeRow(row), type + " row " + row);
                }
            }
        }
    }

    @Test
    void aStackedLayerGivesBackEveryPartsMappedBlocks() throws IOException {
        assumeSmaps();
        Random r = new Random(42);
        try (Arena arena = Arena.ofShared()) {
            QuantizedWeight a = QuantizedMatmulTest.randomWeight(GgmlType.Q4_0, OUT, IN, r, arena);
            QuantizedWeight b = QuantizedMatmulTest.randomWeight(GgmlType.Q4_0, 64, IN, r, arena);
            MemorySegment ma = map(file(a, "a.bin"), FileChannel.MapMode.READ_ONLY, arena);
            MemorySegment mb = map(file(b, "b.bin"), FileChannel.MapMode.READ_ONLY, arena);
            long fullA = loaded(ma, "a"), fullB = loaded(mb, "b");
            QuantizedLinear stacked = QuantizedLinear.stacked(
                    List.of(
                            new QuantizedWeight("a", GgmlType.Q4_0, OUT, IN, ma),
                            new QuantizedWeight("b", GgmlType.Q4_0, 64, IN, mb)),
                    null);
            boolean regrouped = stacked != null;
            assertEquals(regrouped ? 0 : fullA, ResidentPages.kilobytesAt(ma.address()), "a");
            assertEquals(regrouped ? 0 : fullB, ResidentPages.kilobytesAt(mb.address()), "b");
            if (regrouped) {
                Tensor x = Tensor.of(randomRow(r, 2 * IN), 2, IN);
                float[] got = stacked.forward(x).toFloatArray();
                float[] ya = QuantizedLinear.of(a, null).forward(x).toFloatArray();
                float[] yb = QuantizedLinear.of(b, null).forward(x).toFloatArray();
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < OUT; j++) assertEquals(ya[i * OUT + j], got[i * (OUT + 64) + j], "a " + j);
                    for (int j = 0; j < 64; j++) assertEquals(yb[i * 64 + j], got[i * (OUT + 64) + OUT + j], "b " + j);
                }
                float[] bRows = b.dequantize();
                for (int row = 0; row < 64; row++)
                    assertArrayEquals(
                            java.util.Arrays.copyOfRange(bRows, row * IN, (row + 1) * IN),
                            stacked.dequantizeRow(OUT + row),
                            "b's row " + row + " decoded from its mapping");
            }
        }
    }

    @Test
    void aWritableMappingKeepsWhatWasWrittenToIt() throws IOException {
        assumeSmaps();
        Random r = new Random(43);
        try (Arena arena = Arena.ofShared()) {
            QuantizedWeight onDisk = QuantizedMatmulTest.randomWeight(GgmlType.Q4_0, OUT, IN, r, arena);
            QuantizedWeight written = QuantizedMatmulTest.randomWeight(GgmlType.Q4_0, OUT, IN, r, arena);
            // a private mapping written over: its pages are this process's copies, which dropping would lose
            MemorySegment m = map(file(onDisk, "private.bin"), FileChannel.MapMode.PRIVATE, arena);
            m.copyFrom(written.blocks());
            long full = loaded(m, "the written mapping");
            QuantizedLinear layer = QuantizedLinear.of(new QuantizedWeight("w", GgmlType.Q4_0, OUT, IN, m), null);
            QuantizedLinear want = QuantizedLinear.of(written, null);
            for (int row : new int[] {0, 100, OUT - 1}) {
                assertArrayEquals(want.dequantizeRow(row), layer.dequantizeRow(row), "row " + row);
            }
            assertEquals(full, ResidentPages.kilobytesAt(m.address()), "the written pages stay resident");
        }
    }
}
