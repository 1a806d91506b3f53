package dev.panthera.models.io;

import dev.panthera.tensor.DType;
import dev.panthera.tensor.Shape;
import dev.panthera.tensor.Tensor;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.function.Supplier;

/**
 * A whole weight file as one segment in an arena the caller owns, mapped or read ({@link LoadMode}), and the
 * aligned-view helper.
 */
final class Mapped {
    private Mapped() {}

    /**
     * Alignment of a read file image: a page, as a mapping's start is, so a tensor is a zero-copy view or an aligned
     * copy in exactly the same cases in both modes.
     */
    static final long IMAGE_ALIGNMENT = 4096;

    /** Largest chunk read at once: one ByteBuffer view of the image holds at most 2^31 - 1 bytes. */
    private static final long READ_CHUNK = 1L << 30;

    /** Maps {@code path} read-only into {@code arena}; the mapping is released when the arena closes. */
    static MemorySegment map(Path path, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) return arena.allocate(0); // mapping zero bytes is not allowed; nothing to read anyway
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        }
    }

    /**
     * Reads all of {@code path} into page-aligned memory of {@code arena}. A file that shrinks while it is read is an
     * {@link EOFException} naming it; bytes appended meanwhile are not read.
     */
    static MemorySegment read(Path path, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment image =
                    arena.allocate(Math.max(1, size), IMAGE_ALIGNMENT).asSlice(0, size);
            long at = 0;
            while (at < size) {
                int n = ch.read(
                        image.asSlice(at, Math.min(size - at, READ_CHUNK)).asByteBuffer(), at);
                if (n < 0) {
                    throw new EOFException(path + ": ended after " + at + " of its " + size
                            + " bytes while being read (changed by another process?)");
                }
                at += n;
            }
            return image;
        }
    }

    /** Parses a file image whose lifetime {@code arena} owns. */
    @FunctionalInterface
    interface Parser<T> {
        T parse(MemorySegment file, Arena arena) throws IOException;
    }

    /** A reader made by {@link #open} and the file it was made from. */
    record Opened<T>(T reader, Origin origin) {}

    /**
     * Maps or reads {@code path} into a new shared arena and parses it; the reader owns the arena. If parsing fails
     * the arena is closed before the exception propagates, so a rejected file leaves no mapping or copy behind.
     * {@code source} names the file in errors ("safetensors file /x/model.safetensors").
     */
    static <T> Opened<T> open(Path path, LoadMode mode, String source, Parser<T> parser) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment image;
            Origin origin;
            switch (mode) {
                case MAP, HEAP -> {
                    Object key = Files.readAttributes(path, BasicFileAttributes.class)
                            .fileKey();
                    image = map(path, arena);
                    origin = new Origin(source, path, key, image.byteSize(), mode == LoadMode.HEAP);
                }
                case READ -> {
                    image = read(path, arena);
                    origin = new Origin(source, null, null, image.byteSize(), false);
                }
                default -> throw new AssertionError(mode);
            }
            try {
                return new Opened<>(parser.parse(image, arena), origin);
            } catch (InternalError e) {
                throw new IOException(origin.faultMessage("its header", e), e);
            }
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * The file a reader's bytes came from. For a mapping it remembers the file's identity and mapped size, so a
     * reader can refuse to hand out a tensor of a file that another process has since truncated: a page past the new
     * end cannot be read, and HotSpot turns such a read into an {@link InternalError} only where it can (the
     * interpreter, C1, plain memory-segment accesses); inside C2-compiled Vector API code the same read can crash the
     * JVM. A read image ({@code path == null}) belongs to the reader and needs no check. {@code heap}: the reader
     * copies each tensor onto the Java heap ({@link LoadMode#HEAP}).
     */
    record Origin(String source, Path path, Object fileKey, long size, boolean heap) {
        /** An image the caller passed in memory: nothing to check. */
        static final Origin IN_MEMORY = new Origin("image in memory", null, null, 0, false);

        /**
         * A tensor's bytes {@code s}, of {@code dtype}, as its tensor should hold them: an F32 tensor of a
         * {@link #heap} reader copied into a Java long[] where {@link #onHeap} gives one, else
         * {@link Mapped#aligned}.
         */
        MemorySegment place(MemorySegment s, DType dtype, Arena arena) {
            MemorySegment h = heap && dtype == DType.F32 ? onHeap(s.byteSize()) : null;
            if (h == null) return aligned(s, dtype.byteSize(), arena);
            h.copyFrom(s);
            // the tensor reads the heap copy from now on: give the mapped pages back rather than hold both copies (a
            // read-only mapping only, as QuantizedLinear does: a written private mapping's pages are its data)
            if (s.isMapped() && s.isReadOnly()) s.unload();
            return h;
        }

        /**
         * The tensor over {@code s}, a tensor's bytes {@link #place}d or {@link #allocate}d by this reader: read-only
         * when they are on the heap (nothing writes them after the reader filled them, as nothing can write a
         * mapping), else as {@link Tensor#fromSegment(MemorySegment, DType, Shape, String)} makes it.
         */
        Tensor tensor(MemorySegment s, DType dtype, Shape shape, String source) {
            return heap && !s.isNative()
                    ? Tensor.fromFrozenSegment(s, dtype, shape, source)
                    : Tensor.fromSegment(s, dtype, shape, source);
        }

        /**
         * {@code bytes} of zeroed memory for a tensor of {@code dtype} this reader makes (a dequantized or decoded
         * copy): an F32 tensor of a {@link #heap} reader on the Java heap where {@link #onHeap} gives them, else
         * 64-byte aligned in {@code arena}.
         */
        MemorySegment allocate(long bytes, DType dtype, Arena arena) {
            MemorySegment h = heap && dtype == DType.F32 ? onHeap(bytes) : null;
            return h != null ? h : arena.allocate(bytes, 64);
        }

        /**
         * Throws an {@link IllegalStateException} naming the file and {@code what} (a tensor name) when the mapped
         * file is now shorter than its mapping. A file replaced under the same name (a different file key) or removed
         * does not count: the mapping keeps the old file's pages.
         */
        void check(String what) {
            if (path == null) return;
            BasicFileAttributes now;
            try {
                now = Files.readAttributes(path, BasicFileAttributes.class);
            } catch (NoSuchFileException gone) {
                return;
            } catch (IOException unreadable) {
                return; // cannot tell; a read of a lost page still faults as InternalError where the JVM allows
            }
            if (fileKey != null && !fileKey.equals(now.fileKey())) return;
            if (now.size() < size) {
                throw new IllegalStateException(source + ": was truncated from " + size + " to " + now.size()
                        + " bytes while mapped, so '" + what + "' can no longer be read; reopen it, and open"
                        + " files that other processes may change with LoadMode.READ");
            }
        }

        /**
         * Checks the file, then runs {@code copy} (a reader's own read of the image), turning HotSpot's
         * {@link InternalError} for a faulting read of a mapped page into an exception naming the file and
         * {@code what} (a tensor name).
         */
        <T> T read(String what, Supplier<T> copy) {
            check(what);
            try {
                return copy.get();
            } catch (InternalError e) {
                throw new IllegalStateException(faultMessage("'" + what + "'", e), e);
            }
        }

        String faultMessage(String what, InternalError e) {
            return source + ": reading " + what + " faulted (" + e.getMessage() + "); the file was probably"
                    + " truncated or rewritten while mapped; open files that other processes may change with"
                    + " LoadMode.READ";
        }
    }

    /** The most longs one array holds on common JVMs (a few below Integer.MAX_VALUE for the array header). */
    private static final long MAX_LONGS = Integer.MAX_VALUE - 8;

    /**
     * A segment of {@code bytes} over a fresh long[] (8-byte aligned, so every typed access and the Vector API's
     * loads work on it), or null when one array cannot hold them or they are more than half of the heap still free
     * (the copy then stays off the heap rather than risk an OutOfMemoryError).
     */
    static MemorySegment onHeap(long bytes) {
        long longs = (bytes + 7) >>> 3;
        Runtime r = Runtime.getRuntime();
        if (longs > MAX_LONGS || bytes > (r.maxMemory() - (r.totalMemory() - r.freeMemory())) / 2) return null;
        return MemorySegment.ofArray(new long[(int) longs]).asSlice(0, bytes);
    }

    /**
     * {@code s} itself when its address is a multiple of {@code align} (zero copy); otherwise a copy in {@code arena}
     * with that alignment, because typed element access needs naturally aligned addresses.
     */
    static MemorySegment aligned(MemorySegment s, long align, Arena arena) {
        if (s.isNative() && s.address() % align == 0) return s;
        MemorySegment copy = arena.allocate(Math.max(1, s.byteSize()), align).asSlice(0, s.byteSize());
        copy.copyFrom(s);
        return copy;
    }
}
