package dev.panthera.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.ToDoubleFunction;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Minimal reproduction, run by hand and never by the test suite, of the JVM crash behind the warning on
 * {@code LoadMode.MAP}: reading a page of a memory-mapped file after another process truncated the file.
 *
 * <p>The kernel answers such a read with SIGBUS. HotSpot turns that signal into an {@link InternalError} ("a fault
 * occurred in an unsafe memory access operation") when it knows the faulting instruction to be an unsafe memory
 * access: in the interpreter, and in compiled code for plain {@code MemorySegment} reads. A Vector API load from a
 * segment ({@code FloatVector.fromMemorySegment}) compiled by C2 into a vector instruction escapes that unsafe-access
 * fault handling, and the same read kills the JVM with SIGBUS instead. The class of JDK bug: unsafe-access fault
 * handling does not cover C2's Vector API memory intrinsics. On a JDK that handles it, the last step prints an
 * InternalError like the others and the program ends normally.
 *
 * <p>Run it from the repository root (JDK 25; the crash log goes to /tmp):
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -XX:ErrorFile=/tmp/hs_err_%p.log \
 *     jmh/src/main/java/dev/panthera/bench/MappedTruncationRepro.java
 * </pre>
 */
public final class MappedTruncationRepro {
    private MappedTruncationRepro() {}

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final long BYTES = 64 << 10; // 16 pages
    private static final int WARM_UP_CALLS = 20_000;

    static double vectorSum(MemorySegment m) {
        FloatVector acc = FloatVector.zero(SPECIES);
        for (long i = 0; i + SPECIES.vectorByteSize() <= m.byteSize(); i += SPECIES.vectorByteSize()) {
            acc = acc.add(FloatVector.fromMemorySegment(SPECIES, m, i, ByteOrder.LITTLE_ENDIAN));
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    static double scalarSum(MemorySegment m) {
        float s = 0;
        for (long i = 0; i + 4 <= m.byteSize(); i += 4) s += m.get(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
        return s;
    }

    public static void main(String[] args) throws IOException {
        Path file = Files.createTempFile("panthera-mapped-truncation", ".bin");
        try (Arena arena = Arena.ofShared();
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            fill(ch);
            MemorySegment m = ch.map(FileChannel.MapMode.READ_ONLY, 0, BYTES, arena);
            System.out.println(Runtime.version() + ", " + SPECIES + ", " + BYTES + "-byte file " + file);

            readTruncated("1. scalar segment reads, cold (interpreted)", ch, m, MappedTruncationRepro::scalarSum);
            readTruncated("2. vector loads, cold (interpreted)", ch, m, MappedTruncationRepro::vectorSum);

            double s = 0;
            for (int i = 0; i < WARM_UP_CALLS; i++) s += scalarSum(m) + vectorSum(m);
            System.out.println(
                    "   warmed up both loops with " + WARM_UP_CALLS + " calls each on the whole file (" + s + ")");

            readTruncated("3. scalar segment reads, warm (JIT-compiled)", ch, m, MappedTruncationRepro::scalarSum);
            readTruncated("4. vector loads, warm (C2-compiled)", ch, m, MappedTruncationRepro::vectorSum);
            System.out.println("no crash: this JDK reports a fault in compiled vector loads as an exception");
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Writes {@link #BYTES} bytes of 1.0f from the start of the file, restoring it after a truncation. */
    private static void fill(FileChannel ch) throws IOException {
        ByteBuffer ones = ByteBuffer.allocate((int) BYTES).order(ByteOrder.LITTLE_ENDIAN);
        while (ones.hasRemaining()) ones.putFloat(1f);
        ch.write(ones.flip(), 0);
    }

    /** Truncates the file to nothing, reads the whole mapping with {@code sum}, reports what happened, restores it. */
    private static void readTruncated(String step, FileChannel ch, MemorySegment m, ToDoubleFunction<MemorySegment> sum)
            throws IOException {
        System.out.println(step + ": truncating the mapped file to 0 bytes and reading it...");
        System.out.flush();
        ch.truncate(0);
        try {
            System.out.println("   returned " + sum.applyAsDouble(m) + " (no fault?)");
        } catch (InternalError e) {
            System.out.println("   threw " + e);
        }
        fill(ch);
    }
}
