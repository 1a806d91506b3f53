package dev.panthera.nn.optim;

import dev.panthera.tensor.Device;
import dev.panthera.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Optimizer state in a memory-mapped file: the CPU analogue of bitsandbytes' paged optimizers. There, the state is
 * allocated in CUDA unified memory, which the driver pages out to CPU RAM when the GPU runs short and back in when the
 * update touches it, so a memory spike does not end training with an out-of-memory error. Here each state tensor is a
 * region of one file mapped with {@link FileChannel#map} into an arena this object owns: its pages are file-backed
 * page cache, not anonymous memory, so under memory pressure the kernel writes them back to the file and drops them
 * (instead of swapping or the process being killed), and faults them back in when the next update reads them. Nothing
 * is paged by this code; the OS decides, as the CUDA driver does for bitsandbytes. What this buys is that the state
 * does not count against anonymous memory or the JVM heap, and it can exceed free RAM; what it costs is disk
 * traffic when pages are actually evicted. On a machine with free memory the pages stay resident and the update
 * runs at memory speed.
 *
 * <p>The file is created in the given folder and opened with DELETE_ON_CLOSE, which on Linux unlinks it at once (the
 * mapping keeps its pages; nothing is left on disk even if the process dies), elsewhere deletes it on close; each
 * region starts on a 4096-byte boundary. {@link #close} unmaps every region: a state tensor used after it fails with an
 * IllegalStateException naming the file. Only host (CPU) tensors can be given state here.
 */
public final class PagedState implements AdamW.StateAllocator, AutoCloseable {
    private static final long ALIGN = 4096;

    private final Path file;
    private final FileChannel channel;
    private final Arena arena = Arena.ofShared();
    private final java.util.List<MemorySegment> regions = new java.util.ArrayList<>();
    private long end;
    private boolean closed;

    private PagedState(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** A new state file in {@code dir}. */
    public static PagedState create(Path dir) throws IOException {
        Path f = Files.createTempFile(dir, "paged-optimizer-", ".state");
        f.toFile().deleteOnExit();
        return new PagedState(
                f,
                FileChannel.open(
                        f, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE));
    }

    /** A zeroed F32/F16/BF16/F64 tensor shaped as {@code param}, in a fresh region of the file. */
    @Override
    public synchronized Tensor zerosLike(Tensor param) {
        if (closed) throw new IllegalStateException("PagedState " + file + ": closed");
        if (!param.device().equals(Device.CPU))
            throw new IllegalArgumentException("PagedState: a parameter on " + param.device() + " " + param.shape()
                    + "; paged state lives in host memory-mapped files (CPU parameters only)");
        long bytes = Math.multiplyExact(param.numel(), (long) param.dtype().byteSize());
        long at = end;
        try {
            // mapping past the end grows the file; the new bytes read as zeros (a sparse extension)
            MemorySegment seg = channel.map(FileChannel.MapMode.READ_WRITE, at, Math.max(1, bytes), arena);
            end = (at + Math.max(1, bytes) + ALIGN - 1) / ALIGN * ALIGN;
            regions.add(seg);
            return Tensor.fromSegment(
                    seg.asSlice(0, bytes), param.dtype(), param.shape(), "paged optimizer state " + file);
        } catch (IOException e) {
            throw new UncheckedIOException("PagedState " + file + ": mapping " + bytes + " bytes at " + at, e);
        }
    }

    /**
     * Does by hand what memory pressure does: writes every region back to the file ({@link MemorySegment#force}) and
     * drops its pages from this process ({@link MemorySegment#unload}); the next update faults them back in from the
     * page cache or the file. For tests and for measuring the resident size with the state paged out.
     */
    public synchronized void evict() {
        if (closed) throw new IllegalStateException("PagedState " + file + ": closed");
        for (MemorySegment r : regions) {
            r.force();
            r.unload();
        }
    }

    /** Bytes of the file given out so far (regions rounded up to 4096). */
    public synchronized long mappedBytes() {
        return end;
    }

    public Path file() {
        return file;
    }

    /** Unmaps every region and deletes the file; closing again does nothing. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) return;
        closed = true;
        try {
            arena.close();
        } finally {
            channel.close();
            Files.deleteIfExists(file);
        }
    }
}
