package dev.panthera.models.io;

import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A checkpoint seen as name → tensor, the same way whatever the file format. The file is memory-mapped or read into
 * memory this object owns ({@link LoadMode}). Tensors are made on request (lazily) and are zero-copy views of that
 * file image where the format and alignment allow; otherwise (a quantized GGUF tensor, an unaligned slice) they are
 * converted once into memory owned by this object. Every tensor returned stays valid until {@link #close()}, after
 * which using it fails with an IllegalStateException (never a crash). A mapped file must not be truncated while open
 * (see {@link LoadMode#MAP}).
 */
public interface Weights extends AutoCloseable {

    /** Tensor names in file order. */
    List<String> names();

    /** True when {@code name} is in this checkpoint. */
    default boolean contains(String name) {
        return names().contains(name);
    }

    /** The row-major shape of {@code name} (outermost dimension first). */
    long[] shape(String name);

    /**
     * The tensor {@code name}: its stored dtype for plain types, F32 for quantized GGUF types.
     *
     * @throws IllegalArgumentException if there is no such tensor (the message lists a few names that exist)
     */
    Tensor tensor(String name);

    /** Releases the mapping and every tensor made from it; closing again does nothing (as MemoryScope.close). */
    @Override
    void close();

    /** {@link #open(Path, LoadMode)} memory-mapping the file ({@link LoadMode#MAP}). */
    static Weights open(Path path) throws IOException {
        return open(path, LoadMode.MAP);
    }

    /**
     * Opens {@code path} by its content: a directory or {@code *.index.json} as a sharded safetensors checkpoint,
     * otherwise by magic bytes (GGUF), suffix ({@code .onnx}, {@code .bin} for llama2.c) or as safetensors. The file
     * (every shard) is mapped or read as {@code mode} says.
     */
    static Weights open(Path path, LoadMode mode) throws IOException {
        if (Files.isDirectory(path)) return ShardedSafetensors.open(path.resolve("model.safetensors.index.json"), mode);
        String file = path.getFileName().toString();
        if (file.endsWith(".index.json")) return ShardedSafetensors.open(path, mode);
        byte[] magic = new byte[4];
        try (var in = Files.newInputStream(path)) {
            if (in.readNBytes(magic, 0, 4) == 4
                    && magic[0] == 'G'
                    && magic[1] == 'G'
                    && magic[2] == 'U'
                    && magic[3] == 'F') {
                return GgufFile.open(path, mode);
            }
        }
        if (file.endsWith(".onnx")) return OnnxWeights.open(path, mode);
        if (file.endsWith(".bin")) return Llama2cCheckpoint.open(path, mode);
        return SafetensorsFile.open(path, mode);
    }

    /** The message for a missing name: shows up to five names that do exist. */
    static IllegalArgumentException missing(String format, String name, List<String> names) {
        return new IllegalArgumentException(format + ": no tensor named '" + name + "' (" + names.size()
                + " tensors, e.g. " + names.subList(0, Math.min(5, names.size())) + ")");
    }
}
