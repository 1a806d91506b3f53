package dev.panthera.bench;

import dev.panthera.models.io.SafetensorsFile;
import dev.panthera.models.io.SafetensorsWriter;
import dev.panthera.tensor.DType;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Time to open a safetensors file, parse its header, make one tensor and read one value from the middle of the
 * file, then close it: a 1 GiB file against a 1 MiB anchor with the same header (64 F32 tensors), written with real
 * bytes in a temp folder in setup. Memory-mapping means the time should not grow with the file's size.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SafetensorsOpenBench {
    static final int TENSORS = 64;

    /** File size in MiB: 1 is the anchor. */
    @Param({"1", "1024"})
    public int mib;

    private Path dir, file;
    private String middle;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        dir = Files.createTempDirectory("st-open");
        file = dir.resolve("model.safetensors");
        long perTensor = ((long) mib << 20) / TENSORS / 4; // floats per tensor
        // one tensor's worth of distinct floats, shared by all 64 entries so setup never holds 1 GiB on the heap
        byte[] chunk = new byte[(int) (perTensor * 4)];
        ByteBuffer bb = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < chunk.length / 4; i++) bb.putFloat(4 * i, i);
        List<SafetensorsWriter.Item> real = new ArrayList<>();
        for (int i = 0; i < TENSORS; i++) {
            real.add(new SafetensorsWriter.Item(
                    "model.layers." + i + ".weight",
                    DType.F32,
                    new long[] {perTensor / 256, 256},
                    MemorySegment.ofArray(chunk)));
        }
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            SafetensorsWriter.write(out, Map.of("format", "pt"), real);
        }
        middle = "model.layers." + TENSORS / 2 + ".weight";
    }

    @Benchmark
    public float openReadOneValueClose() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Tensor t = f.tensor(middle);
            return t.storage().segment().getAtIndex(ValueLayout.JAVA_FLOAT, 1000);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        Files.deleteIfExists(file);
        Files.deleteIfExists(dir);
    }
}
